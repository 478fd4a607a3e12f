// One way to write a folder (a checkpoint, an export, a Triton model) so that a crash never
// leaves half of one: every file goes into a temporary sibling `<dir>.tmp-<pid>-<ms>`, files and
// folders are fsynced, the old folder is renamed to `<dir>.old-<pid>-<ms>`, the new one into
// place, and the old one removed. The next write or load cleans up after a killed one: it
// restores `<dir>.old-*` when `<dir>` is missing and removes the leftovers of dead processes.
// A lock file in the folder (`lockFolder`) keeps two writers apart; writes carry it over.
// A write never deletes what its caller did not write: other plain files of the folder, and of
// its sub-folders the write also fills, are carried into the new one (hard links); a folder
// holding anything else is refused.

import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AttendError } from '../errors.js';

/** The lock file `lockFolder` creates in a folder: the pid of the process that holds it. */
export const FOLDER_LOCK_FILE = '.attend.lock';

/** A folder is locked by another live process. */
export class FolderLockError extends AttendError {
  override readonly name = 'FolderLockError';
  constructor(
    message: string,
    /** The process holding the lock. */
    readonly pid: number,
  ) {
    super(message);
  }
}

const exists = (path: string): Promise<boolean> => stat(path).then(
  () => true,
  () => false,
);

/** Whether process `pid` is running (on this machine). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsyncs a file or folder; folders cannot be opened for sync on every platform. */
async function sync(path: string, folder = false): Promise<void> {
  const handle = await open(path, folder ? constants.O_RDONLY : constants.O_RDWR).catch((error: unknown) => {
    if (folder) return undefined;
    throw error;
  });
  if (!handle) return;
  try {
    await handle.sync().catch((error: unknown) => {
      if (!folder) throw error;
    });
  } finally {
    await handle.close();
  }
}

interface Leftover {
  path: string;
  kind: 'tmp' | 'old';
  /** The process that wrote it. */
  pid: number;
  mtimeMs: number;
}

