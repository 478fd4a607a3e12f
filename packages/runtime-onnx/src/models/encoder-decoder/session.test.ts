// The seq2seq export (encoder_model.onnx + decoder_model_merged.onnx) and generation over it:
// the encoder output equals tfjs `encode`; step-by-step decoding with both caches (first step
// use_cache_branch false, then true) gives the tfjs full-forward logits at every step, for
// several score functions, positional encodings, local windows and pre/post norm, with a
// right-padded source; greedy, sampling and beam search over ORT equal tfjs `translate` (so
// both caches follow beam search's row reordering); beam 1 equals greedy.

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, type ModelConfigInput } from '@attend/core';
import { setupBackend, tfjsTranslator, translate as tfjsTranslate, type TransformerModel } from '@attend/transformer';
import { createOnnxModel } from '../../node.js';
import { createOnnxModel as createWebModel } from '../../web.js';
import { exportSeq2SeqCheckpointFiles } from './export.js';
import { forwardInputNames } from '../../graph-io.js';
import { checkSeq2SeqModel, seq2seqTranslator, type OnnxSeq2SeqModel, type Seq2SeqCache } from './session.js';
import { translate } from '../../translate.js';
import { checkpointFiles, makeModel, MAX_LEN, maxAbsDiff, randomBatch, VOCAB } from '../../test-utils/models.js';

const TOLERANCE = 1e-4;
type Case = Partial<ModelConfigInput> & { preset: 'encoder-decoder' };

const CASES: Case[] = [
  { preset: 'encoder-decoder', positional: 'rope', attention: 'scaled_dot' },
  { preset: 'encoder-decoder', positional: 'alibi', attention: 'additive', norm: 'post' },
  { preset: 'encoder-decoder', positional: 'learned', attention: 'cosine', tieEmbeddings: false },
  { preset: 'encoder-decoder', positional: 'sinusoidal', attention: 'general', activation: 'relu' },
  { preset: 'encoder-decoder', positional: 'rope', attention: 'dot', localWindow: 2, norm: 'post' },
  { preset: 'encoder-decoder', positional: 'alibi', attention: 'scaled_dot', localWindow: 3 },
  // Marian's: sines then cosines, swish, post-norm, final_logits_bias.
  { preset: 'encoder-decoder', positional: 'sinusoidal_split', attention: 'scaled_dot', activation: 'swish', norm: 'post', logitsBias: true },
];

let maxDiff = 0;

beforeAll(async () => {
  await setupBackend();
});
afterAll(() => {
  if (process.env.PARITY_REPORT) console.log(`max |cached seq2seq ONNX − tfjs|: ${maxDiff.toExponential(2)}`);
});

