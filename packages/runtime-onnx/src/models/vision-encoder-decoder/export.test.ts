// The vision-encoder-decoder export: encoder_model.onnx (pixel_values → last_hidden_state) and
// decoder_model_merged.onnx (caches, no encoder_attention_mask) equal the tfjs model they were
// exported from to 1e-4 under onnxruntime-node and onnxruntime-web — the encoder states, the
// teacher-forced logits in one run and one word at a time through the caches — for norm
// placements, positional encodings, score functions and pixel scales; captions through core's
// loop equal tfjs's; the folder holds transformers.js's VisionEncoderDecoderModel layout.

import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, createRng, parseSafetensors, WordTokenizer, type VisionEncoderDecoderConfig } from '@attend/core';
import { createModel, imageBatch, serializeCheckpoint, setupBackend, translate, type AttendModel } from '@attend/transformer';
import { EXPORT_FILES, exportFolderFiles } from '../../folder.js';
import type { OrtRuntime } from '../../session.js';
import { inspectModel } from '../../session.js';
import { perturbed, maxAbsDiff } from '../../test-utils/models.js';
import { SEQ2SEQ_FILES } from '../encoder-decoder/export.js';
import { exportVisionEncoderDecoder } from './export.js';
import { captionVisionImages, encodeImages, visionCaptionLogits } from './session.js';

const TOLERANCE = 1e-4;
const VOCAB = 9;

beforeAll(async () => {
  await setupBackend();
  ortWeb.env.wasm.numThreads = 1;
});

type Case = Partial<Omit<VisionEncoderDecoderConfig, 'preset'>>;
const CASES: Case[] = [
  { positional: 'learned', norm: 'pre', pixelScale: 1 / 16 },
  { positional: 'sinusoidal', norm: 'post', attention: 'general', tieEmbeddings: false },
  { positional: 'rope', norm: 'pre', attention: 'additive', activation: 'relu', numDecoderLayers: 1 },
];

function vedModel(c: Case, seed: number): AttendModel & { config: VisionEncoderDecoderConfig } {
  const config = createModelConfig({ preset: 'vision-encoder-decoder', vocabSize: VOCAB, dModel: 8, numHeads: 2, dFf: 16, numEncoderLayers: 2, numDecoderLayers: 2, maxSeqLen: 6, imageHeight: 4, imageWidth: 6, patchSize: 2, dropout: 0, ...c });
  return perturbed(createModel(config, { seed }), seed) as AttendModel & { config: VisionEncoderDecoderConfig };
}

const RUNTIMES: [string, OrtRuntime][] = [['onnxruntime-node', ort as unknown as OrtRuntime], ['onnxruntime-web', ortWeb as unknown as OrtRuntime]];

