// What `attend train` tells and leaves behind (the built dist/bin.js, as a user runs it): the
// settings at the start, dev loss and BLEU at each evaluation, elapsed time and best metrics at
// the end; metrics.jsonl with one line per evaluation that a resumed run continues; loss.svg
// with a dev curve on a log axis, redrawn at each evaluation.

import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend, BIN } from './test-utils/attend.js';

const TINY = ['--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '16', '--examples', '200', '--dev-size', '10'];

let dir: string;

beforeAll(async () => {
  await stat(BIN);
  dir = await mkdtemp(join(tmpdir(), 'attend-train-output-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const metricLines = async (out: string) =>
  (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>);

describe('attend train output', () => {
  it('prints its settings, dev loss and BLEU per evaluation, elapsed time and the best metrics; metrics.jsonl continues on resume', async () => {
    const out = join(dir, 'copy');
    const first = await attend(['train', '--task', 'copy', '--steps', '20', '--eval-every', '10', '--out', out, ...TINY]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const lines = first.stdout.split('\n');
    expect(lines[0]).toBe('training encoder-decoder on task copy');
    expect(first.stdout).toMatch(/^ {2}model {5}[\d,]+ parameters \(d 16, 1 encoder \+ 1 decoder layers, 2 heads, vocabulary \d+, context \d+\)$/m);
    expect(first.stdout).toMatch(/^ {2}data {6}\d+ pairs, dev 10$/m);
    expect(first.stdout).toContain('  training  steps 20, batch 16, lr 0.003 (cosine, 2 warmup steps, down to 0.0001), eval every 10, seed 1');
    expect(first.stdout).toMatch(/^ {2}device {4}tfjs (wasm|cpu) \(cpu\)(, \d+ worker threads)?$/m);
    expect(first.stdout).toMatch(/^eval @ step 10: dev exact match \d+\.\d\d%, dev BLEU \d+\.\d\d, dev loss \d+\.\d{4}$/m);
    expect(first.stdout).toMatch(/^elapsed \d+\.\d s; best dev BLEU \d+\.\d\d at step (10|20), dev exact match \d+\.\d\d% at step (10|20), dev loss \d+\.\d{4} at step (10|20)$/m);

    const before = await metricLines(out);
    expect(before.map((l) => l.step)).toEqual([10, 20]);
    for (const l of before) {
      expect(Object.keys(l)).toEqual(['step', 'elapsed_s', 'train_loss', 'dev_loss', 'dev_bleu', 'dev_exact_match']);
      expect(l.dev_loss).toBeGreaterThan(0);
      expect(l.train_loss).toBeGreaterThan(0);
    }
    // The printed dev loss is the one in the file.
    expect(first.stdout).toContain(`eval @ step 20: dev exact match ${(100 * before[1]!.dev_exact_match!).toFixed(2)}%, dev BLEU ${before[1]!.dev_bleu!.toFixed(2)}, dev loss ${before[1]!.dev_loss!.toFixed(4)}`);
    const svg = await readFile(join(out, 'loss.svg'), 'utf8');
    expect(svg).toContain('>dev</text>');
    expect(svg).toContain('>train</text>');
    expect(svg).toContain('cross-entropy loss (log scale)');

    const resumed = await attend(['train', '--task', 'copy', '--steps', '40', '--eval-every', '10', '--out', out, '--resume', ...TINY]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resuming from step 20: encoder-decoder on task copy');
    expect(resumed.stdout).toContain('  training  steps 40 (20 to go)');
    const after = await metricLines(out);
    expect(after.map((l) => l.step)).toEqual([10, 20, 30, 40]);
    expect(after.slice(0, 2)).toEqual(before);
    // The clock continues: training time after the resume adds to the first run's.
    expect(after[2]!.elapsed_s).toBeGreaterThan(before[1]!.elapsed_s!);
    // The dev curve was redrawn with the resumed run's evaluations: four dev points now.
    const redrawn = await readFile(join(out, 'loss.svg'), 'utf8');
    expect(redrawn).not.toBe(svg);
  }, 180_000);

  it('a classifier reports dev accuracy and dev loss', async () => {
    const out = join(dir, 'majority');
    const r = await attend(['train', '--task', 'majority', '--steps', '10', '--eval-every', '10', '--out', out, ...TINY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^eval @ step 10: dev accuracy \d+\.\d\d%, dev loss \d+\.\d{4}$/m);
    expect(r.stdout).toMatch(/best dev accuracy \d+\.\d\d% at step 10, dev loss \d+\.\d{4} at step 10$/m);
    expect(Object.keys((await metricLines(out))[0]!)).toEqual(['step', 'elapsed_s', 'train_loss', 'dev_loss', 'dev_accuracy']);
  }, 120_000);
});
