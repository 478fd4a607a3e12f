// Where a command may write its --out folder without destroying what is already there: a
// folder that does not exist or is empty, or one that holds an earlier output of the same
// command (an export folder for export, a checkpoint for train), replaced only when the user
// asks (--overwrite; train also continues one with --resume). Never a regular file, a folder
// with other files, the input itself, a folder inside the input or one that contains it.

import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { CHECKPOINT_FILES } from '@attend/core';
import { FOLDER_LOCK_FILE } from '@attend/core/node';
import { CliError } from './errors.js';

/** What --out holds now. */
export type OutFolderState = 'absent' | 'empty' | 'earlier-output';

/** The output a command writes, as found in an existing folder. */
export interface OutputKind {
  /** How an earlier output is called in messages ('an export folder'). */
  name: string;
  /** Whether `entries` (the folder's, lock file left out) have what makes it one (config.json, …). */
  marks(entries: readonly string[]): boolean;
  /** What `dir` holds that such an output never has: top-level names, or `folder/name` inside one of its folders. */
  foreign(dir: string, entries: readonly string[]): Promise<string[]>;
}

/** `path` resolved through symbolic links as far as it exists. */
async function realPath(path: string): Promise<string> {
  const absolute = resolve(path);
  const real = await realpath(absolute).catch(() => undefined);
  if (real) return real;
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(await realPath(parent), basename(absolute));
}

const within = (path: string, folder: string): boolean => path.startsWith(folder.endsWith(sep) ? folder : folder + sep);

/** Refuses (exit 2) an --out that is one of `inputs`, lies inside one, or contains one. */
export async function refuseOverlap(out: string, inputs: readonly string[]): Promise<void> {
  const o = await realPath(out);
  for (const input of inputs) {
    const i = await realPath(input);
    if (o === i) throw new CliError(`--out ${out}: is the input ${input} itself; write the output to another folder`, 2);
    if (within(o, i)) throw new CliError(`--out ${out}: is inside the input ${input}; write the output outside it`, 2);
    if (within(i, o)) throw new CliError(`--out ${out}: contains the input ${input}; write the output to another folder`, 2);
  }
}

/**
 * What the --out folder `out` holds: nothing yet, an empty folder (a lock file left by a killed
 * run counts as empty), or an earlier output of `kind`. Anything else is refused (exit 2).
 */
export async function outFolderState(out: string, kind: OutputKind, option = '--out'): Promise<OutFolderState> {
  const info = await stat(out).catch(() => undefined);
  if (!info) return 'absent';
  if (!info.isDirectory()) throw new CliError(`${option} ${out}: is a file, not a folder; give a folder that does not exist yet or is empty`, 2);
  const entries = (await readdir(out)).filter((e) => e !== FOLDER_LOCK_FILE).sort();
  if (entries.length === 0) return 'empty';
  const foreign = await kind.foreign(out, entries);
  if (foreign.length === 0 && kind.marks(entries)) return 'earlier-output';
  const named = foreign.length > 0 ? foreign : entries;
  const shown = named.slice(0, 3).join(', ') + (named.length > 3 ? ` and ${named.length - 3} more` : '');
  throw new CliError(`${option} ${out}: holds other files (${shown}), not ${kind.name}; give a folder that does not exist yet or is empty`, 2);
}

/** The entries of `dir` that are neither one of `names` nor a folder of `folders` holding only files whose names pass its test (those failing are named `folder/name`). */
export async function foreignEntries(dir: string, entries: readonly string[], names: readonly string[], folders: Record<string, (name: string) => boolean> = {}): Promise<string[]> {
  const foreign: string[] = [];
  for (const entry of entries) {
    if (names.includes(entry)) continue;
    const test = folders[entry];
    const inner = test ? await readdir(join(dir, entry)).catch(() => undefined) : undefined;
    if (!test || !inner) foreign.push(entry);
    else foreign.push(...inner.filter((name) => !test(name)).map((name) => `${entry}/${name}`));
  }
  return foreign;
}

/** The file the loss curve is drawn into, inside the checkpoint folder. */
export const LOSS_CURVE_FILE = 'loss.svg';

/** A checkpoint folder: config.json or model.safetensors, and only checkpoint files beside. */
const CHECKPOINT_ENTRIES = [...Object.values(CHECKPOINT_FILES), LOSS_CURVE_FILE];
export const CHECKPOINT_FOLDER: OutputKind = {
  name: 'a checkpoint',
  marks: (entries) => entries.includes(CHECKPOINT_FILES.config) || entries.includes(CHECKPOINT_FILES.weights),
  foreign: (dir, entries) => foreignEntries(dir, entries, CHECKPOINT_ENTRIES),
};