function label(c: Case): string {
  return Object.entries(c)
    .filter(([k]) => k !== 'preset')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function check(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const d = maxAbsDiff(got, want);
  maxDiff = Math.max(maxDiff, d);
  expect(d, what).toBeLessThanOrEqual(TOLERANCE);
}

/** Position `t` of logits [B, T, V]. */
function at(logits: Float32Array, B: number, T: number, t: number): Float32Array {
  const out = new Float32Array(B * VOCAB);
  for (let b = 0; b < B; b++) out.set(logits.subarray((b * T + t) * VOCAB, (b * T + t + 1) * VOCAB), b * VOCAB);
  return out;
}

async function exported(c: Case, seed: number, runtime: 'node' | 'web' = 'node', withAttention = false): Promise<{ model: TransformerModel; onnx: OnnxSeq2SeqModel }> {
  const model = makeModel(c, seed);
  const { encoder, decoder } = exportSeq2SeqCheckpointFiles(checkpointFiles(model), { withAttention });
  const create = runtime === 'node' ? createOnnxModel : (bytes: Uint8Array) => createWebModel(bytes, { numThreads: 1 });
  return { model, onnx: checkSeq2SeqModel({ encoder: await create(encoder), decoder: await create(decoder) }) };
}

async function release(onnx: OnnxSeq2SeqModel, model: TransformerModel): Promise<void> {
  await onnx.encoder.release();
  await onnx.decoder.release();
  model.dispose();
}

describe('seq2seq export: encoder_model + decoder_model_merged', () => {
  const runs = [...CASES.map((c, index) => ({ c, index, runtime: 'node' as const })), { c: CASES[1]!, index: 1, runtime: 'web' as const }];
  runs.forEach(({ c, index, runtime }) => {
    it(`cached steps equal the full tfjs forward at every step (${runtime}): ${label(c)}`, async () => {
      const { model, onnx } = await exported(c, 60 + index, runtime, index === 0);
      try {
        expect([...onnx.decoder.inputNames]).toEqual(forwardInputNames(model.config, 'seq2seq-decoder'));
        expect([...onnx.encoder.inputNames]).toEqual(['input_ids', 'attention_mask']);
        const B = 3;
        const S = 7;
        const T = MAX_LEN;
        const src = randomBatch(createRng(100 + index), [7, 4, 2], S);
        const tgt = randomBatch(createRng(200 + index), [T, T, T], T);
        const source = { ids: src.ids, batchSize: B, seqLen: S, lengths: src.lengths };
        const result = model.forward(source, { ids: tgt.ids, batchSize: B, seqLen: T });
        const full = result.logits.dataSync() as Float32Array;
        result.logits.dispose();
        const encoded = tf.tidy(() => model.encode(source));
        const wantStates = encoded.dataSync() as Float32Array;
        encoded.dispose();

        const enc = await onnx.encoder.encode({ inputIds: { data: src.ids, batchSize: B, seqLen: S }, attentionMask: { data: src.mask, batchSize: B, seqLen: S } });
        expect(enc.lastHiddenState.dims).toEqual([B, S, 8]);
        // Padded source positions are free to differ; the decoder never reads them.
        const valid = (x: ArrayLike<number>): number[] => Array.from(x).filter((_, i) => src.mask[Math.floor(i / 8)] === 1);
        check(valid(enc.lastHiddenState.data), valid(wantStates), 'encoder last_hidden_state');
        const feeds = { encoderHiddenStates: enc.lastHiddenState, encoderAttentionMask: { data: src.mask, batchSize: B, seqLen: S } };

        // First call (use_cache_branch false): a 3-token decoder prefix, empty past.
        const P0 = 3;
        const prefix = Int32Array.from({ length: B * P0 }, (_, i) => tgt.ids[Math.floor(i / P0) * T + (i % P0)]!);
        let out = await onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: prefix, batchSize: B, seqLen: P0 }, ...feeds });
        for (let t = 0; t < P0; t++) check(at(out.logits.data, B, P0, t), at(full, B, T, t), `prefix position ${t}`);
        if (index === 0) expect(Object.keys(out.attentions).sort()).toEqual(['cross_attentions.0', 'cross_attentions.1', 'decoder_attentions.0', 'decoder_attentions.1']);
        let cache: Seq2SeqCache = out.present;
        expect(cache.decoder[0]!.key.dims).toEqual([B, 2, P0, 4]);
        expect(cache.encoder[1]!.value.dims).toEqual([B, 2, S, 4]);
        const cross = cache.encoder.map((l) => Float32Array.from(l.key.data));
        // Then one token at a time with both caches (use_cache_branch true).
        for (let t = P0; t < T; t++) {
          const next = Int32Array.from({ length: B }, (_, b) => tgt.ids[b * T + t]!);
          out = await onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: next, batchSize: B, seqLen: 1 }, past: cache, ...feeds });
          check(out.logits.data, at(full, B, T, t), `step at position ${t}`);
          cache = out.present;
        }
        expect(cache.decoder[1]!.value.dims).toEqual([B, 2, T, 4]);
        cache.encoder.forEach((l, i) => expect(maxAbsDiff(l.key.data, cross[i]!)).toBe(0));
      } finally {
        await release(onnx, model);
      }
    });
  });

  it('checks inputs before ORT, and is for encoder-decoder only', async () => {
    const { model, onnx } = await exported(CASES[0]!, 70);
    try {
      const states = { data: new Float32Array(2 * 3 * 8), dims: [2, 3, 8] };
      await expect(onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: [1, 1], batchSize: 2, seqLen: 1 }, encoderHiddenStates: { data: states.data, dims: [2, 3, 7] } })).rejects.toThrow('encoder_hidden_states is [2,3,7] (48 values), expected [2, S, 8]');
      const first = await onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: [1, 1], batchSize: 2, seqLen: 1 }, encoderHiddenStates: states });
      await expect(onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: [1], batchSize: 1, seqLen: 1 }, encoderHiddenStates: { data: states.data.subarray(0, 24), dims: [1, 3, 8] }, past: first.present })).rejects.toThrow(
        'past_key_values.0.decoder.key is [2,2,1,4] (16 values), expected [1,2,1,4]',
      );
      await expect(onnx.encoder.encode({ inputIds: { data: [1, 99], batchSize: 1, seqLen: 2 } })).rejects.toThrow('input_ids[0, 1] is 99');
      expect(() => checkSeq2SeqModel({ encoder: onnx.decoder, decoder: onnx.encoder })).toThrow("the encoder session holds a 'seq2seq-decoder' graph, expected encoder_model.onnx (seq2seq-encoder)");
    } finally {
      await release(onnx, model);
    }
    const lm = makeModel({ preset: 'decoder-lm' }, 71);
    const files = checkpointFiles(lm);
    lm.dispose();
    expect(() => exportSeq2SeqCheckpointFiles(files)).toThrow("preset: the seq2seq export is for 'encoder-decoder', got 'decoder-lm'");
  });
});

