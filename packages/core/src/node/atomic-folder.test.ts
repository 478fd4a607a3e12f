import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLDER_LOCK_FILE, FolderLockError, lockFolder, recoverFolder, writeFolderAtomic } from './atomic-folder.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'attend-atomic-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The pid of a process that has ended. */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

describe('writeFolderAtomic', () => {
  it('writes nested files, replaces an earlier write of its kind whole, and leaves no sibling behind', async () => {
    const parent = await mkdtemp(join(root, 'write-'));
    const dir = join(parent, 'out');
    await writeFolderAtomic(dir, { 'a.json': bytes('1'), 'onnx/model.onnx': bytes('graph') });
    expect(await readFile(join(dir, 'onnx', 'model.onnx'), 'utf8')).toBe('graph');
    await writeFolderAtomic(dir, { 'b.json': bytes('2') }, { replaces: ['a.json', 'onnx/model.onnx'] });
    expect(await readdir(dir)).toEqual(['b.json']);
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('writes a file given as parts as their bytes one after another', async () => {
    const dir = join(await mkdtemp(join(root, 'parts-')), 'out');
    await writeFolderAtomic(dir, { 'w.bin': [bytes('head'), new Uint8Array(0), bytes('-body-'), bytes('tail')] });
    expect(await readFile(join(dir, 'w.bin'), 'utf8')).toBe('head-body-tail');
  });

  it('takes only the names its writes make for leftovers: a user\'s <dir>.old-backup is kept', async () => {
    const parent = await mkdtemp(join(root, 'backup-'));
    const dir = join(parent, 'out');
    await mkdir(join(parent, 'out.old-backup'));
    await mkdir(join(parent, 'out.tmp-1'));
    await writeFolderAtomic(dir, { 'a.json': bytes('1') });
    await rm(dir, { recursive: true });
    await recoverFolder(dir);
    expect((await readdir(parent)).sort()).toEqual(['out.old-backup', 'out.tmp-1']);
  });

  it('never deletes what it did not write: other plain files are carried over, another folder refuses the write', async () => {
    const parent = await mkdtemp(join(root, 'user-'));
    const dir = join(parent, 'out');
    await mkdir(dir);
    await writeFile(join(dir, 'thesis.txt'), 'mine');
    await writeFolderAtomic(dir, { 'config.json': bytes('{}') }, { replaces: ['config.json'] });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'thesis.txt']);
    expect(await readFile(join(dir, 'thesis.txt'), 'utf8')).toBe('mine');
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'main.ts'), 'code');
    await expect(writeFolderAtomic(dir, { 'config.json': bytes('{"a":1}') })).rejects.toThrow(/holds src\/, which this write did not make/);
    expect(await readFile(join(dir, 'config.json'), 'utf8')).toBe('{}');
    expect(await readFile(join(dir, 'src', 'main.ts'), 'utf8')).toBe('code');
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('keeps a user\'s file inside a folder it writes into, refuses a user\'s folder there', async () => {
    const dir = join(await mkdtemp(join(root, 'nested-')), 'out');
    await writeFolderAtomic(dir, { 'onnx/model.onnx': bytes('1') });
    await writeFile(join(dir, 'onnx', 'notes.txt'), 'mine');
    await writeFolderAtomic(dir, { 'onnx/model.onnx': bytes('2') }, { replaces: ['onnx/model.onnx', 'onnx/encoder_model.onnx'] });
    expect((await readdir(join(dir, 'onnx'))).sort()).toEqual(['model.onnx', 'notes.txt']);
    expect(await readFile(join(dir, 'onnx', 'notes.txt'), 'utf8')).toBe('mine');
    // Dropped when the new write has no such file, but the user's note stays.
    await writeFolderAtomic(dir, { 'onnx/encoder_model.onnx': bytes('3') }, { replaces: ['onnx/model.onnx'] });
    expect((await readdir(join(dir, 'onnx'))).sort()).toEqual(['encoder_model.onnx', 'notes.txt']);
    await mkdir(join(dir, 'onnx', 'old'));
    await expect(writeFolderAtomic(dir, { 'onnx/model.onnx': bytes('4') }, { replaces: ['onnx/encoder_model.onnx'] })).rejects.toThrow(/holds onnx\/old\/, which this write did not make/);
    // A folder named in `replaces` is not taken whole.
    await expect(writeFolderAtomic(dir, { 'a.json': bytes('5') }, { replaces: ['onnx'] })).rejects.toThrow(/holds onnx\/, which this write did not make/);
  });

  it('refuses a file name that leaves the folder, writing nothing', async () => {
    const parent = await mkdtemp(join(root, 'escape-'));
    await expect(writeFolderAtomic(join(parent, 'out'), { '../evil': bytes('x') })).rejects.toThrow(/not a path inside the folder/);
    expect(await readdir(parent)).toEqual([]);
  });

  it('cleans the temporary folders of killed writes, keeps those of running ones', async () => {
    const parent = await mkdtemp(join(root, 'tmp-'));
    const dir = join(parent, 'out');
    const killed = `${dir}.tmp-${deadPid()}-1`;
    const running = `${dir}.tmp-${process.ppid}-2`; // a live process other than this one
    for (const t of [killed, running]) await mkdir(t);
    await writeFolderAtomic(dir, { x: bytes('x') });
    expect((await readdir(parent)).sort()).toEqual(['out', `out.tmp-${process.ppid}-2`]);
  });

  it('restores the old folder of a write killed between its renames, then removes it once replaced', async () => {
    const parent = await mkdtemp(join(root, 'old-'));
    const dir = join(parent, 'out');
    await writeFolderAtomic(dir, { x: bytes('before') });
    await rename(dir, `${dir}.old-${deadPid()}-1`);
    await recoverFolder(dir);
    expect(await readFile(join(dir, 'x'), 'utf8')).toBe('before');
    await writeFolderAtomic(dir, { x: bytes('after') });
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('carries the lock file over to the new folder', async () => {
    const dir = join(await mkdtemp(join(root, 'carry-')), 'out');
    const lock = await lockFolder(dir);
    await writeFolderAtomic(dir, { x: bytes('x') });
    expect(await readFile(join(dir, FOLDER_LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    expect(await readdir(dir)).toEqual(['x']);
  });
});

describe('lockFolder', () => {
  it('refuses a folder locked by a running process, naming the lock and the pid', async () => {
    const dir = join(await mkdtemp(join(root, 'lock-')), 'out');
    await mkdir(dir);
    await writeFile(join(dir, FOLDER_LOCK_FILE), `${process.ppid}\n`);
    const error = await lockFolder(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FolderLockError);
    expect((error as Error).message).toBe(`${join(dir, FOLDER_LOCK_FILE)}: ${dir} is in use by process ${process.ppid} (another training on the same folder?); wait for it to end or stop it`);
  });

  it('takes over the lock of a process that has ended', async () => {
    const dir = join(await mkdtemp(join(root, 'stale-')), 'out');
    await mkdir(dir);
    await writeFile(join(dir, FOLDER_LOCK_FILE), `${deadPid()}\n`);
    const lock = await lockFolder(dir);
    expect(await readFile(lock.file, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });
});
