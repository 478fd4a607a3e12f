// The GRU encoder–decoder (rnn-seq2seq): shapes and attention maps for every rnnAttention,
// padding invariance, Bahdanau's step scores against the Transformer's additive score function,
// Luong's local-p window, a GRU step against the equations written out, decoding and a checkpoint
// round trip. Learning the reverse task from scratch is in e2e/src/training.test.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, RNN_ATTENTIONS, RNN_CELLS, type RnnAttention, type RnnSeq2SeqConfig } from '@attend/core';
import { attentionScores } from '../../attention.js';
import { setupBackend } from '../../backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../checkpoint.js';
import { translate } from '../../generate.js';
import type { TokenBatch } from '../../model.js';
import { createModel } from '../../models.js';
import { localPWeights, RnnLayer, RnnSeq2SeqModel, stepScores } from './model.js';
import { randomizeParams, maxAbsDiff } from '../../test-utils/weights.js';

const VOCAB = 14;
let root: string;

beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-rnn-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function baseConfig(rnnAttention: RnnAttention, overrides: Partial<RnnSeq2SeqConfig> = {}): RnnSeq2SeqConfig {
  return createModelConfig({
    preset: 'rnn-seq2seq', vocabSize: VOCAB, dModel: 12, maxSeqLen: 16, dropout: 0,
    rnnAttention, localWindow: rnnAttention === 'local-p' ? 2 : null, ...overrides,
  });
}

function randomModel(c: RnnSeq2SeqConfig, seed = 1): RnnSeq2SeqModel {
  const model = new RnnSeq2SeqModel(c, { seed });
  randomizeParams(model.namedParams(), seed, 0.4);
  return model;
}

const SOURCE: TokenBatch = { ids: Int32Array.from([3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 0, 0]), batchSize: 2, seqLen: 6, lengths: Int32Array.from([6, 3]) };
const TARGET: TokenBatch = { ids: Int32Array.from([1, 5, 6, 7, 1, 12, 13, 4]), batchSize: 2, seqLen: 4 };

const CASES = RNN_CELLS.flatMap((cell) => RNN_ATTENTIONS.map((attention) => [attention, cell] as const));

