// The rnn-seq2seq export folder (attend-only layout: config.json with model_type
// "attend-rnn-seq2seq", tokenizer and generation files, the encoder and decoder-step graphs) and
// decoding over it: for several attention kinds (additive, local-p, general with two decoder
// layers and input feeding, none), with random weights and a right-padded batch, greedy and
// beam search over ORT equal tfjs `translate` on the same checkpoint (so the recurrent state
// follows beam search's row reordering), and the attention weights returned per step, and the
// teacher-forced logits and weights of runRnnDecoder, equal the tfjs forward over the decoded
// sequence.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, CheckpointError, createModelConfig, createRng, type RnnAttention, type RnnSeq2SeqConfig } from '@attend/core';
import { RnnSeq2SeqModel, serializeCheckpoint, setupBackend, translate as tfjsTranslate } from '@attend/transformer';
import { exportFolder, loadExportFolder, loadRnnSeq2SeqFolder, loadSeq2SeqFolder } from '../../node.js';
import { RNN_SEQ2SEQ_FILES } from './export.js';
import { encodeRnnSource, runRnnDecoder, translateRnn, translateRnnWithAttention, type OnnxRnnSeq2SeqModel } from './session.js';
import { failure, maxAbsDiff } from '../../test-utils/models.js';

const tokenizer = CharTokenizer.fromAlphabet('abcdefghij');
const MAX_LEN = 10;
let dir: string;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-rnn-folder-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Case = { rnnAttention: RnnAttention } & Partial<Omit<RnnSeq2SeqConfig, 'preset'>>;
const CASES: Case[] = [
  { rnnAttention: 'additive' },
  { rnnAttention: 'local-p', localWindow: 2 },
  { rnnAttention: 'general', numDecoderLayers: 2, rnnBidirectional: false },
  { rnnAttention: 'none' },
  { rnnCell: 'lstm', rnnAttention: 'general', numDecoderLayers: 2 },
  { rnnCell: 'lstm', rnnAttention: 'additive' },
];
const label = (c: Case): string => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');

/** A random-weight model of `c` written as a checkpoint folder, and its export folder. */
async function exported(c: Case, seed: number): Promise<{ model: RnnSeq2SeqModel; ckpt: string; out: string }> {
  const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: tokenizer.vocabSize, dModel: 8, maxSeqLen: MAX_LEN, dropout: 0, localWindow: null, ...c });
  const model = new RnnSeq2SeqModel(config, { seed });
  const rng = createRng(700 + seed);
  // Initial weights decode nearly the same token everywhere, which hides row mix-ups; move every weight.
  for (const { variable } of model.namedParams()) {
    tf.tidy(() => variable.assign(tf.tensor(Float32Array.from({ length: variable.size }, () => 0.6 * rng.normal()), variable.shape, 'float32')));
  }
  const ckpt = join(dir, `ckpt-${seed}`);
  await mkdir(ckpt);
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }))) await writeFile(join(ckpt, name), bytes);
  const out = join(dir, `export-${seed}`);
  await exportFolder(ckpt, out);
  return { model, ckpt, out };
}

/** Right-padded source batch of the strings' characters. */
function sourceOf(texts: string[]) {
  const rows = texts.map((t) => tokenizer.encode(t));
  const S = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * S).fill(tokenizer.specialTokenIds.pad);
  rows.forEach((r, b) => ids.set(r, b * S));
  return { ids, batchSize: rows.length, seqLen: S, lengths: Int32Array.from(rows, (r) => r.length) };
}

