// Hard attention's two test-time readings (Xu et al. §4.1: the arg-max location, or the expected
// context) through a hard captioner's export folder: the decoder step's `use_expectation` input
// makes the ONNX graphs equal tfjs's `hardInference` for both, on onnxruntime-node and -web —
// the teacher-forced logits and α, and greedy captions through the kind's Translator — and the
// two readings give different logits (the input is not ignored). Refusals: a captioner without
// hard attention, and the expectation on a decoder step without the input (an older export).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createModelConfig, createRng, translateWith, WordTokenizer, HARD_INFERENCES, type ImageCaptionerConfig } from '@attend/core';
import { CaptionerModel, imageBatch, serializeCheckpoint, setupBackend, translate } from '@attend/transformer';
import type { InferenceSession } from 'onnxruntime-common';
import { exportFolderFiles } from '../../folder.js';
import { captionFolderLogits, openExport } from '../../node.js';
import type { OnnxModel } from '../../session.js';
import { onnxCaptioner } from '../../translate.js';
import { failure, maxAbsDiff, perturbed, writeFiles } from '../../test-utils/models.js';
import { captionerLogits, captionerTranslator, USE_EXPECTATION } from './session.js';

const TOLERANCE = 1e-4;
const WORDS = ['zero', 'one', 'two', 'three', 'four'];
const tokenizer = WordTokenizer.fromCorpus(WORDS);
const captioner = (visualAttention: 'soft' | 'hard'): ImageCaptionerConfig =>
  createModelConfig({ preset: 'image-captioner', vocabSize: tokenizer.vocabSize, dModel: 8, featureSize: 6, imageHeight: 7, imageWidth: 11, patchSize: 3, patchStride: 2, maxSeqLen: 6, dropout: 0, visualAttention }) as ImageCaptionerConfig;

let root = '';
beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-hard-inference-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A perturbed model of `config` written as an export folder under `name`. */
async function exported(config: ImageCaptionerConfig, name: string): Promise<{ model: CaptionerModel; dir: string }> {
  const model = perturbed(new CaptionerModel(config, { seed: 6 }), 6);
  const dir = join(root, name);
  await writeFiles(dir, exportFolderFiles(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() })));
  return { model, dir };
}

describe("hard attention's test-time reading on the ONNX decoder step", () => {
  it.each(['cpu', 'wasm'] as const)('%s: argmax and expectation each equal tfjs within 1e-4 (logits, α, greedy captions); they differ from each other', async (device) => {
    const config = captioner('hard');
    const { model, dir } = await exported(config, `hard-${device}`);
    const rng = createRng(8);
    const [B, T] = [4, 5];
    const pixels = Float32Array.from({ length: B * 7 * 11 }, () => rng.next());
    const target = { ids: Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? config.bosTokenId : tokenizer.vocabSize - WORDS.length + rng.int(WORDS.length))), batchSize: B, seqLen: T };
    const opened = await openExport(dir, { device });
    try {
      const { encoder, decoder } = opened.sessions as { encoder: OnnxModel; decoder: OnnxModel };
      expect(decoder.inputNames).toContain(USE_EXPECTATION);
      const { ort } = encoder.ortSession;
      const raw = { encoder: encoder.ortSession.session, decoder: decoder.ortSession.session };
      const logits: Record<string, Float32Array> = {};
      for (const hardInference of HARD_INFERENCES) {
        model.hardInference = hardInference;
        const got = await captionerLogits(ort, raw, config, pixels, target, { hardInference });
        const want = model.forward(imageBatch(pixels, B, config), target, { returnAttention: true });
        expect(maxAbsDiff(got.logits, want.logits.dataSync()), `${hardInference} logits`).toBeLessThanOrEqual(TOLERANCE);
        expect(maxAbsDiff(got.attention!, want.attention!.cross[0]!.dataSync()), `${hardInference} α`).toBeLessThanOrEqual(TOLERANCE);
        want.logits.dispose();
        want.attention!.cross.forEach((t) => t.dispose());
        logits[hardInference] = got.logits;
        const options = { maxNewTokens: config.maxSeqLen - 1 };
        const words = await translateWith(onnxCaptioner({ encoder, decoder }, { hardInference }), { pixels, batchSize: B }, options);
        expect(words, hardInference).toEqual(await translate(model, imageBatch(pixels, B, config), options));
      }
      expect(maxAbsDiff(logits.argmax!, logits.expectation!)).toBeGreaterThan(1e-3);
      // Without the option the graph reads the arg-max, as before the input existed.
      expect(maxAbsDiff((await captionerLogits(ort, raw, config, pixels, target)).logits, logits.argmax!)).toBe(0);
      // ./node's captionFolderLogits (the parity check of `attend export`) passes the reading on.
      if (device === 'cpu') for (const hardInference of HARD_INFERENCES) expect((await captionFolderLogits(dir, pixels, target, { hardInference })).logits).toEqual(logits[hardInference]);
    } finally {
      await opened.release();
      model.dispose();
    }
  }, 60_000);

  it('refuses a captioner without hard attention, and the expectation on a decoder step without the input, in one line', async () => {
    const { model, dir } = await exported(captioner('soft'), 'soft');
    const opened = await openExport(dir);
    try {
      const sessions = opened.sessions as { encoder: OnnxModel; decoder: OnnxModel };
      expect(sessions.decoder.inputNames).not.toContain(USE_EXPECTATION);
      const message = await failure(Promise.resolve().then(() => onnxCaptioner(sessions, { hardInference: 'argmax' })), ConfigError);
      expect(message).toBe('hardInference: argmax needs an image-captioner with hard attention; this one has soft attention');
    } finally {
      await opened.release();
      model.dispose();
    }
    const folderMessage = await failure(captionFolderLogits(dir, new Float32Array(77), { ids: Int32Array.of(1), batchSize: 1, seqLen: 1 }, { hardInference: 'expectation' }), ConfigError);
    expect(folderMessage).toBe('hardInference: expectation needs an image-captioner with hard attention; this one has soft attention');
    const ort = await import('onnxruntime-node');
    const older = { inputNames: ['input_ids', 'encoder_hidden_states', 'hidden_state', 'cell_state'] } as unknown as InferenceSession;
    const message = await failure(Promise.resolve().then(() => captionerTranslator(ort, { encoder: older, decoder: older }, captioner('hard'), { hardInference: 'expectation' })), ConfigError);
    expect(message).toBe("hardInference: expectation: this export's decoder step has no 'use_expectation' input (it reads the arg-max only); export the checkpoint again");
    expect(() => captionerTranslator(ort, { encoder: older, decoder: older }, captioner('hard'), { hardInference: 'argmax' })).not.toThrow();
  });
});
