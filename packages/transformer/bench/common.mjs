// Shared by the training benchmarks: where the repository and the shared data are, and the
// command-line flags (`--name value`).

import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const shakespearePath = resolve(repoRoot, '../shared/data/tinyshakespeare.txt');

export const args = process.argv.slice(2);

/** Numeric value of `--name`, or `fallback`. */
export function flag(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** String value of `--name`, or `fallback`. */
export function strFlag(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Writes `text` to `file` through a temporary sibling and a rename, so a reader never sees half a file. */
export function writeAtomic(file, text) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