describe.each(CASES)('rnn-seq2seq, rnnAttention %s, rnnCell %s', (attention, rnnCell) => {
  const config = (a: RnnAttention, overrides: Partial<RnnSeq2SeqConfig> = {}): RnnSeq2SeqConfig => baseConfig(a, { rnnCell, ...overrides });
  it('logits [B, T, V]; attention [B, 1, T, S] on request, zero on padded source positions', () => {
    const model = randomModel(config(attention));
    const before = tf.memory().numTensors;
    const plain = model.forward(SOURCE, TARGET);
    expect(plain.logits.shape).toEqual([2, 4, VOCAB]);
    expect(plain.attention).toBeUndefined();
    const r = model.forward(SOURCE, TARGET, { returnAttention: true });
    expect(maxAbsDiff(r.logits.dataSync(), plain.logits.dataSync())).toBe(0);
    const cross = r.attention!.cross;
    if (attention === 'none') {
      expect(cross).toEqual([]);
    } else {
      expect(cross).toHaveLength(1);
      expect(cross[0]!.shape).toEqual([2, 1, 4, 6]);
      const w = cross[0]!.arraySync()[1]![0]!; // row 1 has 3 valid source positions
      for (const row of w) {
        expect(row.slice(3)).toEqual([0, 0, 0]);
        const total = row.reduce((a, b) => a + b, 0);
        // Global attention sums to 1; local-p's Gaussian factor only lowers the weights.
        if (attention === 'local-p') expect(total).toBeLessThanOrEqual(1 + 1e-6);
        else expect(total).toBeCloseTo(1, 5);
      }
    }
    tf.dispose([plain.logits, r.logits, ...cross]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('padding invariance: extra padding on the source changes no logit and no valid weight', () => {
    const model = randomModel(config(attention), 2);
    const row = { ids: Int32Array.from([9, 10, 11]), batchSize: 1, seqLen: 3, lengths: Int32Array.from([3]) };
    const padded = { ids: Int32Array.from([9, 10, 11, 0, 0, 0, 0]), batchSize: 1, seqLen: 7, lengths: Int32Array.from([3]) };
    const target = { ids: Int32Array.from([1, 12, 13, 4]), batchSize: 1, seqLen: 4 };
    const a = model.forward(row, target, { returnAttention: true });
    const b = model.forward(padded, target, { returnAttention: true });
    expect(maxAbsDiff(a.logits.dataSync(), b.logits.dataSync())).toBeLessThan(1e-5);
    if (attention !== 'none') {
      const wa = a.attention!.cross[0]!.arraySync()[0]![0]!;
      const wb = b.attention!.cross[0]!.arraySync()[0]![0]!;
      wb.forEach((r, t) => expect(maxAbsDiff(r.slice(0, 3), wa[t]!)).toBeLessThan(1e-6));
    }
    // And the padded batch row equals the same sentence alone.
    const batch = model.forward(SOURCE, TARGET).logits.arraySync() as number[][][];
    const alone = model.forward({ ids: Int32Array.from([9, 10, 11]), batchSize: 1, seqLen: 3, lengths: Int32Array.from([3]) }, { ids: TARGET.ids.slice(4), batchSize: 1, seqLen: 4 }).logits.arraySync() as number[][][];
    expect(maxAbsDiff(batch[1]!.flat(), alone[0]!.flat())).toBeLessThan(1e-5);
    model.dispose();
  });

  it('translate() decodes with it, and greedy equals beam 1', async () => {
    const model = randomModel(config(attention), 3);
    const greedy = await translate(model, SOURCE, 6);
    expect(greedy).toHaveLength(2);
    expect(await translate(model, SOURCE, 6, { kind: 'beam', beamSize: 1 })).toEqual(greedy);
    await translate(model, SOURCE, 6, { kind: 'beam', beamSize: 3 });
    model.dispose();
  });

  it('checkpoint round trip: same names, same logits', async () => {
    const c = config(attention, { tieEmbeddings: attention !== 'dot' });
    const model = randomModel(c, 4);
    const dir = join(root, `ckpt-${attention}-${rnnCell}`);
    await saveCheckpoint(dir, { model });
    const loaded = await loadCheckpoint(dir);
    expect(loaded.config).toEqual(c);
    expect(loaded.model).toBeInstanceOf(RnnSeq2SeqModel);
    expect(loaded.model.namedParams().map((p) => p.name)).toEqual(model.namedParams().map((p) => p.name));
    const a = model.forward(SOURCE, TARGET).logits.dataSync();
    expect(maxAbsDiff(loaded.model.forward(SOURCE, TARGET).logits.dataSync(), a)).toBe(0);
    // The comparison has teeth: a fresh model computes something else.
    const fresh = createModel(c, { seed: 9 });
    expect(maxAbsDiff(fresh.forward(SOURCE, TARGET).logits.dataSync(), a)).toBeGreaterThan(1e-3);
    [model, loaded.model, fresh].forEach((m) => m.dispose());
  });
});

describe('rnn-seq2seq pieces', () => {
  it('checkpoint names follow PyTorch nn.GRU (weight_ih_l0, …_reverse) with [3H, in] layout', async () => {
    const model = new RnnSeq2SeqModel(baseConfig('additive', { numEncoderLayers: 2 }));
    const names = model.namedParams().map((p) => p.name);
    expect(names).toContain('encoder.rnn.weight_ih_l0');
    expect(names).toContain('encoder.rnn.weight_hh_l1_reverse');
    expect(names).toContain('decoder.rnn.bias_hh_l0');
    expect(names).toContain('decoder.attention.score.v');
    const dir = join(root, 'layout');
    await saveCheckpoint(dir, { model });
    const { parseSafetensors } = await import('@attend/core');
    const { readFile } = await import('node:fs/promises');
    const { tensors } = parseSafetensors(new Uint8Array(await readFile(join(dir, 'model.safetensors'))));
    expect(tensors['encoder.rnn.weight_ih_l0']!.shape).toEqual([18, 12]); // 3·(12/2) × dModel
    expect(tensors['decoder.rnn.weight_ih_l0']!.shape).toEqual([36, 24]); // 3·12 × [embedding; context]
    expect(tensors['decoder.rnn.weight_ih_l1']).toBeUndefined();
    model.dispose();
    const lstm = new RnnSeq2SeqModel(baseConfig('general', { rnnCell: 'lstm' }));
    const shapes = Object.fromEntries(lstm.namedParams().map((p) => [p.name, p.variable.shape]));
    expect(shapes['encoder.rnn.weight_ih_l0']).toEqual([12, 24]); // [in, 4·(12/2)] here, [4H, in] in checkpoints as nn.LSTM
    expect(shapes['decoder.rnn.weight_hh_l0']).toEqual([12, 48]);
    lstm.dispose();
  });

  /** A randomised layer, its weights as arrays, and gate k's input and recurrent pre-activations for x, h. */
  function cellCase(cell: 'gru' | 'lstm', x: number[], h: number[]) {
    const layer = new RnnLayer({ cell, inputSize: 3, hiddenSize: 2, suffix: 'l0', seed: 5 });
    randomizeParams(layer.namedParams(''), 6, 0.7);
    const p = Object.fromEntries(layer.namedParams('').map((n) => [n.name, n.variable.arraySync() as number[][] | number[]]));
    const [Wi, Wh] = [p['weight_ih_l0'] as number[][], p['weight_hh_l0'] as number[][]]; // [in, G·H], [H, G·H]
    const [bi, bh] = [p['bias_ih_l0'] as number[], p['bias_hh_l0'] as number[]];
    const gate = (k: number): [number, number] => [bi[k]! + x.reduce((a, xi, i) => a + xi * Wi[i]![k]!, 0), bh[k]! + h.reduce((a, hj, j) => a + hj * Wh[j]![k]!, 0)];
    return { layer, gate };
  }
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));

  it('a GRU step follows the equations (r, z, n gate blocks; linear before reset)', () => {
    const [x, h] = [[0.5, -1, 2], [0.3, -0.7]];
    const { layer, gate } = cellCase('gru', x, h);
    const want = [0, 1].map((j) => {
      const r = sig(gate(j).reduce((a, b) => a + b));
      const z = sig(gate(2 + j).reduce((a, b) => a + b));
      const [gin, ghn] = gate(4 + j);
      const n = Math.tanh(gin + r * ghn);
      return (1 - z) * n + z * h[j]!;
    });
    const got = tf.tidy(() => layer.step(layer.inputGates(tf.tensor2d([x])) as tf.Tensor2D, { h: tf.tensor2d([h]) }).h.dataSync());
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
  });

  it('an LSTM step follows the equations (i, f, g, o gate blocks), and its cell state starts at zero', () => {
    const [x, h, c] = [[0.5, -1, 2], [0.3, -0.7], [1.5, -0.4]];
    const { layer, gate } = cellCase('lstm', x, h);
    const pre = (k: number): number => gate(k).reduce((a, b) => a + b);
    const want = (c0: number[]) => {
      const next = [0, 1].map((j) => sig(pre(2 + j)) * c0[j]! + sig(pre(j)) * Math.tanh(pre(4 + j)));
      return { h: [0, 1].map((j) => sig(pre(6 + j)) * Math.tanh(next[j]!)), c: next };
    };
    const run = (state: { h: number[]; c?: number[] }) =>
      tf.tidy(() => {
        const r = layer.step(layer.inputGates(tf.tensor2d([x])) as tf.Tensor2D, { h: tf.tensor2d([state.h]), ...(state.c ? { c: tf.tensor2d([state.c]) } : {}) });
        return { h: Array.from(r.h.dataSync()), c: Array.from(r.c!.dataSync()) };
      });
    const withC = run({ h, c });
    expect(maxAbsDiff(withC.h, want(c).h)).toBeLessThan(1e-6);
    expect(maxAbsDiff(withC.c, want(c).c)).toBeLessThan(1e-6);
    expect(maxAbsDiff(run({ h }).c, want([0, 0]).c)).toBeLessThan(1e-6);
  });

  it.each(['dot', 'general', 'additive'] as const)("per-step %s scores equal the Transformer's attentionScores with one head", (score) => {
    const rng = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
    tf.tidy(() => {
      const [B, S, d] = [3, 5, 4];
      const q = rng([B, d], 1) as tf.Tensor2D;
      const k = rng([B, S, d], 2) as tf.Tensor3D;
      const params = { general: rng([1, d, d], 6) as tf.Tensor3D, additiveQuery: rng([1, d, d], 3) as tf.Tensor3D, additiveKey: rng([1, d, d], 4) as tf.Tensor3D, additiveV: rng([1, d], 5) as tf.Tensor2D };
      const reference = attentionScores(tf.reshape(q, [B, 1, 1, d]) as tf.Tensor4D, tf.reshape(k, [B, 1, S, d]) as tf.Tensor4D, score, params).dataSync();
      expect(maxAbsDiff(stepScores(score, q, k, params).dataSync(), reference)).toBeLessThan(1e-5);
      if (score === 'additive') {
        const projected = tf.reshape(tf.matMul(tf.reshape(k, [B * S, d]), tf.reshape(params.additiveKey, [d, d])), [B, S, d]) as tf.Tensor3D;
        expect(maxAbsDiff(stepScores(score, q, k, params, projected).dataSync(), reference)).toBeLessThan(1e-5);
      }
    });
  });

  it("local-p: p_t = S·sigmoid(v·tanh(W h_t)); weights are softmax·Gaussian inside |s − p_t| ≤ D, zero outside", () => {
    const [B, T, S, d, D] = [2, 3, 9, 4, 2];
    const lengths = Int32Array.from([9, 5]);
    const values = tf.tidy(() => {
      const scores = tf.randomNormal([B, T, S], 0, 1, 'float32', 7) as tf.Tensor3D;
      const mask = Array.from({ length: B * T * S }, (_, i) => (i % S < lengths[Math.floor(i / (T * S))]! ? 0 : -1e9));
      const bias = tf.tensor3d(mask, [B, T, S]);
      const states = tf.randomNormal([B, T, d], 0, 1, 'float32', 8) as tf.Tensor3D;
      const predict = { weight: tf.randomNormal([d, d], 0, 1, 'float32', 9) as tf.Tensor2D, v: tf.randomNormal([d], 0, 2, 'float32', 10) as tf.Tensor1D };
      const r = localPWeights(scores, bias, states, lengths, D, predict);
      return { w: r.weights.arraySync(), p: r.positions.arraySync(), scores: scores.arraySync(), h: states.arraySync(), W: predict.weight.arraySync(), v: predict.v.arraySync() };
    });
    let outside = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const h = values.h[b]![t]!;
        const hidden = values.W[0]!.map((_, j) => Math.tanh(h.reduce((a, hi, i) => a + hi * values.W[i]![j]!, 0)));
        const p = lengths[b]! / (1 + Math.exp(-hidden.reduce((a, x, j) => a + x * values.v[j]!, 0)));
        expect(values.p[b]![t]!).toBeCloseTo(p, 4);
        const inside = Array.from({ length: S }, (_, s) => s < lengths[b]! && Math.abs(s - p) <= D);
        const max = Math.max(...values.scores[b]![t]!.filter((_, s) => inside[s]));
        const exps = values.scores[b]![t]!.map((x, s) => (inside[s] ? Math.exp(x - max) : 0));
        const total = exps.reduce((a, x) => a + x, 0);
        for (let s = 0; s < S; s++) {
          const want = (exps[s]! / total) * Math.exp(-((s - p) ** 2) / (2 * (D / 2) ** 2));
          expect(values.w[b]![t]![s]!).toBeCloseTo(want, 5);
          if (!inside[s]) {
            expect(values.w[b]![t]![s]!).toBe(0);
            outside++;
          }
        }
      }
    }
    expect(outside).toBeGreaterThan(B * T); // the window is narrower than the sentences
  });
});