/** `<dir>.tmp-*` and `<dir>.old-*` siblings of `dir` left by writes, newest first. */
async function leftovers(target: string): Promise<Leftover[]> {
  const parent = dirname(target);
  const base = basename(target);
  const found: Leftover[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    // Only the exact names writes make (`.tmp-<pid>-<ms>`, `.old-<pid>-<ms>`): a user's own
    // `<dir>.old-backup` is never taken for a leftover.
    const match = name.startsWith(`${base}.`) ? /^\.(tmp|old)-(\d+)-\d+$/.exec(name.slice(base.length)) : null;
    if (!match) continue;
    const path = join(parent, name);
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    found.push({ path, kind: match[1] as 'tmp' | 'old', pid: Number(match[2]), mtimeMs: info.mtimeMs });
  }
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/** How long `recoverFolder` waits for a running write to finish its two renames. */
const SWAP_WAIT_MS = 5000;

const dead = (l: Leftover): boolean => l.pid === process.pid || !processAlive(l.pid);

/** True if `dir` exists, or the folder it replaced survives a write killed between its two renames. */
export async function folderOrInterruptedWrite(dir: string): Promise<boolean> {
  const target = resolve(dir);
  return (await exists(target)) || (await leftovers(target)).some((l) => l.kind === 'old');
}

/**
 * Cleans up after writes of `dir` that were killed: when `dir` is missing, the newest
 * `<dir>.old-*` (the folder a write was replacing) is renamed back; temporary and old siblings
 * of processes no longer running are removed. Those of a running write are left to it.
 */
export async function recoverFolder(dir: string): Promise<void> {
  const target = resolve(dir);
  let found = await leftovers(target);
  // A running write renames its old folder aside for a moment: wait for it rather than undo it.
  for (let waited = 0; waited < SWAP_WAIT_MS && !(await exists(target)) && found.some((l) => l.kind === 'old' && !dead(l)); waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    found = await leftovers(target);
  }
  const restore = (await exists(target)) ? undefined : found.find((l) => l.kind === 'old');
  if (restore) await rename(restore.path, target);
  for (const l of found) if (l !== restore && dead(l)) await rm(l.path, { recursive: true, force: true });
}

/** The path of `name` inside `folder`; a name that would leave the folder is refused. */
function inside(folder: string, name: string): string {
  const path = resolve(folder, name);
  if (!path.startsWith(folder + sep)) throw new AttendError(`${name}: not a path inside the folder`);
  return path;
}

/** A file's content: its bytes, or consecutive parts written one after another (never joined in memory). */
export type FolderFile = Uint8Array | readonly Uint8Array[];

/** Writes `parts` one after another as the file `path`, then fsyncs it. */
async function writeParts(path: string, parts: readonly Uint8Array[]): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (const part of parts) {
      for (let at = 0; at < part.length; ) at += (await handle.write(part, at, part.length - at)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface WriteFolderOptions {
  /**
   * Paths an earlier write of the same kind may have left in `dir` (e.g. every file an export
   * can have, `onnx/model.onnx`): replaced, or dropped when this write has no such file.
   */
  replaces?: readonly string[];
}

/**
 * What a write into the existing folder `target` keeps: every file that is neither written
 * (`written`), nor the caller's own (`replaces`), nor the lock — at the top or inside a folder
 * the write also writes into (a user's note in `onnx/`) — each a plain file, carried over
 * untouched; anything else (a folder the write does not use, a link) refuses the write.
 */
async function entriesToKeep(target: string, written: ReadonlySet<string>, replaces: readonly string[], folder = ''): Promise<string[]> {
  const owned = [...written, ...replaces];
  const keep: string[] = [];
  for (const entry of await readdir(join(target, folder), { withFileTypes: true }).catch(() => [])) {
    const name = folder ? `${folder}/${entry.name}` : entry.name;
    if (!entry.isDirectory() && (written.has(name) || replaces.includes(name) || name === FOLDER_LOCK_FILE)) continue;
    if (entry.isDirectory() && owned.some((path) => path.startsWith(`${name}/`))) {
      keep.push(...(await entriesToKeep(target, written, replaces, name)));
    } else if (entry.isFile()) {
      keep.push(name);
    } else {
      throw new AttendError(`${target}: holds ${name}${entry.isDirectory() ? '/' : ''}, which this write did not make; move it away first (nothing was written)`);
    }
  }
  return keep;
}

/**
 * Writes `files` (paths relative to `dir`, e.g. `onnx/model.onnx`) as the content of `dir`,
 * atomically: into a temporary sibling, fsynced, then renamed over `dir`. The lock file and any
 * other plain file of `dir` that this write neither makes nor `replaces` are carried over; a
 * folder or link of `dir` outside those is an error before anything is written. Recovers from
 * earlier killed writes first.
 */
export async function writeFolderAtomic(dir: string, files: Record<string, FolderFile>, options: WriteFolderOptions = {}): Promise<void> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  await recoverFolder(target);
  const written = new Set(Object.keys(files));
  const keep = await entriesToKeep(target, written, options.replaces ?? []);
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = `${target}.tmp-${stamp}`;
  const old = `${target}.old-${stamp}`;
  try {
    await mkdir(tmp);
    const folders = new Set([tmp]);
    for (const [name, bytes] of Object.entries(files)) {
      const file = inside(tmp, name);
      await mkdir(dirname(file), { recursive: true });
      folders.add(dirname(file));
      await writeParts(file, bytes instanceof Uint8Array ? [bytes] : bytes);
    }
    for (const name of [FOLDER_LOCK_FILE, ...keep]) {
      const from = join(target, name);
      const to = inside(tmp, name);
      if (!(await exists(from))) continue;
      await mkdir(dirname(to), { recursive: true });
      folders.add(dirname(to));
      await link(from, to).catch(() => copyFile(from, to));
    }
    for (const folder of [...folders].sort((a, b) => b.length - a.length)) await sync(folder, true);
    await swapFolder(tmp, target, old);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Puts the finished, fsynced folder `ready` in the place of `dir`: `dir` (when it exists) is
 * renamed aside to `old` (default `<dir>.old-<pid>-<ms>`, which `recoverFolder` puts back if the
 * process dies between the two renames), `ready` is renamed to `dir`, then the old one removed.
 */
export async function swapFolder(ready: string, dir: string, old = `${resolve(dir)}.old-${process.pid}-${Date.now()}`): Promise<void> {
  const target = resolve(dir);
  const existed = await rename(target, old).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  try {
    await rename(ready, target);
  } catch (error) {
    if (existed) await rename(old, target);
    throw error;
  }
  await sync(dirname(target), true);
  if (existed) await rm(old, { recursive: true, force: true });
}

export interface FolderLock {
  /** The lock file. */
  file: string;
  /** Removes the lock file if this process still holds it. */
  release(): Promise<void>;
}

/**
 * Takes the lock of folder `dir` (created if missing): a file `FOLDER_LOCK_FILE` holding this
 * process's pid, created exclusively. A lock whose process is no longer running is taken over;
 * one held by a running process is a FolderLockError naming the file and the pid.
 */
/**
 * Throws a FolderLockError naming the lock file and the process when `dir`'s lock is held by
 * another running process; takes nothing. A command that reads or tidies a folder before it
 * locks it checks this first, so that it never reads a folder another process is writing.
 */
export async function checkFolderUnlocked(dir: string): Promise<void> {
  const file = join(resolve(dir), FOLDER_LOCK_FILE);
  const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
    throw new FolderLockError(`${file}: ${dir} is in use by process ${holder} (another training on the same folder?); wait for it to end or stop it`, holder);
  }
}

export async function lockFolder(dir: string): Promise<FolderLock> {
  const target = resolve(dir);
  await mkdir(target, { recursive: true });
  const file = join(target, FOLDER_LOCK_FILE);
  const lock: FolderLock = {
    file,
    release: async () => {
      const holder = await readFile(join(target, FOLDER_LOCK_FILE), 'utf8').catch(() => '');
      if (Number(holder.trim()) === process.pid) await rm(join(target, FOLDER_LOCK_FILE), { force: true });
    },
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return lock;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await checkFolderUnlocked(dir);
    await rm(file, { force: true }); // stale: its process has ended
  }
  throw new AttendError(`${file}: could not take the lock`);
}
