// The LM and classification tasks: batches are a pure function of the step (resume-safe),
// shapes follow the options, and a tiny model learns each task enough to beat chance (the
// image task: a vit-classifier).

import { CharTokenizer, createModelConfig, createRng, syntheticClassificationTask, WordTokenizer } from '@attend/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { captionTask } from './caption-task.js';
import { classificationTask, classify, imageClassificationTask } from './classification-task.js';
import { lmTask } from './lm-task.js';
import { seq2seqTask } from './seq2seq-task.js';
import { TransformerModel } from './model.js';
import { createModel, type AttendModel } from './models.js';
import { train } from './trainer.js';

beforeAll(async () => {
  await setupBackend();
});

describe('lmTask', () => {
  const stream = Int32Array.from({ length: 400 }, (_, i) => 3 + (i % 5)); // 3 4 5 6 7 3 4 …
  it('draws [B, T] windows whose labels are the inputs shifted by one, the same for the same step', () => {
    const task = lmTask(stream, stream.subarray(0, 50), { batchSize: 4, contextLength: 8, seed: 2 });
    const a = task.nextBatch(7);
    expect(a.input.batchSize).toBe(4);
    expect(a.input.seqLen).toBe(8);
    for (let i = 0; i < 32; i++) expect(a.labels[i]).toBe(3 + ((a.input.ids[i]! - 3 + 1) % 5));
    expect(task.nextBatch(7).input.ids).toEqual(a.input.ids);
    expect(task.nextBatch(8).input.ids).not.toEqual(a.input.ids);
  });

  it('evaluates the dev loss, which training on a periodic stream drives down', async () => {
    const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 8, dModel: 16, numHeads: 2, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0 });
    const model = new TransformerModel(config, { seed: 1 });
    const task = lmTask(stream, stream.subarray(0, 100), { batchSize: 8, contextLength: 8, seed: 1 });
    const before = await task.evaluate(model);
    expect(before.perplexity).toBeCloseTo(Math.exp(before.loss), 4);
    await train(model, task.nextBatch, { steps: 40, learningRate: 1e-2 });
    const after = await task.evaluate(model);
    model.dispose();
    expect(after.loss).toBeLessThan(before.loss / 2);
  });

  it('evaluates in forward passes of at most the given rows, to the same mean loss as one pass', async () => {
    const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 8, dModel: 16, numHeads: 2, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0 });
    const model = new TransformerModel(config, { seed: 4 });
    const dev = Int32Array.from({ length: 100 }, (_, i) => (i * 7 + (i >> 3)) % 8);
    const task = lmTask(stream, dev, { batchSize: 64, contextLength: 8, seed: 1 });
    const rows: number[] = [];
    const forward = model.forward.bind(model);
    model.forward = (...args: Parameters<typeof forward>) => {
      rows.push(args[0].batchSize);
      return forward(...args);
    };
    const whole = await task.evaluate(model);
    const windows = rows.splice(0);
    expect(windows).toHaveLength(1); // 12 windows under the training batch of 64: one pass
    const split = await task.evaluate(model, 5);
    expect(rows).toEqual([5, 5, windows[0]! - 10]);
    expect(split.loss).toBeCloseTo(whole.loss, 5);
    expect(split.perplexity).toBeCloseTo(whole.perplexity, 4);
    await expect(task.evaluate(model, 0)).rejects.toThrow('evaluation batchSize: 0 is not allowed; expected an integer >= 1');
    model.dispose();
  });
});

