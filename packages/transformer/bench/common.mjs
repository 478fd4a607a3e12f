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

/** The backend's own n×n MatMul rate (GFLOP/s), after 3 warm-up products: `tf` is tfjs-core. */
export function matMulGflops(tf, n = 512, reps = 20) {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  for (let i = 0; i < 3; i++) tf.matMul(a, b).dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.matMul(a, b).dataSync() && 0;
  const ms = (performance.now() - t0) / reps;
  a.dispose(); b.dispose();
  return { n, msPerMatMul: ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

/** Writes `text` to `file` through a temporary sibling and a rename, so a reader never sees half a file. */
export function writeAtomic(file, text) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
