// Checkpoint folders on disk (the format is ../checkpoint-format.ts): reading their files with
// one-line errors after recovering a killed save, and writing them with the atomic folder writer.

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CHECKPOINT_FILES } from '../checkpoint-format.js';
import { CheckpointError } from '../errors.js';
import { folderOrInterruptedWrite, recoverFolder, writeFolderAtomic, type FolderFile } from './atomic-folder.js';

const REQUIRED: readonly string[] = [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights];

/** Largest checkpoint file read (Node's readFile limit, 2 GiB). */
export const MAX_CHECKPOINT_FILE_BYTES = 2 ** 31 - 1;

/**
 * The files `names` (default: all of CHECKPOINT_FILES) of the checkpoint folder `dir` as bytes,
 * after recovering a save killed between its renames. config.json and model.safetensors must be
 * there; a missing optional file is left out. Only regular files are read, and only after their
 * size is checked (a link to /dev/zero or a FIFO is refused, not read forever). Errors are
 * one-line CheckpointErrors naming the file.
 */
export async function readCheckpointFolder(dir: string, names: readonly string[] = Object.values(CHECKPOINT_FILES)): Promise<Record<string, Uint8Array>> {
  const target = resolve(dir);
  await recoverFolder(target);
  if (!(await stat(target).then(() => true, () => false))) throw new CheckpointError(`${target}: no such checkpoint folder`);
  const files: Record<string, Uint8Array> = {};
  for (const name of names) {
    const bytes = await readModelFile(join(dir, name), !REQUIRED.includes(name), `is ${dir} a checkpoint folder?`);
    if (bytes) files[name] = bytes;
  }
  return files;
}

/**
 * A file's bytes as a plain Uint8Array over the buffer Node read them into: not
 * `new Uint8Array(buffer)`, which copies, and for a 500 MB checkpoint doubles the peak memory.
 */
export async function readFileBytes(file: string): Promise<Uint8Array> {
  const buffer = await readFile(file);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * The bytes of one file of a model folder, read only when it is a regular file of at most
 * MAX_CHECKPOINT_FILE_BYTES (a link to /dev/zero or a FIFO is refused, not read forever); an
 * absent `optional` file is undefined, an absent required one a CheckpointError with `hint`.
 */
export async function readModelFile(file: string, optional: boolean, hint: string): Promise<Uint8Array | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CheckpointError(`${file}: not a regular file`);
    if (info.size > MAX_CHECKPOINT_FILE_BYTES) throw new CheckpointError(`${file}: ${info.size} bytes, more than the ${MAX_CHECKPOINT_FILE_BYTES} bytes a checkpoint file may hold`);
    const bytes = await readFileBytes(file);
    if (bytes.length !== info.size) throw new CheckpointError(`${file}: changed size while being read (${info.size} → ${bytes.length} bytes)`);
    return bytes;
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return undefined;
    throw new CheckpointError(code === 'ENOENT' ? `${file}: missing (${hint})` : `${file}: cannot read (${(error as Error).message})`);
  }
}

/** Writes checkpoint files (see `checkpointFiles`) as the folder `dir`, atomically. */
export async function writeCheckpointFolder(dir: string, files: Record<string, FolderFile>): Promise<void> {
  try {
    await writeFolderAtomic(dir, files, { replaces: Object.values(CHECKPOINT_FILES) });
  } catch (error) {
    throw new CheckpointError(`${dir}: could not write checkpoint (${(error as Error).message})`);
  }
}

/**
 * True if `dir` holds a checkpoint (its config.json or model.safetensors), or the previous one
 * survives a save killed between its renames. A folder with only a lock file is none.
 */
export async function checkpointExists(dir: string): Promise<boolean> {
  const target = resolve(dir);
  const has = (name: string): Promise<boolean> => stat(join(target, name)).then(() => true, () => false);
  if ((await has(CHECKPOINT_FILES.config)) || (await has(CHECKPOINT_FILES.weights))) return true;
  return !(await stat(target).then(() => true, () => false)) && (await folderOrInterruptedWrite(target));
}
