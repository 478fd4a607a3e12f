// Classification with an encoder-classifier forward graph (right-padded token rows in) or a
// vit-classifier graph (images in): each row's class probabilities (softmax of the logits
// [B, numClasses]) and best class out.

import { classifierConfig, modelTask, ShapeError, type Classification } from '@attend/core';
import { TokenForwardSession } from './models/encoder-classifier/session.js';
import { encodeSourceMask, type SourceBatch } from './models/encoder-decoder/session.js';
import { ImageClassifierSession } from './models/vit-classifier/session.js';
import type { OnnxModel } from './session.js';

export type { Classification };

/** Runs the classifier over a right-padded batch (with each token's type for a sentence pair); one Classification per row. */
export async function classify(model: OnnxModel, batch: SourceBatch & { tokenTypes?: ArrayLike<number> }): Promise<Classification[]> {
  const c = model.config;
  if (!(model instanceof TokenForwardSession) || modelTask(c) !== 'text-classification') throw new ShapeError(`classify needs an encoder-classifier export; this model is a '${c.preset}'`);
  const { batchSize: B, seqLen: S } = batch;
  const types = batch.tokenTypes ? { tokenTypeIds: { data: batch.tokenTypes, batchSize: B, seqLen: S } } : {};
  const { logits } = await model.run({ inputIds: { data: batch.ids, batchSize: B, seqLen: S }, attentionMask: encodeSourceMask(batch), ...types });
  return classifications(logits.data, B, classifierConfig(c, 'classify').numClasses);
}

/** Runs an image classifier over `batchSize` images [B, C, S, S] (raw values); one Classification per image. */
export async function classifyImages(model: OnnxModel, pixels: Float32Array, batchSize: number): Promise<Classification[]> {
  if (!(model instanceof ImageClassifierSession)) throw new ShapeError(`classifyImages needs an image classifier's export; this model is a '${model.config.preset}'`);
  const { logits } = await model.runImages(pixels, batchSize);
  return classifications(logits.data, batchSize, classifierConfig(model.config, 'classifyImages').numClasses);
}

/** Softmax and best class (the first on ties) of each row of logits [B, K]. */
export function classifications(logits: Float32Array, B: number, K: number): Classification[] {
  return Array.from({ length: B }, (_, b) => {
    const row = logits.subarray(b * K, (b + 1) * K);
    const max = row.reduce((m, x) => Math.max(m, x), -Infinity);
    const exp = Float32Array.from(row, (x) => Math.exp(x - max));
    const sum = exp.reduce((a, x) => a + x, 0);
    const probabilities = exp.map((x) => x / sum);
    let label = 0;
    probabilities.forEach((p, k) => {
      if (p > probabilities[label]!) label = k;
    });
    return { label, probabilities };
  });
}
