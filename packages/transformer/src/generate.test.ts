// Decoding a tfjs model through core's strategies: beam 1 equals greedy, a wider beam never
// scores below greedy under the model, and seeded sampling is reproducible; a translator asked
// for attention returns, per step, the rows a teacher-forced forward pass gives.

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, decodeRows, type TokenModelConfig } from '@attend/core';
import { setupBackend } from './backend.js';
import { tfjsTranslator, translate } from './generate.js';
import { createModel, type AttendModel } from './models.js';
import { TransformerModel, type TokenBatch } from './model.js';

beforeAll(async () => {
  await setupBackend();
});

function randomized(seed: number): TransformerModel {
  const config = createModelConfig({ preset: 'encoder-decoder', vocabSize: 12, dModel: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0 });
  const model = new TransformerModel(config, { seed });
  // Sharpen the weights so the output distribution is far from uniform.
  for (const p of model.namedParams()) tf.tidy(() => p.variable.assign(tf.mul(p.variable, 3)));
  return model;
}

const source: TokenBatch = { ids: Int32Array.from([5, 6, 7, 8, 9, 4, 3, 0]), batchSize: 2, seqLen: 4, lengths: Int32Array.from([4, 2]) };

/** Σ log p of `ids` + eos under the model, by teacher forcing. */
function sequenceLogProb(model: TransformerModel, row: number, ids: number[]): number {
  const c = model.config;
  const input = [c.bosTokenId, ...ids];
  const labels = [...ids, c.eosTokenId];
  return tf.tidy(() => {
    const src: TokenBatch = { ids: source.ids.slice(row * 4, row * 4 + 4), batchSize: 1, seqLen: 4, lengths: source.lengths!.slice(row, row + 1) };
    const { logits } = model.forward(src, { ids: Int32Array.from(input), batchSize: 1, seqLen: input.length });
    const logp = tf.logSoftmax(tf.reshape(logits, [input.length, c.vocabSize])).arraySync() as number[][];
    return labels.reduce((sum, v, t) => sum + logp[t]![v]!, 0);
  });
}

