// The first loss of a freshly initialised language model, at nanoGPT's Shakespeare shape
// (6 layers × 384, 6 heads, context 256, a character vocabulary of 65). A model that knows
// nothing should say so: its loss on any text is near ln V. With GPT-2's unscaled embeddings
// (std 0.02, `scaleEmbedding: false`) it is, whatever the Linear init; with attend's default
// √dModel-scaled embeddings tied to the output it is not: the input token's own row reaches the
// logits at about √dModel · cos(h, E[x]), so every position predicts its own token (the 9.17
// first loss of the nanoGPT run in the last stop's notes).

import * as tf from '@tensorflow/tfjs-core';
import { createModelConfig, createRng } from '@attend/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { TransformerModel } from './model.js';
import type { InitScheme } from './params.js';
import { batchLoss, lmTrainBatch } from './trainer.js';

const V = 65;
const T = 256;

beforeAll(async () => {
  await setupBackend(['wasm', 'cpu']);
});

/** The mean next-token loss of a fresh model on 2 windows of random tokens (the labels: the inputs shifted by one). */
function firstLoss(fields: { scaleEmbedding: boolean; positional: 'learned' | 'sinusoidal' }, init: InitScheme): number {
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: V, dModel: 384, numHeads: 6, numDecoderLayers: 6, dFf: 1536, maxSeqLen: T, dropout: 0, ...fields });
  const model = new TransformerModel(config, { seed: 1, init });
  const rng = createRng(2);
  const stream = Int32Array.from({ length: 2 * (T + 1) }, () => 4 + Math.floor(rng.next() * (V - 4)));
  const ids = new Int32Array(2 * T);
  const labels = new Int32Array(2 * T);
  for (let b = 0; b < 2; b++) {
    ids.set(stream.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    labels.set(stream.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  const loss = tf.tidy(() => batchLoss(model, lmTrainBatch({ inputIds: ids, labels, batchSize: 2, seqLen: T })).dataSync()[0]!);
  model.dispose();
  return loss;
}

describe('the first loss of a fresh decoder-lm (nanoGPT Shakespeare shape)', () => {
  // Random labels: the loss is ln V plus about half the logits' variance; 0.15 nats allows logits of std ≤ 0.5.
  const MARGIN = 0.15;

  it.each([
    ['learned', 'gpt2'],
    ['sinusoidal', 'glorot'],
  ] as const)('with unscaled embeddings (%s positions, %s Linear init) is within 0.15 of ln V', (positional, init) => {
    expect(Math.abs(firstLoss({ scaleEmbedding: false, positional }, init) - Math.log(V))).toBeLessThan(MARGIN);
  }, 120_000);

  it('with the default √dModel-scaled tied embeddings is over ln V + 2: each position predicts its own token', () => {
    expect(firstLoss({ scaleEmbedding: true, positional: 'sinusoidal' }, 'glorot')).toBeGreaterThan(Math.log(V) + 2);
  }, 120_000);
});
