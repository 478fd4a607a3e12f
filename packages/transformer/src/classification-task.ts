// A classification task ready for the trainer: labelled texts encoded with a tokenizer, a
// step-indexed batch function (a shuffled order per epoch, from the seed, so resumed runs see
// the same data), and accuracy of the argmax class on the dev set.

import * as tf from '@tensorflow/tfjs-core';
import { accuracy, createRng, makeClassificationBatch, type EncodedExample, type LabeledText, type Tokenizer } from '@attend/core';
import type { TokenBatch } from './model.js';
import type { AttendModel } from './models.js';
import { classificationTrainBatch, type TrainBatch } from './trainer.js';

export interface ClassificationTaskOptions {
  batchSize: number;
  /** Seed of the batch order. */
  seed: number;
  /** Longest encoded text (tokens); longer texts are an error. */
  maxLen: number;
}

export interface ClassificationTask {
  nextBatch(step: number): TrainBatch;
  /** Accuracy of the argmax class on `examples` (default: the dev set), and the predictions. */
  evaluate(model: AttendModel, examples?: readonly LabeledText[]): Promise<{ accuracy: number; predictions: number[] }>;
}

export function classificationTask(train: readonly LabeledText[], dev: readonly LabeledText[], tokenizer: Tokenizer, options: ClassificationTaskOptions): ClassificationTask {
  const pad = { pad: tokenizer.specialTokenIds.pad };
  const limits = { maxLen: options.maxLen };
  const encode = (e: LabeledText): EncodedExample => ({ ids: tokenizer.encode(e.text), label: e.label });
  const encodedTrain = train.map(encode);
  const batchesPerEpoch = Math.max(1, Math.floor(encodedTrain.length / options.batchSize));
  let order: { epoch: number; indices: number[] } | undefined;
  return {
    nextBatch(step) {
      const k = step - 1;
      const epoch = Math.floor(k / batchesPerEpoch);
      if (order?.epoch !== epoch) order = { epoch, indices: createRng(options.seed * 100_003 + epoch).shuffle(encodedTrain.map((_, i) => i)) };
      const start = (k % batchesPerEpoch) * options.batchSize;
      const examples = order.indices.slice(start, start + options.batchSize).map((i) => encodedTrain[i]!);
      return classificationTrainBatch(makeClassificationBatch(examples, pad, limits));
    },
    async evaluate(model, examples = dev) {
      const predictions: number[] = [];
      for (let start = 0; start < examples.length; start += 256) {
        const b = makeClassificationBatch(examples.slice(start, start + 256).map(encode), pad, limits);
        const best = tf.tidy(() => tf.argMax(model.forward({ ids: b.inputIds, batchSize: b.batchSize, seqLen: b.seqLen, lengths: b.lengths }).logits, -1));
        predictions.push(...(await best.data()));
        best.dispose();
      }
      return { accuracy: accuracy(predictions, examples.map((e) => e.label)), predictions };
    },
  };
}

/** Class probabilities (softmax of the logits) and best class of each row of an encoder-classifier. */
export async function classify(model: AttendModel, batch: TokenBatch): Promise<{ label: number; probabilities: Float32Array }[]> {
  const K = model.config.numClasses;
  const probs = tf.tidy(() => tf.softmax(model.forward(batch).logits));
  const data = (await probs.data()) as Float32Array;
  probs.dispose();
  return Array.from({ length: batch.batchSize }, (_, b) => {
    const probabilities = data.slice(b * K, (b + 1) * K);
    let label = 0;
    probabilities.forEach((p, k) => {
      if (p > probabilities[label]!) label = k;
    });
    return { label, probabilities };
  });
}
