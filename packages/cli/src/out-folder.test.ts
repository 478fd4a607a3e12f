// Never destroy what is already there, through the built CLI (dist/bin.js) as a user meets it:
// `--out` of export and train must not exist yet or be empty, or hold an earlier output of the
// same command (replaced with --overwrite, or for train continued with --resume); a folder with
// other files, a file, the input, a folder inside it or around it are refused with one line and
// exit code 2, and left as they were; `import` writes a checkpoint under the same rules. A Triton export adds only its own model folders. A second
// training on the same folder is refused (lock file); the leftovers of killed saves are cleaned.

import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLDER_LOCK_FILE } from '@attend/core/node';
import { writeHfGpt2 } from './test-utils/hf-gpt2.js';
import { tinyExport } from './test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const TINY = ['--task', 'reverse', '--eval-every', '2', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '100', '--dev-size', '10'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function attend(args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `path` (or the file itself) with its bytes, to compare before and after. */
async function snapshot(path: string): Promise<Record<string, string>> {
  const info = await stat(path);
  if (info.isFile()) return { '.': (await readFile(path)).toString('base64') };
  const out: Record<string, string> = {};
  for (const e of await readdir(path, { withFileTypes: true, recursive: true })) {
    const file = join(e.parentPath, e.name);
    out[relative(path, file)] = e.isFile() ? (await readFile(file)).toString('base64') : '<folder>';
  }
  return out;
}

/** A refusal: exit 2, one line `attend: <message>` matching `message`, nothing on stdout. */
function expectRefused(r: Run, message: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^attend: /);
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
}

/** The pid of a process that has ended. */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

let dir: string;
let ckpt: string; // decoder-lm checkpoint (config, tokenizer, safetensors)
let trained: string; // a reverse-task checkpoint written by attend train (with optimizer state)

