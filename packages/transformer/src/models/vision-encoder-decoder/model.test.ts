// The Transformer captioner: its weights are the patch encoder's and the decoder's (no text
// encoder), its decoder is causal (a later word never changes an earlier word's logits), padding
// a caption leaves the real words' logits alone, the encoder reads the image (changing one patch
// changes the logits), greedy decoding goes through core's loop, and a short training on digit
// scenes learns single-digit captions well above chance.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createModelConfig, digitScenes, readCsvClassification, WordTokenizer, DIGIT_WORDS, type VisionEncoderDecoderConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { captionTask, imageBatch } from '../../caption-task.js';
import { translate } from '../../generate.js';
import type { TokenBatch } from '../../model.js';
import { createModel } from '../../models.js';
import { train } from '../../trainer.js';
import { randomizeParams } from '../../test-utils/weights.js';
import { VisionEncoderDecoderModel } from './model.js';

const DIGITS = fileURLToPath(new URL('../../../../../../shared/data/digits8x8.csv', import.meta.url));

afterEach(() => {
  tf.disposeVariables();
});

const tiny = (overrides: Partial<VisionEncoderDecoderConfig> = {}): VisionEncoderDecoderConfig =>
  createModelConfig({ preset: 'vision-encoder-decoder', vocabSize: 9, dModel: 16, numHeads: 2, dFf: 32, numEncoderLayers: 1, numDecoderLayers: 2, maxSeqLen: 6, imageHeight: 4, imageWidth: 8, patchSize: 2, dropout: 0, ...overrides });

/** The model's logits [B, T, V] for images and decoder inputs, read out. */
function logitsOf(model: VisionEncoderDecoderModel, pixels: Float32Array, target: TokenBatch): Float32Array {
  const { logits } = model.forward(imageBatch(pixels, target.batchSize, model.config), target);
  const out = logits.dataSync() as Float32Array;
  logits.dispose();
  return Float32Array.from(out);
}

function seededModel(config: VisionEncoderDecoderConfig): VisionEncoderDecoderModel {
  const model = createModel(config, { seed: 3 }) as VisionEncoderDecoderModel;
  randomizeParams(model.namedParams(), 3, 0.3);
  return model;
}

const image = (seed: number, n = 32): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 17) / 16);

