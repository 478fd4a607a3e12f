// Drives the built binary (dist/bin.js) as a subprocess, as a user would: a tiny train → export
// → translate → inspect run, usage errors, missing and corrupt inputs, and resume after Ctrl-C.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const TINY = ['--d-model', '32', '--heads', '2', '--layers', '1', '--batch-size', '32', '--lr', '0.005', '--examples', '600', '--dev-size', '20'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `attend args…`; `onStdout` sees the output so far and may signal the process. */
function attend(args: string[], options: { input?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

let dir: string;
let checkpoint: string;
let folder: string;

beforeAll(async () => {
  await stat(BIN).catch(() => {
    throw new Error(`${BIN} is missing: build the package first (pnpm --filter @attend/cli build)`);
  });
  dir = await mkdtemp(join(tmpdir(), 'attend-cli-'));
  checkpoint = join(dir, 'ckpt');
  folder = join(dir, 'onnx');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend train → export → translate → inspect', () => {
  it('trains a tiny copy model for 60 steps with eval lines and a checkpoint', async () => {
    const r = await attend(['train', '--task', 'copy', '--steps', '60', '--eval-every', '30', '--out', checkpoint, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/eval @ step 30: dev exact match \d+\.\d\d%/);
    expect(r.stdout).toContain(`done: step 60/60 (completed); checkpoint saved in ${checkpoint}`);
    const state = JSON.parse(await readFile(join(checkpoint, 'trainer_state.json'), 'utf8')) as { step: number };
    expect(state.step).toBe(60);
  });

  it('exports the checkpoint and lists the files with sizes', async () => {
    const r = await attend(['export', checkpoint, '--out', folder]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/onnx\/encoder_model\.onnx\s+[\d.]+ kB/);
    expect(r.stdout).toMatch(/onnx\/decoder_model_merged\.onnx\s+[\d.]+ kB/);
    expect((await stat(join(folder, 'onnx', 'decoder_model_merged.onnx'))).size).toBeGreaterThan(10_000);
  });

  it('translates with onnxruntime (arguments, --json) as tfjs does with the checkpoint (stdin)', async () => {
    const inputs = ['abcde', 'hello'];
    const ort = await attend(['translate', folder, ...inputs, '--json']);
    expect(ort.code).toBe(0);
    const parsed = JSON.parse(ort.stdout) as { runtime: string; results: { source: string; output: string }[] };
    expect(parsed.runtime).toMatch(/^onnxruntime-node \(cpu/);
    expect(parsed.results.map((x) => x.source)).toEqual(inputs);
    const tfjs = await attend(['translate', checkpoint], { input: inputs.join('\n') + '\n' });
    expect(tfjs.code).toBe(0);
    expect(tfjs.stdout.trimEnd().split('\n')).toEqual(parsed.results.map((x) => x.output));
    const beam = await attend(['translate', folder, '--beam', '3', ...inputs]);
    expect(beam.code).toBe(0);
    expect(beam.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('inspects the checkpoint (parameters per module) and the folder (ONNX inputs/outputs)', async () => {
    const c = await attend(['inspect', checkpoint]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/encoder\.layers\.0\.self_attn\s+4,224/);
    expect(c.stdout).toMatch(/total\s+30,784/);
    const f = await attend(['inspect', folder]);
    expect(f.code).toBe(0);
    expect(f.stdout).toContain('inputs:  input_ids, attention_mask');
    expect(f.stdout).toContain('use_cache_branch');
  });
});

describe('attend train --model rnn', () => {
  it('trains a GRU encoder–decoder with additive attention, translates with the checkpoint, and explains that the folder export is not for it', async () => {
    const out = join(dir, 'gru');
    const r = await attend(['train', '--task', 'copy', '--model', 'rnn', '--rnn-attention', 'additive', '--steps', '20', '--eval-every', '20', '--out', out, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training rnn-seq2seq');
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { preset: string; rnnAttention: string };
    expect(config).toMatchObject({ preset: 'rnn-seq2seq', rnnAttention: 'additive' });
    const t = await attend(['translate', out, 'abc', 'hello']);
    expect(t.code).toBe(0);
    expect(t.stdout.trimEnd().split('\n')).toHaveLength(2);
    const e = await attend(['export', out, '--out', join(dir, 'gru-onnx')]);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/^attend: .*preset 'rnn-seq2seq' — the transformers.js export folder is implemented for 'decoder-lm' and 'encoder-decoder' \(rnn-seq2seq exports with exportRnnSeq2Seq\)\n$/);
  });
});

describe('attend errors', () => {
  it('rejects a mistyped flag with a suggestion', async () => {
    const r = await attend(['train', '--task', 'copy', '--out', join(dir, 'x'), '--stpes', '5']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe("attend: unknown option '--stpes' (Did you mean --steps?)\n");
  });

  it('names a missing data file in one line, without a stack trace', async () => {
    const missing = join(dir, 'missing.tsv');
    const r = await attend(['train', '--pairs', missing, '--out', join(dir, 'x')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${missing}: no such file\n`);
  });

  it('reports a corrupt checkpoint in one line naming the file', async () => {
    const bad = join(dir, 'corrupt');
    await cp(checkpoint, bad, { recursive: true });
    const weights = await readFile(join(bad, 'model.safetensors'));
    await writeFile(join(bad, 'model.safetensors'), weights.subarray(0, 100));
    const r = await attend(['translate', bad, 'abc']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^attend: .*model\.safetensors: /);
  });
});

describe('attend train --resume', () => {
  it('continues an interrupted run from its saved step', async () => {
    const out = join(dir, 'resume');
    let interrupted = false;
    const first = await attend(['train', '--task', 'reverse', '--steps', '2000', '--eval-every', '20', '--out', out, ...TINY], {
      onStdout: (text, child) => {
        if (!interrupted && text.includes('eval @ step 20')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(first.code).toBe(130);
    const saved = Number(/interrupted at step (\d+); checkpoint saved/.exec(first.stdout)?.[1]);
    expect(saved).toBeGreaterThanOrEqual(20);
    expect(saved).toBeLessThan(2000);
    const target = saved + 20;
    const second = await attend(['train', '--task', 'reverse', '--steps', String(target), '--eval-every', '20', '--out', out, '--resume', ...TINY]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`resuming from step ${saved}:`);
    const firstLogged = Number(/step (\d+)\/\d+/.exec(second.stdout)?.[1]);
    expect(firstLogged).toBeGreaterThan(saved);
    expect(second.stdout).toContain(`done: step ${target}/${target}`);
  });
});
