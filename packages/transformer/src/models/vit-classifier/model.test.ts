// The vision Transformer classifier (vit-classifier): patch layout, shapes and attention maps,
// attention rollout and CLS maps, a checkpoint round trip, and held-out accuracy on the 8×8
// digits from ../shared/data (skipped when the file is absent).

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionRollout, clsAttentionGrid, createModelConfig, createRng, readCsvClassification, trainDevSplit, type VitClassifierConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../checkpoint.js';
import { createModel } from '../../models.js';
import { maxAbsDiff, randomizeParams } from '../../test-utils/weights.js';
import { train } from '../../trainer.js';
import { imageTrainBatch } from '../../classification-task.js';
import { imagePatches, VitModel } from './model.js';

// This file is packages/transformer/src/models/vit-classifier/model.test.ts; the repo root is
// five levels up and the shared data sits beside it, at ../shared/data.
const repoRoot = new URL('../../../../../', import.meta.url);
const digitsPath = fileURLToPath(new URL('../shared/data/digits8x8.csv', repoRoot));

let root: string;
beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-vit-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const tiny = (overrides: Partial<VitClassifierConfig> = {}): VitClassifierConfig =>
  createModelConfig({ preset: 'vit-classifier', numClasses: 4, dModel: 16, numHeads: 2, numEncoderLayers: 2, dFf: 32, dropout: 0, ...overrides });

describe('vit-classifier', () => {
  it('cuts [B, C, H, W] images into row-major patches, each flattened channel, row, column', () => {
    const config = { imageSize: 4, patchSize: 2, numChannels: 2 };
    const pixels = Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => i); // one image: channel 0 is 0..15, channel 1 is 16..31
    const patches = imagePatches(pixels, 1, config);
    expect(Array.from(patches.slice(0, 8))).toEqual([0, 1, 4, 5, 16, 17, 20, 21]); // top-left patch
    expect(Array.from(patches.slice(8, 16))).toEqual([2, 3, 6, 7, 18, 19, 22, 23]); // top-right
    expect(Array.from(patches.slice(24, 32))).toEqual([10, 11, 14, 15, 26, 27, 30, 31]); // bottom-right
    expect(() => imagePatches(pixels, 2, config)).toThrow(/64 values|32 values/);
  });

  it('logits [B, classes]; one [B, H, N + 1, N + 1] map per layer; rollout rows sum to 1; CLS grid is G × G', () => {
    const config = tiny();
    const model = createModel(config, { seed: 1 });
    randomizeParams(model.namedParams(), 2, 0.3);
    const pixels = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i));
    const r = model.forward(imageTrainBatch(pixels, Int32Array.from([0, 1, 2]), config).input, undefined, { returnAttention: true });
    expect(r.logits.shape).toEqual([3, 4]);
    expect(r.attention!.encoder.map((m) => m.shape)).toEqual([[3, 2, 17, 17], [3, 2, 17, 17]]);
    const layers = r.attention!.encoder.map((m) => (m.arraySync() as number[][][][])[1]!);
    const rollout = attentionRollout(layers);
    for (const row of rollout) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const grid = clsAttentionGrid(rollout);
    expect(grid).toHaveLength(4);
    expect(grid.every((row) => row.length === 4)).toBe(true);
    expect(() => model.forward({ ids: new Int32Array(0), batchSize: 1, seqLen: 17 })).toThrow(/needs 'pixels'/);
    tf.dispose([r.logits, ...r.attention!.encoder]);
    model.dispose();
  });

  it('checkpoint round trip', async () => {
    const config = tiny({ imageSize: 4, maxSeqLen: 5, numChannels: 3 });
    const model = createModel(config, { seed: 3 });
    randomizeParams(model.namedParams(), 4, 0.3);
    expect(model.namedParams().map((p) => p.name)).toContain('embeddings.patch_embeddings.weight');
    const dir = join(root, 'ckpt');
    await saveCheckpoint(dir, { model });
    const loaded = await loadCheckpoint(dir);
    expect(loaded.model).toBeInstanceOf(VitModel);
    const input = imageTrainBatch(Float32Array.from({ length: 2 * 3 * 16 }, (_, i) => Math.cos(i)), Int32Array.from([0, 1]), config).input;
    expect(maxAbsDiff(loaded.model.forward(input).logits.dataSync(), model.forward(input).logits.dataSync())).toBe(0);
    model.dispose();
    loaded.model.dispose();
  });

  it.skipIf(!existsSync(digitsPath))('classifies held-out 8×8 digits (fixed-seed 300-image split) with ≥ 85% accuracy', async () => {
    const rows = await readCsvClassification(digitsPath);
    expect(rows).toHaveLength(1797);
    const { train: trainRows, dev: testRows } = trainDevSplit(rows, { devFraction: 300 / 1797, seed: 7 });
    const config = createModelConfig({ preset: 'vit-classifier', numClasses: 10, dModel: 32, numHeads: 4, numEncoderLayers: 2, dFf: 64, dropout: 0 });
    const images = (rs: typeof rows): Float32Array => Float32Array.from(rs.flatMap((r) => r.features.map((x) => x / 16)));
    const rng = createRng(7);
    const batchSize = 64;
    const model = createModel(config, { seed: 7 });
    await train(model, () => {
      const pick = Array.from({ length: batchSize }, () => trainRows[rng.int(trainRows.length)]!);
      return imageTrainBatch(images(pick), Int32Array.from(pick, (r) => r.label), config);
    }, { steps: 400, learningRate: 3e-3, schedule: { kind: 'cosine', warmupSteps: 20, totalSteps: 400, minLr: 3e-4 } });
    const logits = tf.tidy(() => model.forward(imageTrainBatch(images(testRows), Int32Array.from(testRows, (r) => r.label), config).input).logits.argMax(-1).dataSync());
    const accuracy = testRows.filter((r, i) => logits[i] === r.label).length / testRows.length;
    model.dispose();
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
  }, 120_000);
});
