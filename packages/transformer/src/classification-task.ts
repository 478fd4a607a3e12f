// Classification tasks ready for the trainer: labelled texts encoded with a tokenizer (or
// labelled images for the vit-classifier), a step-indexed batch function (a shuffled order per
// epoch, from the seed, so resumed runs see the same data), and accuracy of the argmax class and
// the mean loss on the dev set.

import * as tf from '@tensorflow/tfjs-core';
import { accuracy, createRng, encoderInputIds, encoderPairIds, imagePositions, makeClassificationBatch, ShapeError, type Classification, type EncodedExample, type LabeledFeatures, type LabeledText, type Tokenizer, type ImageClassifierConfig } from '@attend/core';
import { crossEntropy } from './loss.js';
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
  /** Accuracy of the argmax class and mean loss on `examples` (default: the dev set), and the predictions. */
  evaluate(model: AttendModel, examples?: readonly LabeledText[]): Promise<Evaluation>;
}

/**
 * Indices of the examples of training step `step` (1-based): consecutive slices of a shuffled
 * order, drawn anew each epoch from the seed (a pure function of the step, so resumes agree).
 */
export function epochBatches(count: number, batchSize: number, seed: number): (step: number) => number[] {
  const batchesPerEpoch = Math.max(1, Math.floor(count / batchSize));
  let order: { epoch: number; indices: number[] } | undefined;
  return (step) => {
    const k = step - 1;
    const epoch = Math.floor(k / batchesPerEpoch);
    if (order?.epoch !== epoch) order = { epoch, indices: createRng(seed * 100_003 + epoch).shuffle(Array.from({ length: count }, (_, i) => i)) };
    const start = (k % batchesPerEpoch) * batchSize;
    return order.indices.slice(start, start + batchSize);
  };
}

/** What a classification task's evaluation gives. */
export interface Evaluation {
  accuracy: number;
  /** Mean cross-entropy per example. */
  loss: number;
  predictions: number[];
}

/** Accuracy of the model's argmax class and its mean loss over `examples`, run 256 at a time through `inputOf`. */
async function argmaxAccuracy<E extends { label: number }>(model: AttendModel, examples: readonly E[], inputOf: (rows: readonly E[]) => TokenBatch): Promise<Evaluation> {
  const predictions: number[] = [];
  let lossSum = 0;
  for (let start = 0; start < examples.length; start += 256) {
    const rows = examples.slice(start, start + 256);
    const input = inputOf(rows);
    const [best, loss] = tf.tidy(() => {
      const { logits } = model.forward(input);
      return [tf.argMax(logits, -1), crossEntropy(logits as tf.Tensor2D, Int32Array.from(rows, (e) => e.label))];
    });
    predictions.push(...(await best.data()));
    lossSum += (await loss.data())[0]! * rows.length;
    best.dispose();
    loss.dispose();
  }
  return { accuracy: accuracy(predictions, examples.map((e) => e.label)), loss: lossSum / examples.length, predictions };
}

export function classificationTask(train: readonly LabeledText[], dev: readonly LabeledText[], tokenizer: Tokenizer, options: ClassificationTaskOptions): ClassificationTask {
  const pad = { pad: tokenizer.specialTokenIds.pad };
  const limits = { maxLen: options.maxLen };
  const encode = (e: LabeledText): EncodedExample =>
    e.pair === undefined ? { ids: encoderInputIds(tokenizer, e.text), label: e.label } : { ...encoderPairIds(tokenizer, e.text, e.pair), label: e.label };
  const encodedTrain = train.map(encode);
  const indicesOf = epochBatches(encodedTrain.length, options.batchSize, options.seed);
  return {
    nextBatch(step) {
      const examples = indicesOf(step).map((i) => encodedTrain[i]!);
      return classificationTrainBatch(makeClassificationBatch(examples, pad, limits));
    },
    evaluate: (model, examples = dev) =>
      argmaxAccuracy(model, examples, (rows) => {
        const b = makeClassificationBatch(rows.map(encode), pad, limits);
        return classificationTrainBatch(b).input;
      }),
  };
}

export interface ImageClassificationTask {
  nextBatch(step: number): TrainBatch;
  /** Accuracy of the argmax class and mean loss on `examples` (default: the dev set), and the predictions. */
  evaluate(model: AttendModel, examples?: readonly LabeledFeatures[]): Promise<Evaluation>;
}

/**
 * The image classifiers' task (the ViT, canvas, STN and glimpse kinds): labelled images (`features`: the raw pixel values [C·S·S], channel,
 * row, column; the model applies pixelScale), batched in the same per-epoch order as
 * `classificationTask`; accuracy on the dev set.
 */
export function imageClassificationTask(train: readonly LabeledFeatures[], dev: readonly LabeledFeatures[], config: ImageClassifierConfig, options: Omit<ClassificationTaskOptions, 'maxLen'>): ImageClassificationTask {
  const size = config.numChannels * config.imageSize ** 2;
  for (const [name, rows] of [['train', train], ['dev', dev]] as const) {
    const bad = rows.findIndex((r) => r.features.length !== size);
    if (bad >= 0) throw new ShapeError(`${name} image ${bad}: ${rows[bad]!.features.length} values, expected ${size} (${config.numChannels} × ${config.imageSize} × ${config.imageSize})`);
  }
  const batchOf = (rows: readonly LabeledFeatures[]): TrainBatch => imageTrainBatch(Float32Array.from(rows.flatMap((r) => r.features)), Int32Array.from(rows, (r) => r.label), config);
  const indicesOf = epochBatches(train.length, options.batchSize, options.seed);
  return {
    nextBatch: (step) => batchOf(indicesOf(step).map((i) => train[i]!)),
    evaluate: (model, examples = dev) => argmaxAccuracy(model, examples, (rows) => batchOf(rows).input),
  };
}

/** Class probabilities (softmax of the logits) and best class of each row of an encoder-classifier (or of each image of a vit-classifier batch). */
export async function classify(model: AttendModel, batch: TokenBatch): Promise<Classification[]> {
  const config = model.config;
  if (!('numClasses' in config)) throw new ShapeError(`classify: preset '${config.preset}' has no classifier head`);
  const K = config.numClasses;
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

/** A classification TrainBatch of images [B, C, H, W] and labels [B]. */
export function imageTrainBatch(pixels: Float32Array, labels: Int32Array, config: ImageClassifierConfig): TrainBatch {
  return { input: { ids: new Int32Array(0), batchSize: labels.length, seqLen: imagePositions(config), pixels }, labels };
}