describe('classificationTask', () => {
  const tokenizer = CharTokenizer.fromAlphabet('ab');
  const examples = syntheticClassificationTask('majority', { count: 400, seed: 3, minLength: 3, maxLength: 9 });
  it('gives batches of the train examples in a shuffled, step-determined order', () => {
    const task = classificationTask(examples, examples.slice(0, 20), tokenizer, { batchSize: 16, seed: 1, maxLen: 12 });
    const b = task.nextBatch(3);
    expect(b.input.batchSize).toBe(16);
    expect(b.labels).toHaveLength(16);
    expect(task.nextBatch(3).input.ids).toEqual(b.input.ids);
  });

  it('learns majority above chance and reports the dev accuracy of its argmax', async () => {
    const config = createModelConfig({ preset: 'encoder-classifier', vocabSize: tokenizer.vocabSize, numClasses: 2, dModel: 16, numHeads: 2, numEncoderLayers: 1, dFf: 32, maxSeqLen: 12, dropout: 0 });
    const model = new TransformerModel(config, { seed: 1 });
    const task = classificationTask(examples.slice(100), examples.slice(0, 100), tokenizer, { batchSize: 32, seed: 1, maxLen: 12 });
    await train(model, task.nextBatch, { steps: 80, learningRate: 5e-3 });
    const { accuracy, predictions } = await task.evaluate(model);
    const rows = await classify(model, { ids: Int32Array.from([4, 4, 4, 5, 5, 0]), batchSize: 2, seqLen: 3, lengths: Int32Array.from([3, 2]) });
    model.dispose();
    expect(rows.map((r) => r.probabilities.reduce((a, p) => a + p, 0))).toEqual([expect.closeTo(1, 5), expect.closeTo(1, 5)]);
    expect(rows.map((r) => r.label)).toEqual(rows.map((r) => (r.probabilities[1]! > r.probabilities[0]! ? 1 : 0)));
    expect(predictions).toHaveLength(100);
    expect(accuracy).toBe(predictions.filter((p, i) => p === examples[i]!.label).length / 100);
    expect(accuracy).toBeGreaterThan(0.75);
  });
});

describe('imageClassificationTask', () => {
  // 4×4 single-channel images with values 0 … 15: the class is the brightest quadrant.
  const rng = createRng(5);
  const images = Array.from({ length: 300 }, () => {
    const label = rng.int(4);
    const features = Array.from({ length: 16 }, (_, i) => {
      const quadrant = 2 * Math.floor(i / 8) + Math.floor((i % 4) / 2);
      return Math.round(rng.next() * 6) + (quadrant === label ? 9 : 0);
    });
    return { features, label };
  });
  const config = createModelConfig({ preset: 'vit-classifier', numClasses: 4, imageSize: 4, patchSize: 2, pixelScale: 1 / 15, dModel: 16, numHeads: 2, numEncoderLayers: 1, dFf: 32, maxSeqLen: 5, dropout: 0 });

  it('gives [B, C, S, S] image batches in a step-determined order; images of the wrong size name the split and image', () => {
    const task = imageClassificationTask(images, images.slice(0, 10), config, { batchSize: 8, seed: 1 });
    const b = task.nextBatch(4);
    expect(b.input.pixels).toHaveLength(8 * 16);
    expect(b.labels).toHaveLength(8);
    expect(task.nextBatch(4).input.pixels).toEqual(b.input.pixels);
    expect(task.nextBatch(5).input.pixels).not.toEqual(b.input.pixels);
    const short = [...images.slice(0, 3), { features: [1, 2, 3], label: 0 }];
    expect(() => imageClassificationTask(images, short, config, { batchSize: 8, seed: 1 })).toThrow('dev image 3: 3 values, expected 16 (1 × 4 × 4)');
  });

  it('a vit-classifier learns the brightest quadrant; evaluate reports the accuracy of its argmax', async () => {
    const model = createModel(config, { seed: 2 });
    const task = imageClassificationTask(images.slice(60), images.slice(0, 60), config, { batchSize: 32, seed: 1 });
    await train(model, task.nextBatch, { steps: 60, learningRate: 1e-2 });
    const { accuracy, predictions } = await task.evaluate(model);
    model.dispose();
    expect(predictions).toHaveLength(60);
    expect(accuracy).toBe(predictions.filter((p, i) => p === images[i]!.label).length / 60);
    expect(accuracy).toBeGreaterThan(0.9);
  });
});

/** Records the rows of every `encode` the model runs (the loss pass and the decoding of each chunk). */
function encodedRows(model: AttendModel): number[] {
  const rows: number[] = [];
  const encode = model.encode.bind(model);
  model.encode = (...args: Parameters<typeof encode>) => {
    rows.push(args[0].batchSize);
    return encode(...args);
  };
  return rows;
}

