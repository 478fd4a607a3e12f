// The vision-encoder-decoder's step function with attention (an export made withAttention):
// each generated word's cross- and decoder self-attention, read from core's decoding loop,
// equal the tfjs Translator's to 1e-4 under onnxruntime-node and onnxruntime-web, for greedy
// captions and beam search (whose rows follow their parents' images); an export without
// attention gives logits only.

import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, createRng, decodeRows, parseSafetensors, translateDecodeOptions, type DecodeStrategy, type DecodedRow, type VisionEncoderDecoderConfig } from '@attend/core';
import { createModel, imageBatch, serializeCheckpoint, setupBackend, tfjsTranslator, type AttendModel } from '@attend/transformer';
import type { OrtRuntime } from '../../session.js';
import { maxAbsDiff, perturbed } from '../../test-utils/models.js';
import { exportVisionEncoderDecoder } from './export.js';
import { visionCaptionStepFunction } from './session.js';

const TOLERANCE = 1e-4;
const RUNTIMES: [string, OrtRuntime][] = [['onnxruntime-node', ort as unknown as OrtRuntime], ['onnxruntime-web', ortWeb as unknown as OrtRuntime]];

let model: AttendModel & { config: VisionEncoderDecoderConfig };
let pixels: Float32Array;
const count = 2;

beforeAll(async () => {
  await setupBackend();
  ortWeb.env.wasm.numThreads = 1;
  const config = createModelConfig({ preset: 'vision-encoder-decoder', vocabSize: 9, dModel: 8, numHeads: 2, dFf: 16, numEncoderLayers: 2, numDecoderLayers: 2, maxSeqLen: 6, imageHeight: 4, imageWidth: 6, patchSize: 2, dropout: 0 });
  model = perturbed(createModel(config, { seed: 4 }), 4) as typeof model;
  const rng = createRng(9);
  pixels = Float32Array.from({ length: count * 24 }, () => rng.next());
});

afterAll(() => model.dispose());

const exported = (withAttention: boolean) => exportVisionEncoderDecoder(model.config, parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!).tensors, { withAttention });

async function tfjsRows(strategy: DecodeStrategy): Promise<DecodedRow[]> {
  const { step, release } = await tfjsTranslator(model, { attention: true }).start(imageBatch(pixels, count, model.config));
  try {
    return await decodeRows(step, translateDecodeOptions(model.config, count, { maxNewTokens: model.config.maxSeqLen - 1 }), strategy);
  } finally {
    release?.();
  }
}

describe('vision-encoder-decoder: attention per generated word', () => {
  it.each([[{ kind: 'greedy' }], [{ kind: 'beam', beamSize: 3 }]] as [DecodeStrategy][])('%j: the ONNX steps carry the tfjs attention rows', async (strategy) => {
    const want = await tfjsRows(strategy);
    expect(want.some((r) => r.steps.length > 1)).toBe(true);
    const graphs = exported(true);
    for (const [name, runtime] of RUNTIMES) {
      const sessions = { encoder: await runtime.InferenceSession.create(graphs.encoder), decoder: await runtime.InferenceSession.create(graphs.decoder) };
      try {
        const step = await visionCaptionStepFunction(runtime, sessions, model.config, pixels, count);
        const got = await decodeRows(step, translateDecodeOptions(model.config, count, { maxNewTokens: model.config.maxSeqLen - 1 }), strategy);
        expect(got.map((r) => r.ids), name).toEqual(want.map((r) => r.ids));
        got.forEach((row, r) =>
          row.steps.forEach((outputs, t) => {
            const names = Object.keys(want[r]!.steps[t]!).sort();
            expect(Object.keys(outputs).sort(), `${name} row ${r} step ${t}`).toEqual(names);
            expect(names).toEqual(['cross_attentions.0', 'cross_attentions.1', 'decoder_attentions.0', 'decoder_attentions.1']);
            for (const key of names) {
              // A row's cross-attention: [heads, N + 1] over the CLS state and the 2 × 3 patches.
              if (key.startsWith('cross')) expect(outputs[key]!.dims).toEqual([2, 7]);
              expect(maxAbsDiff(outputs[key]!.data, want[r]!.steps[t]![key]!.data), `${name} row ${r} step ${t} ${key}`).toBeLessThanOrEqual(TOLERANCE);
            }
          }),
        );
      } finally {
        await Promise.all([sessions.encoder.release(), sessions.decoder.release()]);
      }
    }
  }, 60_000);

  it('an export without attention gives logits only', async () => {
    const graphs = exported(false);
    const sessions = { encoder: await ort.InferenceSession.create(graphs.encoder), decoder: await ort.InferenceSession.create(graphs.decoder) };
    try {
      const step = await visionCaptionStepFunction(ort as unknown as OrtRuntime, sessions, model.config, pixels, count);
      const [row] = await decodeRows(step, translateDecodeOptions(model.config, count, { maxNewTokens: 2 }));
      expect(row!.steps.every((s) => Object.keys(s).length === 0)).toBe(true);
    } finally {
      await Promise.all([sessions.encoder.release(), sessions.decoder.release()]);
    }
  });
});
