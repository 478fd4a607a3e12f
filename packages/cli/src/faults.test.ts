// Faults, through the built CLI (dist/bin.js) as a user meets them:
//   - `attend train` killed with SIGKILL at random moments (several seeds): the checkpoint
//     folder always loads, `--resume` continues from its step, and the finished run has the
//     losses and weights of an uninterrupted run (training is deterministic: the data order is a
//     function of the step, dropout is 0, and the optimizer state is checkpointed);
//   - corrupt, truncated, empty or foreign files of every format the CLI reads: one line
//     `attend: <file>: <problem>`, exit code 1, and no output folder left behind.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { checkpointExists, loadCheckpoint, setupBackend } from '@attend/transformer';
import { tinyExport } from './test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const TINY = ['--task', 'reverse', '--steps', '40', '--eval-every', '10', '--d-model', '32', '--heads', '2', '--layers', '1', '--batch-size', '32', '--lr', '0.005', '--examples', '600', '--dev-size', '20'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function attend(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

let dir: string;

beforeAll(async () => {
  await stat(BIN).catch(() => {
    throw new Error(`${BIN} is missing: build the package first (pnpm --filter @attend/cli build)`);
  });
  dir = await mkdtemp(join(tmpdir(), 'attend-faults-'));
  await setupBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface State {
  step: number;
  losses: { step: number; loss: number }[];
}
const exists = (path: string): Promise<boolean> => stat(path).then(
  () => true,
  () => false,
);
/** The step of the checkpoint in `out`, also when a save was cut between its renames (0 if none). */
async function savedStep(out: string): Promise<number> {
  if (await exists(join(out, 'trainer_state.json'))) return (await state(out)).step;
  const parent = join(out, '..');
  const old = (await readdir(parent)).filter((name) => name.startsWith(`${out.split('/').at(-1)}.old-`));
  const newest = old.length ? join(parent, old.sort().at(-1)!) : undefined;
  return newest && (await exists(join(newest, 'trainer_state.json'))) ? (await state(newest)).step : 0;
}
const state = async (ckpt: string): Promise<State> => JSON.parse(await readFile(join(ckpt, 'trainer_state.json'), 'utf8')) as State;

describe('attend train killed with SIGKILL', () => {
  let reference: { state: State; weights: Buffer; ms: number };

  beforeAll(async () => {
    const out = join(dir, 'reference');
    const r = await attend(['train', ...TINY, '--out', out]);
    expect(r.code).toBe(0);
    reference = { state: await state(out), weights: await readFile(join(out, 'model.safetensors')), ms: r.ms };
    expect(reference.state.step).toBe(40);
  }, 120_000);

  it.each([1, 2, 3])('seed %i: killed twice at random moments, resumed, it ends as the uninterrupted run', async (seed) => {
    const rng = createRng(seed);
    const out = join(dir, `killed-${seed}`);
    for (let kill = 0; kill < 2; kill++) {
      // A moment anywhere in the run: during start-up, a training step, or a checkpoint write.
      const at = Math.round(300 + rng.next() * reference.ms);
      const r = await attend(['train', ...TINY, '--out', out, '--resume'], at);
      if (r.signal !== 'SIGKILL') {
        expect(r.code).toBe(0); // finished before the kill
        break;
      }
      if (await exists(join(out, 'config.json'))) {
        const loaded = await loadCheckpoint(out); // the folder always loads…
        loaded.model.dispose();
        expect((await state(out)).step % 10).toBe(0); // …and holds the state of an eval step
      } else if (await checkpointExists(out)) {
        // Killed between a save's two renames: the previous checkpoint waits beside the folder,
        // and the next `--resume` must put it back.
        expect((await readdir(dir)).some((name) => name.startsWith(`killed-${seed}.old-`))).toBe(true);
      }
    }
    const saved = await savedStep(out);
    const last = await attend(['train', ...TINY, '--out', out, '--resume']);
    expect(last.stderr).toBe('');
    expect(last.code).toBe(0);
    expect(last.stdout).toContain(saved > 0 ? `resuming from step ${saved}:` : `no checkpoint in ${out} yet; starting a new run`);
    const final = await state(out);
    expect(final.step).toBe(40);
    expect(final.losses).toEqual(reference.state.losses);
    expect((await readFile(join(out, 'model.safetensors'))).equals(reference.weights)).toBe(true);
    const leftovers = (await readdir(dir)).filter((name) => name.startsWith(`killed-${seed}.`));
    expect(leftovers).toEqual([]); // no lost checkpoint, no temporary folder of a killed save beside the folder
  }, 180_000);

  it('a corrupt checkpoint under --resume: one line, and the checkpoint is left as it was', async () => {
    const out = join(dir, 'resume-corrupt');
    await cp(join(dir, 'reference'), out, { recursive: true });
    await writeFile(join(out, 'trainer_state.json'), '{"step": 3, "losses": [');
    const before = await readFile(join(out, 'model.safetensors'));
    const r = await attend(['train', ...TINY, '--out', out, '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^attend: ${out}/trainer_state\\.json: `));
    expect((await readFile(join(out, 'model.safetensors'))).equals(before)).toBe(true);
  });
});

describe('corrupt, truncated, empty or foreign files → one line naming the file, exit 1, nothing written', () => {
  let ckpt: string; // decoder-lm checkpoint (config, tokenizer, safetensors)
  let seq2seq: string; // encoder-decoder export folder
  let lm: string; // decoder-lm export folder

  beforeAll(async () => {
    lm = await tinyExport(dir, 'decoder-lm', 5);
    ckpt = join(dir, 'decoder-lm-ckpt');
    seq2seq = await tinyExport(dir, 'encoder-decoder', 6);
  }, 120_000);

  const terabyteHeader = (): Buffer => {
    const b = Buffer.alloc(64);
    b.writeBigUInt64LE(2n ** 42n, 0); // a header length of 4 TB
    return b;
  };
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x7d]); // {"a\xff\xfe"}

  type Corruption = [string, string, (original: Buffer) => Buffer | string, RegExp];
  const checkpointCases: Corruption[] = [
    ['config.json', 'empty', () => '', /config\.json: not valid JSON/],
    ['config.json', 'truncated', (b) => b.subarray(0, b.length / 2), /config\.json: not valid JSON/],
    ['config.json', 'foreign (a Hugging Face bert config)', () => JSON.stringify({ model_type: 'bert', hidden_size: 768 }), /config\.json: /],
    ['config.json', 'invalid UTF-8', () => invalidUtf8, /config\.json: not valid UTF-8 text/],
    ['tokenizer.json', 'invalid UTF-8', () => invalidUtf8, /tokenizer\.json: not valid UTF-8 text/],
    ['tokenizer.json', 'empty', () => '', /tokenizer\.json: /],
    ['tokenizer.json', 'truncated', (b) => b.subarray(0, b.length / 2), /tokenizer\.json: not valid JSON/],
    ['tokenizer.json', 'foreign (a JSON array)', () => '[1, 2, 3]', /tokenizer\.json: /],
    ['model.safetensors', 'empty', () => '', /model\.safetensors: .*too short/],
    ['model.safetensors', 'truncated', (b) => b.subarray(0, b.length - 100), /model\.safetensors: /],
    ['model.safetensors', 'a header length claiming 4 TB', terabyteHeader, /model\.safetensors: header length 4398046511104 exceeds the limit/],
    ['model.safetensors', 'foreign (a PNG)', () => png, /model\.safetensors: /],
  ];

  it.each(checkpointCases)('checkpoint %s %s: attend export', async (file, _what, corrupt, message) => {
    const bad = join(dir, `ckpt-${file}-${_what.replace(/\W+/g, '-')}`);
    await cp(ckpt, bad, { recursive: true });
    await writeFile(join(bad, file), corrupt(await readFile(join(bad, file))));
    const out = `${bad}-onnx`;
    const r = await attend(['export', bad, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^attend: ${bad}/`));
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect((await readdir(dir)).filter((name) => name.startsWith(`${bad.split('/').at(-1)}-onnx`))).toEqual([]);
  });

  const onnxCases: Corruption[] = [
    ['onnx/encoder_model.onnx', 'empty', () => '', /encoder_model\.onnx: /],
    ['onnx/encoder_model.onnx', 'truncated', (b) => b.subarray(0, b.length / 3), /encoder_model\.onnx: /],
    ['onnx/decoder_model_merged.onnx', 'foreign (a PNG)', () => png, /decoder_model_merged\.onnx: /],
    ['config.json', 'without its attend key', () => JSON.stringify({ model_type: 'marian' }), /config\.json: no 'attend' key/],
    ['tokenizer.json', 'truncated', (b) => b.subarray(0, 10), /tokenizer\.json: not valid JSON/],
  ];

  it.each(onnxCases)('export folder %s %s: attend translate', async (file, what, corrupt, message) => {
    const bad = join(dir, `export-${what.replace(/\W+/g, '-')}-${file.replace(/\W+/g, '-')}`);
    await cp(seq2seq, bad, { recursive: true });
    await writeFile(join(bad, file), corrupt(await readFile(join(bad, file))));
    const r = await attend(['translate', bad, 'abc']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^attend: ${bad}/`));
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('export folder with a truncated model.onnx: attend serve exits 1 before listening', async () => {
    const bad = join(dir, 'serve-truncated');
    await cp(lm, bad, { recursive: true });
    const file = join(bad, 'onnx', 'model.onnx');
    await writeFile(file, (await readFile(file)).subarray(0, 5000));
    const r = await attend(['serve', bad, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^attend: ${file}: `));
    expect(r.stdout).not.toContain('serving');
  });

  const dataCases: [string, Buffer | string, RegExp][] = [
    ['empty', '', /: file is empty/],
    ['invalid UTF-8', Buffer.concat([Buffer.from('hello\tbonjour\nabc\td'), Buffer.from([0xc3, 0x28]), Buffer.from('f\n')]), /:2: not valid UTF-8/],
    ['binary (a PNG)', png, /: not valid UTF-8|: expected at least 2 tab-separated columns/],
    ['a line of 2 MB', `a\tb\n${'x'.repeat(2_000_000)}\ty\n`, /:2: .*2000000 characters/],
    ['one column', 'just text\nmore text\n', /:1: expected at least 2 tab-separated columns, found 1/],
  ];

  it.each(dataCases)('training pairs (TSV) %s: attend train', async (what, content, message) => {
    const file = join(dir, `pairs-${what.replace(/\W+/g, '-')}.tsv`);
    await writeFile(file, content);
    const out = join(dir, `out-${what.replace(/\W+/g, '-')}`);
    const r = await attend(['train', '--pairs', file, '--steps', '2', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^attend: ${file}`));
    expect(r.stderr).toMatch(message);
    await expect(stat(out)).rejects.toThrow();
  });

});
