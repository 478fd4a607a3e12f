// Settings of `attend train`: defaults < config file < flags typed on the command line, and
// errors that name the flag, or the file and field, the value came from.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configErrorOf, trainSettings, type TrainFlags } from './train-settings.js';
import { ConfigError } from '@attend/core';

const DEFAULTS: TrainFlags = { dModel: 64, heads: 4, layers: 2, steps: 1000, batchSize: 64, gradAccum: 1, lr: 3e-3, seed: 1, evalEvery: 100, examples: 5000, devSize: 200, contextLength: 64 };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-settings-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(content: unknown): Promise<string> {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(content));
  return path;
}

describe('trainSettings', () => {
  it('takes the file over the defaults and typed flags over the file', async () => {
    const config = await file({ dModel: 32, numHeads: 2, steps: 50, positional: 'rope', learningRate: 0.01 });
    const typed = new Set<keyof TrainFlags>(['steps']);
    const s = await trainSettings({ ...DEFAULTS, config, steps: 7 }, (k) => typed.has(k));
    expect(s.steps).toBe(7);
    expect(s.learningRate).toBe(0.01);
    expect(s.batchSize).toBe(64);
    expect(s.model).toMatchObject({ dModel: 32, numHeads: 2, positional: 'rope', layers: 2 });
    expect(s.origin).toMatchObject({ steps: 'flag', dModel: 'file', batchSize: 'default' });
  });

  it('names the file and field, or the flag, of a bad value', async () => {
    const config = await file({ dModel: 64, numHeads: 5 });
    await expect(trainSettings({ ...DEFAULTS, config }, () => false)).rejects.toThrow(`${config}: numHeads: 5 does not divide dModel 64`);
    await expect(trainSettings({ ...DEFAULTS, dModel: 30 }, (k) => k === 'dModel')).rejects.toThrow('--d-model: 30 is not a multiple of numHeads 4');
    await expect(trainSettings({ ...DEFAULTS, config: await file({ steps: 0 }) }, () => false)).rejects.toThrow(/: steps: 0 is not allowed; expected an integer >= 1$/);
    await expect(trainSettings({ ...DEFAULTS, config: await file({ vocabSize: 9 }) }, () => false)).rejects.toThrow(/: vocabSize: set from the training data/);
    await expect(trainSettings({ ...DEFAULTS, config: await file([1]) }, () => false)).rejects.toThrow(/expected a JSON object of settings, got an array$/);
    // Seeds are 32-bit: 2^32 + 1 would train exactly as seed 1.
    await expect(trainSettings({ ...DEFAULTS, config: await file({ seed: 2 ** 32 + 1 }) }, () => false)).rejects.toThrow(/: seed: 4294967297 is not allowed; expected an integer from 0 to 4294967295$/);
    expect((await trainSettings({ ...DEFAULTS, config: await file({ seed: 2 ** 32 - 1 }) }, () => false)).seed).toBe(2 ** 32 - 1);
  });

  it('rewrites a ModelConfig error to name where the value came from', async () => {
    const config = await file({ positional: 'rope', dModel: 6, numHeads: 2 });
    const s = await trainSettings({ ...DEFAULTS, config }, () => false);
    const rewritten = configErrorOf(s, new ConfigError('positional', "'rope' needs an even head size, got dModel/numHeads = 3")) as Error;
    expect(rewritten.message).toBe(`${config}: positional: 'rope' needs an even head size, got dModel/numHeads = 3`);
    const layers = configErrorOf(await trainSettings(DEFAULTS, (k) => k === 'layers'), new ConfigError('numEncoderLayers', 'x')) as Error & { exitCode: number };
    expect(layers.message).toBe('--layers: x');
    expect(layers.exitCode).toBe(2);
  });

  it('reads config-file keys spelled as the flags (d-model, lr, heads, batch-size) as their settings', async () => {
    const config = await file({ 'd-model': 32, heads: 2, lr: 0.01, 'batch-size': 8, 'context-length': 16, 'eval-every': 5 });
    const s = await trainSettings({ ...DEFAULTS, config }, () => false);
    expect(s.model).toMatchObject({ dModel: 32, numHeads: 2 });
    expect([s.learningRate, s.batchSize, s.contextLength, s.evalEvery]).toEqual([0.01, 8, 16, 5]);
    expect(s.origin).toMatchObject({ dModel: 'file', learningRate: 'file' });
    await expect(trainSettings({ ...DEFAULTS, config: await file({ lr: 0.01, learningRate: 0.02 }) }, () => false)).rejects.toThrow(/: learningRate: names the setting learningRate a second time \(as lr\); keep one$/);
    await expect(trainSettings({ ...DEFAULTS, config: await file({ lr: -1 }) }, () => false)).rejects.toThrow(/: lr: -1 is not allowed; expected a positive number$/);
    await expect(trainSettings({ ...DEFAULTS, config: await file({ 'd-modl': 32 }) }, () => false)).rejects.toThrow(/: d-modl: unknown setting; did you mean 'd-model'\?$/);
  });
});
