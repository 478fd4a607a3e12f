import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILES } from '../checkpoint-format.js';
import { CheckpointError } from '../errors.js';
import { readCheckpointFolder } from './checkpoint-folder.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'attend-ckpt-folder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A folder with a config.json and model.safetensors (their contents are not parsed here). */
async function folder(name: string): Promise<string> {
  const dir = join(root, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CHECKPOINT_FILES.config), '{}');
  await writeFile(join(dir, CHECKPOINT_FILES.weights), new Uint8Array(8));
  return dir;
}

describe('readCheckpointFolder', () => {
  it('reads the regular files that are there', async () => {
    const dir = await folder('plain');
    expect(Object.keys(await readCheckpointFolder(dir)).sort()).toEqual([CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights]);
  });

  it('refuses a link to /dev/zero instead of reading it forever', async () => {
    const dir = await folder('zero');
    await symlink('/dev/zero', join(dir, CHECKPOINT_FILES.optimizer));
    await expect(readCheckpointFolder(dir)).rejects.toThrow(new CheckpointError(`${join(dir, CHECKPOINT_FILES.optimizer)}: not a regular file`));
  });

  it('refuses a FIFO instead of waiting on it', async () => {
    const dir = await folder('fifo');
    expect(spawnSync('mkfifo', [join(dir, CHECKPOINT_FILES.optimizer)]).status).toBe(0);
    await expect(readCheckpointFolder(dir)).rejects.toThrow(new CheckpointError(`${join(dir, CHECKPOINT_FILES.optimizer)}: not a regular file`));
  });

  it('refuses a folder where a file should be', async () => {
    const dir = await folder('dir-as-file');
    await rm(join(dir, CHECKPOINT_FILES.weights));
    await mkdir(join(dir, CHECKPOINT_FILES.weights));
    await expect(readCheckpointFolder(dir)).rejects.toThrow(`${join(dir, CHECKPOINT_FILES.weights)}: not a regular file`);
  });
});
