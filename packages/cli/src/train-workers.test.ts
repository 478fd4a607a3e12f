// attend train --workers: the default (one thread),
// the usage error when the batch has too few rows, and a run on worker threads through the
// built CLI that resumes like a one-thread run.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './errors.js';
import { trainWorkers } from './train-workers.js';
import { attend } from './test-utils/attend.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-train-workers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trainWorkers', () => {
  it('defaults to one worker; --workers is taken up to the rows the batch (in --grad-accum micro-batches) has', () => {
    expect(trainWorkers(undefined, { batchSize: 64, gradAccum: 1 })).toBe(1);
    expect(trainWorkers(undefined, { batchSize: 6, gradAccum: 2 })).toBe(1);
    expect(trainWorkers(3, { batchSize: 6, gradAccum: 2 })).toBe(3);
  });

  it('refuses more workers than the batch has rows for, exit 2, naming the flag', () => {
    const refused = (): number => trainWorkers(4, { batchSize: 6, gradAccum: 2 });
    expect(refused).toThrow(CliError);
    expect(refused).toThrow(/^--workers: 4 workers × --grad-accum 2 cannot split a batch of 6; use at most 3$/);
    // Micro-batches the memory estimate chose (no --grad-accum given) are named as such.
    expect(() => trainWorkers(2, { batchSize: 5, gradAccum: 3 }, true)).toThrow(/^--workers: 2 workers × the 3 micro-batches a step needs to fit in memory cannot split a batch of 5; use at most 1 \(or a smaller model or context\)$/);
    try {
      refused();
    } catch (error) {
      expect((error as CliError).exitCode).toBe(2);
    }
  });
});

describe('attend train --workers', () => {
  const args = ['train', '--task', 'reverse', '--examples', '200', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--eval-every', '4', '--dev-size', '16'];
  const losses = async (out: string): Promise<number[]> =>
    (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).train_loss as number);

  // That a resumed run on workers equals the uninterrupted one, bit for bit, is data-parallel.test.ts's
  // (the library, same schedule); through the CLI a shorter first run has another cosine schedule,
  // so this checks that --resume on workers picks up the checkpoint and finishes the run.
  it('trains on 2 worker threads, and resumes on them', async () => {
    const whole = join(dir, 'whole');
    const r = await attend([...args, '--steps', '8', '--workers', '2', '--out', whole]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/device {4}tfjs wasm \(cpu\), 2 worker threads\n/);
    const wholeLosses = await losses(whole);
    expect(wholeLosses).toHaveLength(2);
    for (const loss of wholeLosses) expect(Number.isFinite(loss)).toBe(true);
    const split = join(dir, 'split');
    expect((await attend([...args, '--steps', '4', '--workers', '2', '--out', split])).code).toBe(0);
    const first = await losses(split);
    const resumed = await attend([...args, '--steps', '8', '--workers', '2', '--out', split, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming from step 4:');
    expect(resumed.stdout).toContain('done: step 8/8');
    const after = await losses(split);
    expect(after).toHaveLength(2);
    expect(after[0]).toBe(first[0]); // the first run's record is kept
    expect(Number.isFinite(after[1])).toBe(true);
  }, 240_000);

  it('refuses --workers over the batch\'s rows before training', async () => {
    const r = await attend([...args, '--steps', '8', '--batch-size', '2', '--workers', '3', '--out', join(dir, 'refused')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('attend: --workers: 3 workers cannot split a batch of 2; use at most 2\n');
  }, 60_000);
});