beforeAll(async () => {
  await stat(BIN);
  dir = await mkdtemp(join(tmpdir(), 'attend-out-'));
  await tinyExport(dir, 'decoder-lm', 3);
  ckpt = join(dir, 'decoder-lm-ckpt');
  trained = join(dir, 'trained');
  const r = await attend(['train', ...TINY, '--steps', '2', '--out', trained]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh copy of `source` under `name`, to be refused or replaced by one test. */
async function copy(source: string, name: string): Promise<string> {
  const to = join(dir, name);
  await cp(source, to, { recursive: true });
  return to;
}

describe('attend export --out', () => {
  it('refuses a folder with other files and leaves them', async () => {
    const precious = join(dir, 'precious');
    await mkdir(precious);
    await writeFile(join(precious, 'thesis.txt'), 'four years of work');
    expectRefused(await attend(['export', ckpt, '--out', precious]), /--out .*precious: holds other files \(thesis\.txt\), not an export folder/);
    expectRefused(await attend(['export', ckpt, '--out', precious, '--overwrite']), /holds other files \(thesis\.txt\)/);
    expect(await snapshot(precious)).toEqual({ 'thesis.txt': Buffer.from('four years of work').toString('base64') });
  });

  it('refuses the current folder of a project that holds the checkpoint', async () => {
    const project = join(dir, 'project');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'src', 'main.ts'), 'code');
    await writeFile(join(project, 'README'), 'readme');
    await cp(ckpt, join(project, 'ckpt'), { recursive: true });
    const before = await snapshot(project);
    expectRefused(await attend(['export', 'ckpt', '--out', '.'], project), /^attend: --out \.: contains the input ckpt;/);
    expect(await snapshot(project)).toEqual(before);
  });

  it('refuses the checkpoint itself, a folder inside it, and a file', async () => {
    const self = await copy(trained, 'export-self');
    const before = await snapshot(self);
    expectRefused(await attend(['export', self, '--out', self]), /is the input .* itself/);
    expectRefused(await attend(['export', self, '--out', join(self, 'onnx'), '--overwrite']), /is inside the input/);
    expect(await snapshot(self)).toEqual(before);
    const file = join(dir, 'a-file');
    await writeFile(file, 'mine');
    expectRefused(await attend(['export', ckpt, '--out', file]), /is a file, not a folder/);
    expect(await readFile(file, 'utf8')).toBe('mine');
  });

  it('writes into an empty folder; replaces an earlier export only with --overwrite, never one with other files', async () => {
    const out = join(dir, 'export-empty');
    await mkdir(out);
    expect((await attend(['export', ckpt, '--out', out])).code).toBe(0);
    const first = await snapshot(out);
    expectRefused(await attend(['export', ckpt, '--out', out, '--with-attention']), /already an export folder; give --overwrite to replace it/);
    expect(await snapshot(out)).toEqual(first);
    const r = await attend(['export', ckpt, '--out', out, '--with-attention', '--overwrite']);
    expect(r.code).toBe(0);
    expect((await snapshot(out))['onnx/model.onnx']).not.toEqual(first['onnx/model.onnx']); // the graph with attention outputs
    // A user's file inside the export's own onnx/ makes it not an earlier export: refused, kept.
    await writeFile(join(out, 'onnx', 'README.txt'), 'mine');
    expectRefused(await attend(['export', ckpt, '--out', out, '--overwrite']), /holds other files \(onnx\/README\.txt\), not an export folder/);
    expect(await readFile(join(out, 'onnx', 'README.txt'), 'utf8')).toBe('mine');
    await rm(join(out, 'onnx', 'README.txt'));
    await writeFile(join(out, 'notes.txt'), 'mine');
    expectRefused(await attend(['export', ckpt, '--out', out, '--overwrite']), /holds other files \(notes\.txt\), not an export folder/);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('attend import --out', () => {
  it('refuses a folder with other files, the Hugging Face folder itself and a folder inside it, and leaves them', async () => {
    const hf = await writeHfGpt2(join(dir, 'hf-guards'));
    const precious = join(dir, 'precious-import');
    await mkdir(precious);
    await writeFile(join(precious, 'thesis.txt'), 'four years of work');
    expectRefused(await attend(['import', hf, '--out', precious, '--overwrite']), /--out .*precious-import: holds other files \(thesis\.txt\), not a checkpoint/);
    expect(await snapshot(precious)).toEqual({ 'thesis.txt': Buffer.from('four years of work').toString('base64') });
    const before = await snapshot(hf);
    expectRefused(await attend(['import', hf, '--out', hf]), /is the input .* itself/);
    expectRefused(await attend(['import', hf, '--out', join(hf, 'attend')]), /is inside the input/);
    expect(await snapshot(hf)).toEqual(before);
  });

  it('writes a checkpoint into a new folder; replaces an earlier one only with --overwrite', async () => {
    const hf = await writeHfGpt2(join(dir, 'hf-ok'));
    const out = join(dir, 'imported');
    const r = await attend(['import', hf, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: decoder-lm checkpoint, 300 parameters/);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ preset: 'decoder-lm', dModel: 4, dFf: 16, activation: 'gelu_new' });
    const first = await snapshot(out);
    expectRefused(await attend(['import', hf, '--out', out]), /already a checkpoint; give --overwrite to replace it/);
    expect(await snapshot(out)).toEqual(first);
    expect((await attend(['import', hf, '--out', out, '--overwrite'])).code).toBe(0);
  });

  it('an unsupported model_type is one line naming the field and what is supported, and writes nothing', async () => {
    const hf = await writeHfGpt2(join(dir, 'hf-llama'), { model_type: 'llama' });
    const out = join(dir, 'llama');
    const r = await attend(['import', hf, '--out', out]);
    expect(r.stderr).toBe(`attend: ${hf}/config.json: model_type: "llama" is not supported; attend imports gpt2, bert, vit, marian\n`);
    expect(r.code).toBe(1);
    await expect(stat(out)).rejects.toThrow();
  });
});

describe('attend export --target triton --out', () => {
  it('adds its model to a repository, keeps the other models, and replaces its own only with --overwrite', async () => {
    const repo = join(dir, 'model_repository');
    await mkdir(join(repo, 'other', '1'), { recursive: true });
    await writeFile(join(repo, 'other', 'config.pbtxt'), 'name: "other"');
    await writeFile(join(repo, 'other', '1', 'model.onnx'), 'their graph');
    const other = await snapshot(join(repo, 'other'));
    expect((await attend(['export', ckpt, '--out', repo, '--target', 'triton'])).code).toBe(0);
    expect((await readdir(repo)).sort()).toEqual(['decoder-lm-ckpt', 'other']);
    const ours = await snapshot(join(repo, 'decoder-lm-ckpt'));
    expectRefused(await attend(['export', ckpt, '--out', repo, '--target', 'triton']), /already has the model decoder-lm-ckpt; give --overwrite/);
    expect(await snapshot(join(repo, 'decoder-lm-ckpt'))).toEqual(ours);
    expect((await attend(['export', ckpt, '--out', repo, '--target', 'triton', '--overwrite', '--with-attention'])).code).toBe(0);
    expect(await snapshot(join(repo, 'decoder-lm-ckpt'))).not.toEqual(ours);
    expect(await snapshot(join(repo, 'other'))).toEqual(other);
  });

  it('refuses a folder that is not a model repository, and a model folder with other files', async () => {
    const loose = join(dir, 'not-a-repository');
    await mkdir(loose);
    await writeFile(join(loose, 'thesis.txt'), 'mine');
    expectRefused(await attend(['export', ckpt, '--out', loose, '--target', 'triton']), /holds other files \(thesis\.txt\), not a Triton model repository/);
    const repo = join(dir, 'repo-foreign-model');
    await mkdir(join(repo, 'decoder-lm-ckpt'), { recursive: true });
    await writeFile(join(repo, 'decoder-lm-ckpt', 'notes.txt'), 'mine');
    expectRefused(await attend(['export', ckpt, '--out', repo, '--target', 'triton', '--overwrite']), /holds other files \(notes\.txt\), not a Triton model folder/);
    expect(await snapshot(repo)).toEqual({ 'decoder-lm-ckpt': '<folder>', 'decoder-lm-ckpt/notes.txt': Buffer.from('mine').toString('base64') });
  });
});

describe('attend train --out', () => {
  it('refuses a folder with other files, a file, and a folder holding its data, even with --overwrite', async () => {
    const precious = join(dir, 'train-precious');
    await mkdir(precious);
    await writeFile(join(precious, 'thesis.txt'), 'mine');
    expectRefused(await attend(['train', ...TINY, '--steps', '2', '--out', precious, '--overwrite']), /holds other files \(thesis\.txt\), not a checkpoint/);
    expect(await snapshot(precious)).toEqual({ 'thesis.txt': Buffer.from('mine').toString('base64') });
    const file = join(dir, 'train-file');
    await writeFile(file, 'mine');
    expectRefused(await attend(['train', ...TINY, '--steps', '2', '--out', file, '--overwrite']), /is a file, not a folder/);
    expect(await readFile(file, 'utf8')).toBe('mine');
    const data = join(dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'input.txt'), 'the cat sat on the mat. '.repeat(40));
    expectRefused(await attend(['train', '--text', join(data, 'input.txt'), '--steps', '2', '--out', data]), /contains the input .*input\.txt/);
    expect(await readdir(data)).toEqual(['input.txt']);
  });

  it('refuses a checkpoint without --resume or --overwrite, and one with other files (an export inside it) even with --resume', async () => {
    const ck = await copy(trained, 'train-existing');
    const before = await snapshot(ck);
    expectRefused(await attend(['train', ...TINY, '--steps', '4', '--out', ck]), /already a checkpoint; give --resume to continue it or --overwrite to start a new run over it/);
    expect(await snapshot(ck)).toEqual(before);
    await cp(join(dir, 'decoder-lm'), join(ck, 'onnx'), { recursive: true });
    const nested = await snapshot(ck);
    expectRefused(await attend(['train', ...TINY, '--steps', '4', '--out', ck, '--resume']), /holds other files \(onnx\), not a checkpoint/);
    expect(await snapshot(ck)).toEqual(nested);
  });

  it('with --overwrite starts a new run over its checkpoint', async () => {
    const ck = await copy(trained, 'train-overwrite');
    const before = await snapshot(ck);
    const r = await attend(['train', ...TINY, '--steps', '2', '--seed', '7', '--out', ck, '--overwrite']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^training encoder-decoder/);
    expect((await snapshot(ck))['model.safetensors']).not.toEqual(before['model.safetensors']);
    expect(await readdir(ck)).not.toContain(FOLDER_LOCK_FILE); // released at the end
  });

  it('refuses a checkpoint locked by a running training, naming the lock and its pid', async () => {
    const ck = await copy(trained, 'train-locked');
    await writeFile(join(ck, FOLDER_LOCK_FILE), `${process.pid}\n`);
    const before = await snapshot(ck);
    const r = await attend(['train', ...TINY, '--steps', '4', '--out', ck, '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`attend: ${join(ck, FOLDER_LOCK_FILE)}: ${ck} is in use by process ${process.pid}`);
    expect(await snapshot(ck)).toEqual(before);
  });

  it('a second training on the same folder while the first runs is refused', async () => {
    const ck = join(dir, 'train-race');
    const first = spawn(process.execPath, [BIN, 'train', ...TINY, '--steps', '100000', '--out', ck], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let stdout = '';
        first.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('training encoder-decoder')) resolve(); // printed once the lock is held
        });
        first.on('close', () => reject(new Error(`the first training ended early: ${stdout}`)));
      });
      // Once the first run has saved a checkpoint, --resume would read it: the lock must be checked before that.
      for (let waited = 0; !(await stat(join(ck, 'config.json')).then(() => true, () => false)); waited += 100) {
        if (waited > 120_000) throw new Error('the first training saved no checkpoint in 2 minutes');
        await new Promise((r) => setTimeout(r, 100));
      }
      const second = await attend(['train', ...TINY, '--steps', '4', '--out', ck, '--resume']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`^attend: ${ck}/\\.attend\\.lock: .* in use by process ${first.pid} `));
    } finally {
      first.kill('SIGKILL');
    }
  });

  it('takes over a stale lock and cleans the temporary and old folders of killed saves', async () => {
    const ck = await copy(trained, 'train-stale');
    const dead = deadPid();
    await writeFile(join(ck, FOLDER_LOCK_FILE), `${dead}\n`);
    for (const leftover of [`train-stale.tmp-${dead}-1`, `train-stale.tmp-${dead}-2`, `train-stale.old-${dead}-3`]) {
      await mkdir(join(dir, leftover));
      await writeFile(join(dir, leftover, 'model.safetensors'), 'partial');
    }
    const r = await attend(['train', ...TINY, '--steps', '4', '--out', ck, '--resume']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resuming from step 2:');
    expect((await readdir(dir)).filter((name) => name.startsWith('train-stale.'))).toEqual([]);
    expect(await readdir(ck)).not.toContain(FOLDER_LOCK_FILE);
    // A new run where the first save of a killed one left its temporary folder.
    await mkdir(join(dir, `train-fresh.tmp-${dead}-1`));
    expect((await attend(['train', ...TINY, '--steps', '2', '--out', join(dir, 'train-fresh')])).code).toBe(0);
    expect((await readdir(dir)).filter((name) => name.startsWith('train-fresh'))).toEqual(['train-fresh']);
  });
});
