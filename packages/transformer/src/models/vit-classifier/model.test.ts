// The vision Transformer classifier (vit-classifier): patch layout, shapes and attention maps,
// attention rollout and CLS maps and a checkpoint round trip. Held-out accuracy on the 8×8
// digits is in e2e/src/training.test.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionRollout, clsAttentionGrid, createModelConfig, vitPatchGrid, type VitClassifierConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../checkpoint.js';
import { createModel } from '../../models.js';
import { maxAbsDiff, randomizeParams } from '../../test-utils/weights.js';
import { imageTrainBatch } from '../../classification-task.js';
import { imagePatches, VitModel } from './model.js';

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
    const config = vitPatchGrid({ imageSize: 4, patchSize: 2, numChannels: 2, pixelScale: 1 });
    const pixels = Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => i); // one image: channel 0 is 0..15, channel 1 is 16..31
    const patches = imagePatches(pixels, 1, config);
    expect(Array.from(patches.slice(0, 8))).toEqual([0, 1, 4, 5, 16, 17, 20, 21]); // top-left patch
    expect(Array.from(patches.slice(8, 16))).toEqual([2, 3, 6, 7, 18, 19, 22, 23]); // top-right
    expect(Array.from(patches.slice(24, 32))).toEqual([10, 11, 14, 15, 26, 27, 30, 31]); // bottom-right
    expect(() => imagePatches(pixels, 2, config)).toThrow(/64 values|32 values/);
  });

  it('cuts a wide grid row-major: a 2 × 4 image in 2 × 2 patches gives a left and a right patch', () => {
    const pixels = Float32Array.from({ length: 8 }, (_, i) => i);
    const patches = imagePatches(pixels, 1, { imageHeight: 2, imageWidth: 4, patchSize: 2, numChannels: 1, pixelScale: 1 });
    expect(Array.from(patches)).toEqual([0, 1, 4, 5, 2, 3, 6, 7]);
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
});