describe('translate', () => {
  it('beam search with one beam equals greedy decoding', async () => {
    const model = randomized(1);
    const greedy = await translate(model, source, 8);
    expect(await translate(model, source, 8, { kind: 'beam', beamSize: 1 })).toEqual(greedy);
    model.dispose();
  });

  it('a wider beam finds sequences at least as probable as greedy (no length penalty)', async () => {
    let compared = 0;
    for (const seed of [2, 3, 4]) {
      const model = randomized(seed);
      const greedy = await translate(model, source, 6);
      const beam = await translate(model, source, 6, { kind: 'beam', beamSize: 4, lengthPenalty: 0 });
      for (let row = 0; row < 2; row++) {
        const g = greedy[row]!;
        const b = beam[row]!;
        // Both must have ended with eos within the limit for the comparison to be fair.
        if (g.length < 6 && b.length < 6) {
          expect(sequenceLogProb(model, row, b)).toBeGreaterThanOrEqual(sequenceLogProb(model, row, g) - 1e-4);
          compared += 1;
        }
      }
      model.dispose();
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('takes TranslateOptions as runtime-onnx translate does: the same ids, and onToken sees every step', async () => {
    const model = randomized(5);
    const strategy = { kind: 'sample', seed: 4, temperature: 1.2 } as const;
    const seen: number[] = [];
    const ids = await translate(model, source, { maxNewTokens: 8, strategy, onToken: (step) => seen.push(step) });
    expect(ids).toEqual(await translate(model, source, 8, strategy));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen[0]! + i));
    model.dispose();
  });

  it('seeded sampling is reproducible and does not leak tensors', async () => {
    const model = randomized(5);
    model.namedParams();
    const before = tf.memory().numTensors;
    const a = await translate(model, source, 8, { kind: 'sample', seed: 9, temperature: 1.5 });
    const b = await translate(model, source, 8, { kind: 'sample', seed: 9, temperature: 1.5 });
    expect(b).toEqual(a);
    await translate(model, source, 8, { kind: 'beam', beamSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('translate', () => {
  it('refuses a decoder-lm in one line', async () => {
    const lm = new TransformerModel(createModelConfig({ preset: 'decoder-lm', vocabSize: 12, dModel: 16, numHeads: 2, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0 }), { seed: 1 });
    try {
      await expect(translate(lm, source, { maxNewTokens: 3 })).rejects.toThrow(/^translate: a decoder-lm model; translate needs an encoder-decoder, rnn-seq2seq or image-captioner \(a decoder-lm continues a prompt: generate\)$/);
    } finally {
      lm.dispose();
    }
  });
});

describe('tfjsTranslator with attention', () => {
  /** Every step's attention rows of a greedy decoding against one teacher-forced forward over each row's output (the maps `attend attention` drew before). */
  async function expectStepsMatchForward(model: AttendModel): Promise<void> {
    const c = model.config as TokenModelConfig;
    const { step, release, attentions } = await tfjsTranslator(model, { attention: true }).start(source);
    const rows = await decodeRows(step, { batchSize: 2, vocabSize: c.vocabSize, bosTokenId: c.bosTokenId, eosTokenId: c.eosTokenId, maxNewTokens: 6 });
    release?.();
    const plain = await translate(model, source, { maxNewTokens: 6 });
    expect(rows.map((r) => r.ids)).toEqual(plain); // asking for attention changes no token
    let compared = 0;
    rows.forEach((row, b) => {
      const src: TokenBatch = { ids: source.ids.slice(b * 4, b * 4 + 4), batchSize: 1, seqLen: 4, lengths: source.lengths!.slice(b, b + 1) };
      const input = [c.bosTokenId, ...row.ids].slice(0, row.steps.length);
      const { logits, attention } = model.forward(src, { ids: Int32Array.from(input), batchSize: 1, seqLen: input.length }, { returnAttention: true });
      logits.dispose();
      const read = (ts: tf.Tensor4D[]) => ts.map((t) => ({ data: t.dataSync() as Float32Array, dims: t.shape }));
      const maps = { decoder_attentions: read(attention!.decoderSelf), cross_attentions: read(attention!.cross) };
      for (const [prefix, layers] of Object.entries(maps)) {
        layers.forEach(({ data, dims: [, H, Q, K] }, l) => {
          row.steps.forEach((outputs, q) => {
            const got = outputs[`${prefix}.${l}`]!;
            const keys = got.dims.at(-1)!;
            expect(got.dims).toEqual([H, keys]);
            expect(keys).toBe(prefix === 'cross_attentions' ? 4 : q + 1);
            for (let h = 0; h < H!; h++) {
              for (let k = 0; k < keys; k++) expect(got.data[h * keys + k]).toBeCloseTo(data[((h * Q! + q) * K!) + k]!, 5);
              compared++;
            }
          });
        });
      }
      // The encoder's self-attention of this row, as the forward pass computes it.
      read(attention!.encoder).forEach(({ data }, l) => {
        const all = attentions![`encoder_attentions.${l}`]!;
        const size = data.length;
        const mine = all.data.subarray(b * size, (b + 1) * size);
        data.forEach((x, i) => expect(mine[i]).toBeCloseTo(x, 5));
      });
      for (const t of [...attention!.encoder, ...attention!.decoderSelf, ...attention!.cross]) t.dispose();
    });
    expect(compared).toBeGreaterThan(0);
  }

  it('returns, per step, the attention rows one teacher-forced forward pass gives (Transformer encoder–decoder)', async () => {
    const model = randomized(5);
    try {
      await expectStepsMatchForward(model);
    } finally {
      model.dispose();
    }
  });

  it('returns the GRU decoder’s one attention per step as cross_attentions.0 (rnn-seq2seq, additive)', async () => {
    const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 12, dModel: 16, numEncoderLayers: 1, numDecoderLayers: 1, maxSeqLen: 16, dropout: 0, rnnAttention: 'additive' });
    const model = createModel(config, { seed: 3 });
    try {
      await expectStepsMatchForward(model);
    } finally {
      model.dispose();
    }
  });
});