describe('vision-encoder-decoder', () => {
  it('holds the patch encoder and the decoder, and no text encoder', async () => {
    await setupBackend(['cpu']);
    const model = createModel(tiny(), { seed: 1 });
    expect(model).toBeInstanceOf(VisionEncoderDecoderModel);
    const names = model.namedParams().map((p) => p.name);
    expect(names).toContain('embeddings.patch_embeddings.weight');
    expect(names).toContain('embeddings.cls_token');
    expect(names).toContain('encoder.embed_positions.weight');
    expect(names).toContain('decoder.layers.1.encoder_attn.k_proj.weight');
    expect(names).toContain('embed_tokens.weight');
    expect(names.filter((n) => n.startsWith('encoder.layers.'))).not.toHaveLength(0);
    expect(names.some((n) => n.startsWith('encoder.layers.1.'))).toBe(false); // one encoder layer, not the decoder's two
    expect(new Set(names).size).toBe(names.length);
    // The encoder's positions cover the 2 × 4 patches and CLS; the decoder's the caption.
    const shape = (name: string) => model.namedParams().find((p) => p.name === name)!.variable.shape;
    expect(shape('encoder.embed_positions.weight')).toEqual([9, 16]);
    expect(shape('decoder.embed_positions.weight')).toEqual([6, 16]);
  });

  it('is causal: changing a later word leaves the earlier words\' logits unchanged', async () => {
    await setupBackend(['cpu']);
    const model = seededModel(tiny());
    const pixels = image(1);
    const target = (ids: number[]): TokenBatch => ({ ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length });
    const a = logitsOf(model, pixels, target([1, 4, 5, 6, 7]));
    const b = logitsOf(model, pixels, target([1, 4, 5, 8, 3]));
    const V = 9;
    expect(Array.from(b.slice(0, 3 * V))).toEqual(Array.from(a.slice(0, 3 * V)));
    expect(b.slice(3 * V).some((x, i) => Math.abs(x - a[3 * V + i]!) > 1e-4)).toBe(true);
  });

  it('padding a caption leaves the real words\' logits alone; batched rows equal single rows', async () => {
    await setupBackend(['cpu']);
    const model = seededModel(tiny());
    const V = 9;
    const pixels = new Float32Array([...image(1), ...image(2)]);
    const batched = logitsOf(model, pixels, { ids: Int32Array.from([1, 4, 5, 6, 1, 7, 0, 0]), batchSize: 2, seqLen: 4, lengths: Int32Array.from([4, 2]) });
    const first = logitsOf(model, image(1), { ids: Int32Array.from([1, 4, 5, 6]), batchSize: 1, seqLen: 4 });
    const second = logitsOf(model, image(2), { ids: Int32Array.from([1, 7]), batchSize: 1, seqLen: 2 });
    const close = (x: Float32Array, y: Float32Array) => Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i]!)));
    expect(close(batched.slice(0, 4 * V), first)).toBeLessThan(1e-5);
    expect(close(batched.slice(4 * V, 6 * V), second)).toBeLessThan(1e-5);
  });

  it('reads the image: changing one patch changes the logits, and the CLS is part of the memory', async () => {
    await setupBackend(['cpu']);
    const model = seededModel(tiny());
    const target: TokenBatch = { ids: Int32Array.from([1, 4]), batchSize: 1, seqLen: 2 };
    const pixels = image(1);
    const changed = pixels.slice();
    changed[6] = changed[6]! + 1; // row 0, column 6: the last patch of the top row
    const a = logitsOf(model, pixels, target);
    const b = logitsOf(model, changed, target);
    expect(a.some((x, i) => Math.abs(x - b[i]!) > 1e-4)).toBe(true);
    const states = model.encode(imageBatch(pixels, 1, model.config));
    expect(states.shape).toEqual([1, 9, 16]);
    states.dispose();
  });

  it('decodes through core\'s loop: greedy captions equal the teacher-forced arg-max, beam returns rows', async () => {
    await setupBackend(['cpu']);
    const model = seededModel(tiny());
    const pixels = new Float32Array([...image(1), ...image(2)]);
    const greedy = await translate(model, imageBatch(pixels, 2, model.config), { maxNewTokens: 5 });
    for (let b = 0; b < 2; b++) {
      const ids = [1, ...greedy[b]!];
      const logits = logitsOf(model, pixels.slice(b * 32, (b + 1) * 32), { ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length });
      const V = 9;
      const argmax = Array.from({ length: greedy[b]!.length }, (_, t) => {
        const row = Array.from(logits.slice(t * V, (t + 1) * V));
        return row.indexOf(Math.max(...row));
      });
      expect(argmax).toEqual(greedy[b]);
    }
    const beam = await translate(model, imageBatch(pixels, 2, model.config), { maxNewTokens: 5, strategy: { kind: 'beam', beamSize: 3 } });
    expect(beam).toHaveLength(2);
  });
});

describe.skipIf(!existsSync(DIGITS))('a short training on digit scenes', () => {
  it('the loss falls and single-digit scenes are captioned well above chance', async () => {
    await setupBackend(['wasm', 'cpu']);
    const rows = await readCsvClassification(DIGITS);
    const shape = { height: 12, width: 24, minDigits: 1, maxDigits: 1 };
    const toImages = (scenes: ReturnType<typeof digitScenes>) => scenes.map((s) => ({ pixels: s.pixels, caption: s.caption }));
    const trainImages = toImages(digitScenes(rows.slice(0, 1400), { count: 2000, seed: 1, ...shape }));
    const testImages = toImages(digitScenes(rows.slice(1400), { count: 200, seed: 2, ...shape }));
    const tokenizer = WordTokenizer.fromCorpus(DIGIT_WORDS.slice());
    const config = createModelConfig({
      preset: 'vision-encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 32, numHeads: 4, dFf: 64, numEncoderLayers: 1, numDecoderLayers: 1,
      imageHeight: 12, imageWidth: 24, patchSize: 4, maxSeqLen: 4, dropout: 0,
    });
    const model = createModel(config, { seed: 1 });
    const task = captionTask(trainImages, testImages, tokenizer, config, { batchSize: 32, seed: 1 });
    const before = await task.evaluate(model);
    await train(model, task.nextBatch, { steps: 400, learningRate: 3e-3, logEvery: 1000 });
    const after = await task.evaluate(model);
    expect(after.loss).toBeLessThan(before.loss - 1);
    // Chance is 1 in 10.
    expect(after.exactMatch).toBeGreaterThan(0.25);
  }, 300_000);
});
