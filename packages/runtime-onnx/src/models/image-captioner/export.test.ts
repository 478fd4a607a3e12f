// Parity of the image-captioner ONNX export (encoder graph with a Conv node; one-step decoder
// graph with an LSTM node) with the tfjs CaptionerModel it was exported from: for each kind of
// attention, random weights and images, the feature grid, the initial states, and step by step
// (teacher forcing) the logits and attention weights agree to 1e-4 under onnxruntime-node.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, createRng, featureLocations, parseSafetensors, VISUAL_ATTENTIONS } from '@attend/core';
import { CaptionerModel, imageBatch, serializeCheckpoint, setupBackend, translate } from '@attend/transformer';
import { exportCaptioner } from './export.js';
import { captionImages } from './session.js';
import { maxAbsDiff, perturbed } from '../../test-utils/models.js';

const TOLERANCE = 1e-4;
const VOCAB = 9;

beforeAll(async () => {
  await setupBackend();
});

const int64 = (data: ArrayLike<number>, dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(Array.from(data), (x) => BigInt(x)), dims);

describe('image-captioner: ONNX encoder + decoder step equal tfjs', () => {
  it.each(VISUAL_ATTENTIONS.map((a, i) => [a, i] as const))('%s attention', async (visualAttention, index) => {
    const config = createModelConfig({ preset: 'image-captioner', vocabSize: VOCAB, dModel: 8, featureSize: 6, imageHeight: 7, imageWidth: 11, patchSize: 3, patchStride: 2, maxSeqLen: 6, dropout: 0, pixelScale: 0.5, visualAttention });
    const model = perturbed(new CaptionerModel(config, { seed: index }), index);
    const rng = createRng(40 + index);
    const [B, T, H, W, d] = [2, 5, 7, 11, 8];
    const L = featureLocations(config);
    const pixels = Float32Array.from({ length: B * H * W }, () => 2 * rng.next());
    const source = { ids: new Int32Array(0), batchSize: B, seqLen: L, pixels };
    const target = { ids: Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 1 : 3 + rng.int(VOCAB - 3))), batchSize: B, seqLen: T };
    const { tensors } = parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!);
    const exported = exportCaptioner(config, tensors);
    const encoder = await ort.InferenceSession.create(exported.encoder);
    const decoder = await ort.InferenceSession.create(exported.decoder);
    try {
      const expected = model.forward(source, target, { returnAttention: true });
      const logits = expected.logits.arraySync() as number[][][];
      const cross = expected.attention!.cross[0]?.arraySync() as number[][][][] | undefined;
      const featuresT = model.encode(source);
      const initial = model.initialState(featuresT);
      const enc = await encoder.run({ pixel_values: new ort.Tensor('float32', pixels, [B, 1, H, W]) });
      expect(maxAbsDiff(enc.last_hidden_state!.data as Float32Array, featuresT.dataSync())).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(enc.decoder_initial_state!.data as Float32Array, initial.h.dataSync())).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(enc.decoder_initial_cell_state!.data as Float32Array, initial.c!.dataSync())).toBeLessThanOrEqual(TOLERANCE);
      let hidden = enc.decoder_initial_state!;
      let cell = enc.decoder_initial_cell_state!;
      for (let t = 0; t < T; t++) {
        const ids = Array.from({ length: B }, (_, b) => target.ids[b * T + t]!);
        // A hard step also takes how it reads the grid: false, the arg-max (tfjs's default hardInference).
        const reading: Record<string, ort.Tensor> = visualAttention === 'hard' ? { use_expectation: new ort.Tensor('bool', Uint8Array.of(0), [1]) } : {};
        const out = await decoder.run({ input_ids: int64(ids, [B, 1]), encoder_hidden_states: enc.last_hidden_state!, hidden_state: hidden, cell_state: cell, ...reading });
        const got = out.logits!.data as Float32Array;
        const want = logits.flatMap((row) => row[t]!);
        expect(maxAbsDiff(got, want), `logits at step ${t}`).toBeLessThanOrEqual(TOLERANCE);
        if (cross) {
          const weights = out.attention_weights!.data as Float32Array;
          expect(maxAbsDiff(weights, cross.flatMap((row) => row[0]![t]!)), `attention at step ${t}`).toBeLessThanOrEqual(TOLERANCE);
        } else {
          expect(out.attention_weights).toBeUndefined();
        }
        hidden = out.present_hidden_state!;
        cell = out.present_cell_state!;
      }
      expect(d).toBe(config.dModel);
    } finally {
      await Promise.all([encoder.release(), decoder.release()]);
      model.dispose();
    }
  });
});

describe('image-captioner: captions through core\'s decoding loop on the ONNX graphs', () => {
  it.each([['soft', { kind: 'greedy' }], ['hard', { kind: 'beam', beamSize: 3 }], ['none', { kind: 'beam', beamSize: 2 }]] as const)('%s attention, %j: the same words as tfjs, α per word', async (visualAttention, strategy) => {
    const config = createModelConfig({ preset: 'image-captioner', vocabSize: VOCAB, dModel: 8, featureSize: 6, imageHeight: 7, imageWidth: 11, patchSize: 3, patchStride: 2, maxSeqLen: 6, dropout: 0, visualAttention });
    const model = perturbed(new CaptionerModel(config, { seed: 9 }), 9);
    const rng = createRng(77);
    const count = 3;
    const pixels = Float32Array.from({ length: count * 7 * 11 }, () => rng.next());
    const { tensors } = parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!);
    const exported = exportCaptioner(config, tensors);
    const sessions = { encoder: await ort.InferenceSession.create(exported.encoder), decoder: await ort.InferenceSession.create(exported.decoder) };
    try {
      const want = await translate(model, imageBatch(pixels, count, config), { maxNewTokens: config.maxSeqLen - 1, strategy });
      const got = await captionImages(ort, sessions, config, pixels, count, strategy);
      expect(got.map((c) => c.ids)).toEqual(want);
      expect(want.some((ids) => ids.length > 0)).toBe(true);
      for (const c of got) {
        if (visualAttention === 'none') expect(c.attention).toBeUndefined();
        else {
          expect(c.attention!.length).toBeGreaterThanOrEqual(c.ids.length);
          for (const alpha of c.attention!) expect(alpha.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        }
      }
    } finally {
      await Promise.all([sessions.encoder.release(), sessions.decoder.release()]);
      model.dispose();
    }
  });
});