describe('seq2seqTask', () => {
  it('evaluates in chunks of at most the given rows (default: the training batch), to the same metrics as one chunk', async () => {
    const tokenizer = CharTokenizer.fromAlphabet('abc');
    // Equal lengths: every chunk gets the same decoding budget, so the outputs cannot depend on the split.
    const rng = createRng(5);
    const pairs = Array.from({ length: 12 }, () => {
      const source = Array.from({ length: 4 }, () => 'abc'[Math.floor(rng.next() * 3)]).join('');
      return { source, target: [...source].reverse().join('') };
    });
    const config = createModelConfig({ preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0 });
    const model = createModel(config, { seed: 3 });
    await train(model, seq2seqTask(pairs, pairs, tokenizer, { batchSize: 12, seed: 1, maxSrcLen: 8, maxTgtLen: 6 }).nextBatch, { steps: 30, learningRate: 1e-2, logEvery: 100 });
    const task = seq2seqTask(pairs, pairs, tokenizer, { batchSize: 64, seed: 1, maxSrcLen: 8, maxTgtLen: 6 });
    const rows = encodedRows(model);
    const whole = await task.evaluate(model);
    expect(rows.splice(0)).toEqual([12, 12]); // the loss pass and the decoding, 12 pairs under the training batch of 64
    const split = await task.evaluate(model, undefined, 5);
    expect(rows).toEqual([5, 5, 5, 5, 2, 2]);
    expect(split.loss).toBeCloseTo(whole.loss, 5);
    expect(split.outputs).toEqual(whole.outputs);
    expect(split.bleu).toBe(whole.bleu);
    expect(split.exactMatch).toBe(whole.exactMatch);
    expect(new Set(whole.outputs).size).toBeGreaterThan(1); // outputs that follow their inputs, so a misplaced chunk shows
    await expect(task.evaluate(model, undefined, 0)).rejects.toThrow('evaluation batchSize: 0 is not allowed; expected an integer >= 1');
    model.dispose();
  });


  it("stops dev decoding at twice the chunk's longest target (plus 8), not at maxTgtLen", async () => {
    const tokenizer = CharTokenizer.fromAlphabet('abc');
    const pairs = [{ source: 'ab', target: 'ba' }, { source: 'abc', target: 'cba' }];
    // An untrained model rarely says eos: its outputs run to whatever budget it is given.
    const config = createModelConfig({ preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 8, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 16, maxSeqLen: 128, dropout: 0 });
    const model = createModel(config, { seed: 3 });
    const task = seq2seqTask(pairs, pairs, tokenizer, { batchSize: 2, seed: 1, maxSrcLen: 8, maxTgtLen: 120 });
    const { outputs } = await task.evaluate(model);
    const longest = Math.max(...outputs.map((o) => tokenizer.encode(o).length));
    expect(longest).toBeLessThanOrEqual(2 * 3 + 8);
    model.dispose();
  });
});

describe('captionTask', () => {
  it('evaluates in chunks of at most the given rows (default: the training batch), to the same metrics as one chunk', async () => {
    const tokenizer = WordTokenizer.fromCorpus(['one two three']);
    const words = ['one', 'two', 'three'];
    const rng = createRng(7);
    // Captions of one length, as the decoding budget is the config's, not the chunk's.
    const images = Array.from({ length: 12 }, () => ({ pixels: Float32Array.from({ length: 4 * 6 }, () => rng.next()), caption: `${words[Math.floor(rng.next() * 3)]} ${words[Math.floor(rng.next() * 3)]}` }));
    const config = createModelConfig({ preset: 'image-captioner', vocabSize: tokenizer.vocabSize, dModel: 8, featureSize: 6, imageHeight: 4, imageWidth: 6, patchSize: 2, patchStride: 2, maxSeqLen: 4, dropout: 0 });
    const model = createModel(config, { seed: 3 });
    const task = captionTask(images, images, tokenizer, config, { batchSize: 32, seed: 1 });
    const rows = encodedRows(model);
    const whole = await task.evaluate(model);
    expect(rows.splice(0)).toEqual([12, 12]);
    const split = await task.evaluate(model, undefined, 5);
    expect(rows).toEqual([5, 5, 5, 5, 2, 2]);
    expect(split.loss).toBeCloseTo(whole.loss, 5);
    expect(split.outputs).toEqual(whole.outputs);
    expect(split.bleu).toBe(whole.bleu);
    model.dispose();
  });
});
