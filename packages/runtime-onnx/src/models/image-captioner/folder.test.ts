// An image-captioner's export folder opened the way every tool opens one (openExport: the files
// checked, then sessions on onnxruntime-node or onnxruntime-web): for none, soft and hard
// attention, with random weights, the teacher-forced logits and α of both backends equal tfjs
// to 1e-4; and captioning through the kind's Translator (RUNTIME_KINDS' `captioner`, core's
// decoding loop) gives tfjs's words, with each step's α equal to the tfjs step's.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createModelConfig, createRng, decodeRows, translateDecodeOptions, translateWith, WordTokenizer, type DecodedRow, type DecodeStrategy, type Translator } from '@attend/core';
import { CaptionerModel, imageBatch, serializeCheckpoint, setupBackend, tfjsTranslator, translate } from '@attend/transformer';
import { exportFolderFiles } from '../../folder.js';
import { captionFolderLogits, openExport } from '../../node.js';
import type { OnnxModel } from '../../session.js';
import { onnxCaptioner } from '../../translate.js';
import { failure, makeModel, maxAbsDiff, perturbed, writeFiles } from '../../test-utils/models.js';
import { CAPTION_ATTENTION, captionerLogits } from './session.js';

const TOLERANCE = 1e-4;
const WORDS = ['zero', 'one', 'two', 'three', 'four'];

let root = '';
beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-captioner-folder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The best row of each image with its steps' outputs (which follow the beams). */
async function decoded<S extends { batchSize: number }>(translator: Translator<S>, source: S, maxSeqLen: number, strategy: DecodeStrategy): Promise<DecodedRow[]> {
  const { step, release } = await translator.start(source);
  try {
    return await decodeRows(step, translateDecodeOptions(translator.config, source.batchSize, { maxNewTokens: maxSeqLen - 1 }), strategy);
  } finally {
    release?.();
  }
}

describe('image-captioner export folder on onnxruntime-node and -web', () => {
  it.each([
    ['none', 'cpu'],
    ['soft', 'cpu'],
    ['hard', 'cpu'],
    ['none', 'wasm'],
    ['soft', 'wasm'],
    ['hard', 'wasm'],
  ] as const)('%s attention on %s: logits and α within 1e-4 of tfjs; the same captions, α step by step', async (visualAttention, device) => {
    const tokenizer = WordTokenizer.fromCorpus(WORDS);
    const config = createModelConfig({ preset: 'image-captioner', vocabSize: tokenizer.vocabSize, dModel: 8, featureSize: 6, imageHeight: 7, imageWidth: 11, patchSize: 3, patchStride: 2, maxSeqLen: 6, dropout: 0, visualAttention });
    const model = perturbed(new CaptionerModel(config, { seed: 3 }), 3);
    const dir = join(root, `${visualAttention}-${device}`);
    await writeFiles(dir, exportFolderFiles(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() })));
    const rng = createRng(5);
    const [B, T] = [3, 5];
    const pixels = Float32Array.from({ length: B * 7 * 11 }, () => rng.next());
    const target = { ids: Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? config.bosTokenId : tokenizer.vocabSize - WORDS.length + rng.int(WORDS.length))), batchSize: B, seqLen: T };
    const opened = await openExport(dir, { device });
    try {
      expect(opened.device).toBe(device);
      const { encoder, decoder } = opened.sessions as { encoder: OnnxModel; decoder: OnnxModel };
      const { ort } = encoder.ortSession;
      const got = await captionerLogits(ort, { encoder: encoder.ortSession.session, decoder: decoder.ortSession.session }, config, pixels, target);
      const want = model.forward(imageBatch(pixels, B, config), target, { returnAttention: true });
      expect(maxAbsDiff(got.logits, want.logits.dataSync())).toBeLessThanOrEqual(TOLERANCE);
      if (visualAttention === 'none') expect(got.attention).toBeUndefined();
      else expect(maxAbsDiff(got.attention!, want.attention!.cross[0]!.dataSync())).toBeLessThanOrEqual(TOLERANCE);
      want.logits.dispose();
      want.attention?.cross.forEach((t) => t.dispose());
      // ./node's captionFolderLogits (the parity check of `attend export`) finds captionerLogits through the kind's RuntimeKind.
      if (device === 'cpu') expect(await captionFolderLogits(dir, pixels, target)).toEqual(got);

      const source = { pixels, batchSize: B };
      const captioner = onnxCaptioner({ encoder, decoder });
      for (const strategy of [{ kind: 'greedy' }, { kind: 'beam', beamSize: 3 }] as const) {
        const words = await translateWith(captioner, source, { maxNewTokens: config.maxSeqLen - 1, strategy });
        expect(words).toEqual(await translate(model, imageBatch(pixels, B, config), { maxNewTokens: config.maxSeqLen - 1, strategy }));
      }
      // Beam search reorders and repeats the rows: each step's α depends on the LSTM state carried along them.
      for (const strategy of [{ kind: 'greedy' }, { kind: 'beam', beamSize: 3 }] as const) {
        const onnxRows = await decoded(captioner, source, config.maxSeqLen, strategy);
        const tfjsRows = await decoded(tfjsTranslator(model, { attention: true }), imageBatch(pixels, B, config), config.maxSeqLen, strategy);
        expect(onnxRows.some((r) => r.ids.length > 1)).toBe(true);
        onnxRows.forEach((row, b) => {
          expect(row.ids).toEqual(tfjsRows[b]!.ids);
          expect(row.steps).toHaveLength(tfjsRows[b]!.steps.length);
          row.steps.forEach((s, t) => {
            if (visualAttention === 'none') return expect(s[CAPTION_ATTENTION]).toBeUndefined();
            expect(s[CAPTION_ATTENTION]!.dims).toEqual(tfjsRows[b]!.steps[t]![CAPTION_ATTENTION]!.dims);
            expect(maxAbsDiff(s[CAPTION_ATTENTION]!.data, tfjsRows[b]!.steps[t]![CAPTION_ATTENTION]!.data), `${strategy.kind}: image ${b}, word ${t}`).toBeLessThanOrEqual(TOLERANCE);
          });
        });
      }
    } finally {
      await opened.release();
      model.dispose();
    }
  }, 60_000);

  it('captionFolderLogits refuses a text export in one line naming itself and the kind', async () => {
    const dir = join(root, 'text');
    // config.json alone: the kind is refused before any other file is read.
    await writeFiles(dir, { 'config.json': new TextEncoder().encode(JSON.stringify({ attend: makeModel({ preset: 'encoder-decoder' }, 1).config })) });
    const message = await failure(captionFolderLogits(dir, new Float32Array(77), { ids: new Int32Array(5), batchSize: 1, seqLen: 5 }), ConfigError);
    expect(message).toMatch(/^preset: captionFolderLogits needs 'image-captioner' or 'vision-encoder-decoder', got 'encoder-decoder'$/);
  });

  it('a text export is refused by onnxCaptioner with a line naming what it needs', async () => {
    const fake = { config: { preset: 'rnn-seq2seq' } } as unknown as OnnxModel;
    expect(() => onnxCaptioner({ encoder: fake, decoder: fake })).toThrow(/captioning needs a captioner's export; this model is a 'rnn-seq2seq'/);
  });
});