const readJson = async (file: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

async function release(onnx: OnnxRnnSeq2SeqModel): Promise<void> {
  await onnx.encoder.release();
  await onnx.decoder.release();
}

describe('rnn-seq2seq export folder', () => {
  it('writes config.json (attend-only model_type), tokenizer and generation files and the two graphs; other loaders refuse it', async () => {
    const { model, ckpt, out } = await exported(CASES[0]!, 1);
    try {
      expect((await readdir(out)).sort()).toEqual(['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
      expect((await readdir(join(out, 'onnx'))).sort()).toEqual([RNN_SEQ2SEQ_FILES.decoder, RNN_SEQ2SEQ_FILES.encoder].map((f) => f.slice('onnx/'.length)).sort());
      const c = model.config;
      const config = await readJson(join(out, 'config.json'));
      expect(config).toMatchObject({ model_type: 'attend-rnn-seq2seq', is_encoder_decoder: true, d_model: 8, rnn_attention: 'additive', decoder_start_token_id: c.bosTokenId, eos_token_id: c.eosTokenId });
      expect(config.architectures).toBeUndefined();
      expect(config.attend).toEqual(await readJson(join(ckpt, 'config.json')));
      expect(await readJson(join(out, 'generation_config.json'))).toMatchObject({ decoder_start_token_id: c.bosTokenId, eos_token_id: c.eosTokenId, max_length: MAX_LEN });
      expect(await readFile(join(out, 'tokenizer.json'), 'utf8')).toBe(await readFile(join(ckpt, 'tokenizer.json'), 'utf8'));
      expect(await failure(loadExportFolder(out), CheckpointError)).toMatch(/config\.json: an rnn-seq2seq export \(onnx\/rnn_encoder\.onnx \+ onnx\/rnn_decoder_step\.onnx\); load it with loadRnnSeq2SeqFolder$/);
      expect(await failure(loadSeq2SeqFolder(out), CheckpointError)).toMatch(/config\.json: preset 'rnn-seq2seq', not an encoder-decoder export \(use loadRnnSeq2SeqFolder\)$/);
      await rm(join(out, RNN_SEQ2SEQ_FILES.decoder));
      expect(await failure(loadRnnSeq2SeqFolder(out), Error)).toMatch(/rnn_decoder_step\.onnx: missing \(an rnn-seq2seq export needs onnx\/rnn_encoder\.onnx and onnx\/rnn_decoder_step\.onnx\)$/);
    } finally {
      model.dispose();
    }
  });
});

describe('rnn-seq2seq decoding over ORT', () => {
  CASES.forEach((c, index) => {
    it(`greedy and beam search equal tfjs translate: ${label(c)}`, async () => {
      const { model, out } = await exported(c, 10 + index);
      const { model: onnx, tokenizer: loadedTokenizer } = await loadRnnSeq2SeqFolder(out);
      try {
        expect(loadedTokenizer.vocabSize).toBe(tokenizer.vocabSize);
        const source = sourceOf(['abcdefg', 'hij', 'a', 'jihgfe']);
        const n = MAX_LEN;
        const greedy = await tfjsTranslate(model, source, n);
        expect(greedy.some((r) => r.length > 1)).toBe(true);
        expect(await translateRnn(onnx, source, { maxNewTokens: n })).toEqual(greedy);
        expect(await translateRnn(onnx, source, { maxNewTokens: n, strategy: { kind: 'beam', beamSize: 1 } })).toEqual(greedy);
        const beam = { kind: 'beam' as const, beamSize: 3, lengthPenalty: 0.8 };
        expect(await translateRnn(onnx, source, { maxNewTokens: n, strategy: beam })).toEqual(await tfjsTranslate(model, source, n, beam));
        const sample = { kind: 'sample' as const, seed: 4, temperature: 1.2 };
        expect(await translateRnn(onnx, source, { maxNewTokens: n, strategy: sample })).toEqual(await tfjsTranslate(model, source, n, sample));
      } finally {
        await release(onnx);
        model.dispose();
      }
    });
  });

  it('returns per-step attention weights (greedy and beam), and teacher-forced logits and weights, equal to the tfjs forward over the decoded sequence (additive, local-p)', async () => {
    for (const [index, c] of [CASES[0]!, CASES[1]!].entries()) {
      const { model, out } = await exported(c, 20 + index);
      const { model: onnx } = await loadRnnSeq2SeqFolder(out);
      try {
        const source = sourceOf(['abcdefg', 'hij', 'a']);
        const n = MAX_LEN - 1;
        const { ids, attention } = await translateRnnWithAttention(onnx, source, { maxNewTokens: n });
        expect(ids).toEqual(await tfjsTranslate(model, source, n));
        const T = Math.max(...attention.map((a) => a.length));
        const S = source.seqLen;
        const cfg = model.config;
        const target = new Int32Array(source.batchSize * T).fill(cfg.eosTokenId);
        ids.forEach((row, b) => target.set([cfg.bosTokenId, ...row].slice(0, T), b * T));
        const result = model.forward(source, { ids: target, batchSize: source.batchSize, seqLen: T }, { returnAttention: true });
        const cross = result.attention!.cross[0]!.arraySync() as number[][][][];
        const wantLogits = result.logits.dataSync() as Float32Array;
        tf.dispose([result.logits, ...result.attention!.cross]);
        const forced = await runRnnDecoder(onnx.decoder, await encodeRnnSource(onnx.encoder, source), { data: target, batchSize: source.batchSize, seqLen: T });
        expect(forced.logits.dims).toEqual([source.batchSize, T, cfg.vocabSize]);
        expect(maxAbsDiff(forced.logits.data, wantLogits)).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDiff(forced.attentionWeights!.data, cross.map((row) => row[0]!).flat(2))).toBeLessThanOrEqual(1e-4);
        let compared = 0;
        attention.forEach((steps, b) => {
          expect(steps.length === ids[b]!.length || steps.length === ids[b]!.length + 1).toBe(true);
          steps.forEach((w, i) => {
            expect(w).toHaveLength(S);
            expect(maxAbsDiff(w, cross[b]![0]![i]!), `row ${b} step ${i}`).toBeLessThanOrEqual(1e-4);
            for (let s = source.lengths[b]!; s < S; s++) expect(w[s]).toBeLessThan(1e-6);
            compared++;
          });
        });
        expect(compared).toBeGreaterThan(3);
        // Beam search: each hypothesis's weights follow its own rows through the reordering —
        // those of the teacher-forced decoder over that hypothesis.
        const strategy = { kind: 'beam', beamSize: 2 } as const;
        const beam = await translateRnnWithAttention(onnx, source, { maxNewTokens: n, strategy });
        expect(beam.ids).toEqual(await translateRnn(onnx, source, { maxNewTokens: n, strategy }));
        const TB = Math.max(...beam.attention.map((a) => a.length));
        const beamTarget = new Int32Array(source.batchSize * TB).fill(cfg.eosTokenId);
        beam.ids.forEach((row, b) => beamTarget.set([cfg.bosTokenId, ...row].slice(0, TB), b * TB));
        const beamForced = await runRnnDecoder(onnx.decoder, await encodeRnnSource(onnx.encoder, source), { data: beamTarget, batchSize: source.batchSize, seqLen: TB });
        beam.attention.forEach((steps, b) => {
          expect(steps.length === beam.ids[b]!.length || steps.length === beam.ids[b]!.length + 1).toBe(true);
          steps.forEach((w, i) => expect(maxAbsDiff(w, beamForced.attentionWeights!.data.subarray((b * TB + i) * S, (b * TB + i + 1) * S)), `beam row ${b} step ${i}`).toBeLessThanOrEqual(1e-4));
        });
      } finally {
        await release(onnx);
        model.dispose();
      }
    }
  });
});