describe('seq2seq generation over ORT', () => {
  it('greedy, sampling and beam search equal tfjs translate; beam 1 equals greedy', async () => {
    const c: Case = { preset: 'encoder-decoder', positional: 'rope', attention: 'scaled_dot', bosTokenId: 1, eosTokenId: 2 };
    const { model, onnx } = await exported(c, 72);
    try {
      const src = randomBatch(createRng(5), [6, 3, 5, 1], 6);
      const source = { ids: src.ids, batchSize: 4, seqLen: 6, lengths: src.lengths };
      const n = MAX_LEN;
      const greedy = await tfjsTranslate(model, source, n);
      expect(greedy.some((r) => r.length > 2)).toBe(true);
      expect(await translate(onnx, source, { maxNewTokens: n })).toEqual(greedy);
      expect(await translate(onnx, source, { maxNewTokens: n, strategy: { kind: 'beam', beamSize: 1 } })).toEqual(greedy);
      const sample = { kind: 'sample' as const, seed: 9, temperature: 1.3, topK: 6 };
      expect(await translate(onnx, source, { maxNewTokens: n, strategy: sample })).toEqual(await tfjsTranslate(model, source, n, sample));
      const beam = { kind: 'beam' as const, beamSize: 3, lengthPenalty: 0.8 };
      const wantBeam = await tfjsTranslate(model, source, n, beam);
      expect(await translate(onnx, source, { maxNewTokens: n, strategy: beam })).toEqual(wantBeam);
      const streamed: number[][] = [[], [], [], []];
      await translate(onnx, source, { maxNewTokens: n, onToken: (_, tokens) => tokens.forEach((t, b) => streamed[b]!.push(t)) });
      expect(streamed.map((s, b) => s.slice(0, greedy[b]!.length))).toEqual(greedy);
    } finally {
      await release(onnx, model);
    }
  });

  it("the translator's start returns the encoder's attention, as tfjs's translator does; none without attention outputs", async () => {
    const c: Case = { preset: 'encoder-decoder', positional: 'rope', attention: 'scaled_dot' };
    for (const withAttention of [true, false]) {
      const { model, onnx } = await exported(c, 73, 'node', withAttention);
      try {
        const src = randomBatch(createRng(6), [6, 3], 6);
        const source = { ids: src.ids, batchSize: 2, seqLen: 6, lengths: src.lengths };
        const { attentions = {} } = await seq2seqTranslator(onnx).start(source);
        if (!withAttention) {
          expect(attentions).toEqual({});
          continue;
        }
        const want = await tfjsTranslator(model, { attention: true }).start(source);
        expect(Object.keys(attentions).sort()).toEqual(['encoder_attentions.0', 'encoder_attentions.1']);
        for (const [name, t] of Object.entries(attentions)) {
          expect(t.dims).toEqual([2, 2, 6, 6]);
          check(t.data, want.attentions![name]!.data, name);
        }
        want.release?.();
      } finally {
        await release(onnx, model);
      }
    }
  });
});