describe('vision-encoder-decoder: ONNX encoder + merged decoder equal tfjs', () => {
  it.each(CASES.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, index) => {
    const model = vedModel(c, index + 1);
    const config = model.config;
    const rng = createRng(30 + index);
    const [B, T] = [2, 5];
    const pixels = Float32Array.from({ length: B * 4 * 6 }, () => Math.round((rng.next() * 1) / config.pixelScale));
    const target = { ids: Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 1 : 3 + rng.int(VOCAB - 3))), batchSize: B, seqLen: T };
    const { tensors } = parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!);
    const exported = exportVisionEncoderDecoder(config, tensors);
    const source = imageBatch(pixels, B, config);
    const states = model.encode(source);
    const wantStates = Float32Array.from(states.dataSync());
    states.dispose();
    const forward = model.forward(source, target);
    const want = Float32Array.from(forward.logits.dataSync());
    forward.logits.dispose();
    try {
      for (const [name, runtime] of RUNTIMES) {
        const sessions = { encoder: await runtime.InferenceSession.create(exported.encoder), decoder: await runtime.InferenceSession.create(exported.decoder) };
        try {
          const got = await encodeImages(runtime, sessions.encoder, config, pixels, B);
          expect(got.dims, name).toEqual([B, 7, 8]);
          expect(maxAbsDiff(got.data as Float32Array, wantStates), `${name}: encoder states`).toBeLessThanOrEqual(TOLERANCE);
          expect(maxAbsDiff(await visionCaptionLogits(runtime, sessions, config, pixels, target), want), `${name}: logits in one run`).toBeLessThanOrEqual(TOLERANCE);
          expect(maxAbsDiff(await visionCaptionLogits(runtime, sessions, config, pixels, target, { cached: true }), want), `${name}: logits through the caches`).toBeLessThanOrEqual(TOLERANCE);
        } finally {
          await Promise.all([sessions.encoder.release(), sessions.decoder.release()]);
        }
      }
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('captions through core\'s loop as tfjs does (greedy and beam)', async () => {
    const model = vedModel({}, 2);
    const config = model.config;
    const rng = createRng(5);
    const count = 3;
    const pixels = Float32Array.from({ length: count * 24 }, () => rng.next());
    const { tensors } = parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!);
    const exported = exportVisionEncoderDecoder(config, tensors);
    const sessions = { encoder: await ort.InferenceSession.create(exported.encoder), decoder: await ort.InferenceSession.create(exported.decoder) };
    try {
      for (const strategy of [{ kind: 'greedy' }, { kind: 'beam', beamSize: 3 }] as const) {
        const want = await translate(model, imageBatch(pixels, count, config), { maxNewTokens: config.maxSeqLen - 1, strategy });
        expect(await captionVisionImages(ort as unknown as OrtRuntime, sessions, config, pixels, count, strategy)).toEqual(want);
        expect(want.some((ids) => ids.length > 1), JSON.stringify(want)).toBe(true);
      }
    } finally {
      await Promise.all([sessions.encoder.release(), sessions.decoder.release()]);
      model.dispose();
    }
  });
});

describe('vision-encoder-decoder: the export folder', () => {
  let model: AttendModel & { config: VisionEncoderDecoderConfig };
  beforeAll(() => {
    model = vedModel({}, 3);
  });
  afterAll(() => model.dispose());

  it('holds transformers.js\'s layout: config.json with vit and trocr sub-configs, preprocessor config, tokenizer, two graphs', () => {
    const tokenizer = WordTokenizer.fromCorpus(['one two three four five']);
    const checkpoint = { ...serializeCheckpoint({ model }), 'tokenizer.json': new TextEncoder().encode(JSON.stringify(tokenizer.toJSON())) };
    const files = exportFolderFiles(checkpoint);
    expect(Object.keys(files)).toEqual(expect.arrayContaining([EXPORT_FILES.config, EXPORT_FILES.preprocessorConfig, EXPORT_FILES.generationConfig, SEQ2SEQ_FILES.encoder, SEQ2SEQ_FILES.decoder, 'tokenizer.json']));
    const json = (name: string) => JSON.parse(new TextDecoder().decode(files[name])) as Record<string, unknown>;
    const config = json(EXPORT_FILES.config);
    expect(config).toMatchObject({
      model_type: 'vision-encoder-decoder',
      is_encoder_decoder: true,
      decoder_start_token_id: 1,
      encoder: { model_type: 'vit', hidden_size: 8, num_hidden_layers: 2, image_size: [4, 6], patch_size: 2, num_channels: 1 },
      decoder: { model_type: 'trocr', d_model: 8, decoder_layers: 2, decoder_attention_heads: 2, vocab_size: VOCAB },
    });
    expect(config.attend).toEqual(model.config);
    expect(json(EXPORT_FILES.preprocessorConfig)).toMatchObject({ do_resize: false, do_rescale: false, do_normalize: false });
    const encoder = inspectModel(files[SEQ2SEQ_FILES.encoder]!);
    expect(encoder.graph).toBe('vision-encoder');
    expect(encoder.info.inputs).toEqual(['pixel_values']);
    expect(encoder.info.outputs).toEqual(['last_hidden_state']);
    const decoder = inspectModel(files[SEQ2SEQ_FILES.decoder]!);
    expect(decoder.graph).toBe('vision-decoder');
    expect(decoder.info.inputs).not.toContain('encoder_attention_mask');
    expect(decoder.info.inputs).toEqual(expect.arrayContaining(['input_ids', 'encoder_hidden_states', 'past_key_values.1.encoder.value', 'use_cache_branch']));
    expect(decoder.info.outputs).toEqual(expect.arrayContaining(['logits', 'present.0.decoder.key', 'present.1.encoder.value']));
  });
});
