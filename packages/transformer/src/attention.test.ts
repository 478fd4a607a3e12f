// MultiHeadAttention against the plain-array reference: every score function, with and
// without padding / causal / local-window masks, ALiBi biases and rotary positions, on the
// wasm and cpu backends. Weights are random N(0, 0.5²) so attention is far from uniform.

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alibiBias, attentionMask, createRng, maskToBias, ropeTables, SCORE_FUNCTIONS, type MaskSpec, type ScoreFunction } from '@attend/core';
import { attention, attentionScores, leanAttention, MultiHeadAttention, scoreParamsOf } from './attention.js';
import { setupBackend, type BackendName } from './backend.js';
import { alibiSlopesRef, attendSeqRef, attentionWeightsOf, plainParams, visibility, type Mat } from './test-utils/reference.js';
import { flat, maxAbsDiff, randomizeParams } from './test-utils/weights.js';

const d = 8;
const H = 2;
const D = d / H;
const TOL = 1e-4;

function randomInput(B: number, T: number, seed: number): { tensor: tf.Tensor3D; rows: Mat[] } {
  const rng = createRng(seed);
  const rows: Mat[] = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: d }, () => rng.normal())));
  return { tensor: tf.tensor3d(rows), rows };
}

function randomLayer(score: ScoreFunction, seed: number): MultiHeadAttention {
  const layer = new MultiHeadAttention({ dModel: d, numHeads: H, score, seed });
  randomizeParams(layer.namedParams(''), 1000 + seed, 0.5);
  return layer;
}

interface MaskCase {
  name: string;
  B: number;
  Tq: number;
  Tk: number;
  lengths?: number[];
  causal?: boolean;
  window?: number;
}

const MASK_CASES: MaskCase[] = [
  { name: 'no mask', B: 2, Tq: 5, Tk: 5 },
  { name: 'padding', B: 2, Tq: 5, Tk: 5, lengths: [5, 3] },
  { name: 'causal', B: 2, Tq: 5, Tk: 5, causal: true },
  { name: 'local window 1', B: 2, Tq: 6, Tk: 6, window: 1 },
  { name: 'padding + causal + window 2', B: 2, Tq: 6, Tk: 6, lengths: [4, 6], causal: true, window: 2 },
  { name: 'cross-attention with source padding', B: 2, Tq: 3, Tk: 6, lengths: [6, 2] },
];

function maskSpec(c: MaskCase): MaskSpec {
  return { batchSize: c.B, queryLen: c.Tq, keyLen: c.Tk, keyLengths: c.lengths, causal: c.causal, localWindow: c.window ?? null };
}

describe.each(['wasm', 'cpu'] as BackendName[])('MultiHeadAttention on %s', (backend) => {
  beforeAll(async () => {
    const info = await setupBackend([backend]);
    expect(info.name).toBe(backend);
  });
  afterEach(() => {
    tf.disposeVariables();
  });

  describe.each([...SCORE_FUNCTIONS])('%s scores', (score) => {
    it.each(MASK_CASES)('$name: output and weights equal the reference', (c) => {
      const layer = randomLayer(score, 3);
      const query = randomInput(c.B, c.Tq, 11);
      const kv = c.Tq === c.Tk ? query : randomInput(c.B, c.Tk, 12);
      const bias = tf.tensor4d(maskToBias(attentionMask(maskSpec(c))), [c.B, 1, c.Tq, c.Tk]);
      const { output, weights } = layer.attend(query.tensor, kv.tensor, { bias });
      expect(output.shape).toEqual([c.B, c.Tq, d]);
      expect(weights!.shape).toEqual([c.B, H, c.Tq, c.Tk]);
      const got = { output: output.arraySync(), weights: weights!.arraySync() };
      tf.dispose([output, weights, bias, query.tensor, kv.tensor]);

      const w = attentionWeightsOf(plainParams(layer.namedParams('')), '', score);
      let farFromUniform = 0;
      for (let b = 0; b < c.B; b++) {
        const visible = visibility({ length: c.lengths?.[b], causal: c.causal, window: c.window });
        const ref = attendSeqRef(query.rows[b]!, kv.rows[b]!, w, { numHeads: H, score, visible });
        expect(maxAbsDiff(flat(got.output[b]), flat(ref.output))).toBeLessThan(TOL);
        expect(maxAbsDiff(flat(got.weights[b]), flat(ref.weights))).toBeLessThan(TOL);
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < c.Tq; i++) {
            const row = got.weights[b]![h]![i]!;
            expect(row.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5);
            const nVisible = row.filter((_, j) => visible(i, j)).length;
            row.forEach((x, j) => {
              if (!visible(i, j)) expect(x).toBeLessThan(1e-7);
              else farFromUniform = Math.max(farFromUniform, Math.abs(x - 1 / nVisible));
            });
          }
        }
      }
      // The comparison means something only if attention is not (nearly) uniform.
      expect(farFromUniform).toBeGreaterThan(0.1);
    });

    it('a fully masked row (valid length 0) gets uniform weights, not NaN', () => {
      const layer = randomLayer(score, 4);
      const query = randomInput(2, 4, 21);
      const bias = tf.tensor4d(maskToBias(attentionMask({ batchSize: 2, queryLen: 4, keyLen: 4, keyLengths: [4, 0] })), [2, 1, 4, 4]);
      const { output, weights } = layer.attend(query.tensor, query.tensor, { bias });
      const w = weights!.arraySync();
      expect(flat(output.arraySync()).every(Number.isFinite)).toBe(true);
      for (const x of flat(w[1])) expect(x).toBeCloseTo(0.25, 5);
      tf.dispose([output, weights, bias, query.tensor]);
    });

    it('ALiBi biases and rotary positions match the reference', () => {
      const T = 6;
      const layer = randomLayer(score, 5);
      const query = randomInput(2, T, 31);
      const lengths = [6, 4];
      const mask = tf.tensor4d(maskToBias(attentionMask({ batchSize: 2, queryLen: T, keyLen: T, keyLengths: lengths, causal: true })), [2, 1, T, T]);
      const alibi = tf.tensor4d(alibiBias(H, T, T), [1, H, T, T]);
      const bias = tf.add(mask, alibi);
      const tables = ropeTables(T, D);
      const rotary = { cos: tf.tensor2d(tables.cos, [T, D]), sin: tf.tensor2d(tables.sin, [T, D]) };
      const withAlibi = layer.attend(query.tensor, query.tensor, { bias });
      const withRope = layer.attend(query.tensor, query.tensor, { bias: mask, rotary });
      const got = { alibi: withAlibi.output.arraySync(), alibiW: withAlibi.weights!.arraySync(), rope: withRope.output.arraySync(), ropeW: withRope.weights!.arraySync() };
      tf.dispose([mask, alibi, bias, rotary.cos, rotary.sin, withAlibi.output, withAlibi.weights, withRope.output, withRope.weights, query.tensor]);

      const w = attentionWeightsOf(plainParams(layer.namedParams('')), '', score);
      const slopes = alibiSlopesRef(H);
      for (let b = 0; b < 2; b++) {
        const visible = visibility({ length: lengths[b], causal: true });
        const refAlibi = attendSeqRef(query.rows[b]!, query.rows[b]!, w, { numHeads: H, score, visible, bias: (h, i, j) => -slopes[h]! * Math.abs(i - j) });
        const refRope = attendSeqRef(query.rows[b]!, query.rows[b]!, w, { numHeads: H, score, visible, rope: true });
        expect(maxAbsDiff(flat(got.alibi[b]), flat(refAlibi.output))).toBeLessThan(TOL);
        expect(maxAbsDiff(flat(got.alibiW[b]), flat(refAlibi.weights))).toBeLessThan(TOL);
        expect(maxAbsDiff(flat(got.rope[b]), flat(refRope.output))).toBeLessThan(TOL);
        expect(maxAbsDiff(flat(got.ropeW[b]), flat(refRope.weights))).toBeLessThan(TOL);
        // Positions matter: without them the reference differs.
        const plain = attendSeqRef(query.rows[b]!, query.rows[b]!, w, { numHeads: H, score, visible });
        expect(maxAbsDiff(flat(plain.weights), flat(refRope.weights))).toBeGreaterThan(1e-3);
        expect(maxAbsDiff(flat(plain.weights), flat(refAlibi.weights))).toBeGreaterThan(1e-3);
      }
    });
  });

  it('the initial weights follow the documented inits: general starts as dot, cosine at temperature √D', () => {
    const query = randomInput(1, 4, 41);
    const general = new MultiHeadAttention({ dModel: d, numHeads: H, score: 'general', seed: 7 });
    const cosine = new MultiHeadAttention({ dModel: d, numHeads: H, score: 'cosine', seed: 7 });
    // Scale up the projections (initially N(0, 0.02)) so the scores are not all ~0.
    for (const layer of [general, cosine]) {
      for (const p of layer.namedParams('')) if (/_proj\.weight$/.test(p.name)) tf.tidy(() => p.variable.assign(tf.mul(p.variable, 25)));
    }
    const g = general.attend(query.tensor, query.tensor).weights!.arraySync();
    const cw = cosine.attend(query.tensor, query.tensor).weights!.arraySync();
    const gw = attentionWeightsOf(plainParams(general.namedParams('')), '', 'general');
    const asDot = attendSeqRef(query.rows[0]!, query.rows[0]!, gw, { numHeads: H, score: 'dot' });
    expect(maxAbsDiff(flat(g[0]), flat(asDot.weights))).toBeLessThan(TOL);
    const logitScale = cosine.namedParams('').find((p) => p.name === 'score.logit_scale')!.variable.dataSync();
    for (const s of logitScale) expect(Math.exp(s)).toBeCloseTo(Math.sqrt(D), 5);
    const cRef = attendSeqRef(query.rows[0]!, query.rows[0]!, attentionWeightsOf(plainParams(cosine.namedParams('')), '', 'cosine'), { numHeads: H, score: 'cosine' });
    expect(maxAbsDiff(flat(cw[0]), flat(cRef.weights))).toBeLessThan(TOL);
    query.tensor.dispose();
  });

  it('attention dropout is applied in training only', () => {
    const layer = new MultiHeadAttention({ dModel: d, numHeads: H, dropout: 0.5, seed: 1 });
    randomizeParams(layer.namedParams(''), 51, 0.5);
    const query = randomInput(1, 5, 52);
    const w = attentionWeightsOf(plainParams(layer.namedParams('')), '', 'scaled_dot');
    const ref = attendSeqRef(query.rows[0]!, query.rows[0]!, w, { numHeads: H, score: 'scaled_dot' });
    const inference = layer.attend(query.tensor, query.tensor, { training: false }).output.arraySync();
    const training = layer.attend(query.tensor, query.tensor, { training: true }).output.arraySync();
    expect(maxAbsDiff(flat(inference[0]), flat(ref.output))).toBeLessThan(TOL);
    expect(maxAbsDiff(flat(training[0]), flat(ref.output))).toBeGreaterThan(1e-2);
    query.tensor.dispose();
  });

  describe('lean attention (training without weights)', () => {
    const B = 2;
    const T = 6;
    const rand = (shape: number[], seed: number): tf.Tensor => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, createRng(seed).normal), shape);

    it.each(['scaled_dot', 'dot', 'general', 'cosine'] as ScoreFunction[])('%s: output and gradients (q, k, v, score parameters) equal the plain path, with a causal + padding bias', (score) => {
      const layer = randomLayer(score, 5);
      const params = scoreParamsOf(score, (name) => layer.namedParams('').find((p) => p.name === `.${name}` || p.name === name)!.variable);
      const [q, k, v] = [1, 2, 3].map((i) => rand([B, H, T, D], 20 + i)) as tf.Tensor4D[];
      const bias = tf.tensor4d(maskToBias(attentionMask({ batchSize: B, queryLen: T, keyLen: T, keyLengths: [6, 4], causal: true, localWindow: null })), [B, 1, T, T]);
      const probe = rand([B, H, T, D], 30);
      const xs = [q, k, v, ...Object.values(params)] as tf.Tensor[];
      const run = (lean: boolean) => {
        const f = (...inputs: tf.Tensor[]) => {
          const [qi, ki, vi, ...rest] = inputs as tf.Tensor4D[];
          const p = Object.fromEntries(Object.keys(params).map((name, i) => [name, rest[i]!]));
          const { output } = attention(qi!, ki!, vi!, { score, params: p, bias, training: true, returnWeights: false, lean });
          return tf.sum(tf.mul(output, probe)) as tf.Scalar;
        };
        const { value, grads } = tf.valueAndGrads(f)(xs);
        return { value: value.dataSync()[0]!, grads: grads.map((g) => Float32Array.from(g.dataSync() as Float32Array)) };
      };
      const plain = run(false);
      const lean = run(true);
      expect(Math.abs(lean.value - plain.value)).toBeLessThan(1e-4);
      expect(lean.grads).toHaveLength(xs.length);
      lean.grads.forEach((g, i) => expect(maxAbsDiff(Array.from(g), Array.from(plain.grads[i]!))).toBeLessThan(1e-4));
      tf.dispose([q, k, v, bias, probe]);
    });

    it('draws the forward pass\'s dropout mask again in the backward pass', () => {
      // With v = I the output is the dropped weights P∘M themselves, and d⟨O, G⟩/dv = (P∘M)ᵀ·G.
      const q = rand([1, 1, T, T], 41) as tf.Tensor4D;
      const k = rand([1, 1, T, T], 42) as tf.Tensor4D;
      const eye = tf.reshape(tf.eye(T), [1, 1, T, T]) as tf.Tensor4D;
      const probe = rand([1, 1, T, T], 43);
      let dropped: tf.Tensor | undefined;
      const dv = tf.grad((v: tf.Tensor) => {
        const out = leanAttention(q, k, v as tf.Tensor4D, undefined, 0.5);
        dropped = tf.keep(out.clone());
        return tf.sum(tf.mul(out, probe)) as tf.Scalar;
      })(eye);
      const zeros = Array.from(dropped!.dataSync()).filter((x) => x === 0).length;
      expect(zeros).toBeGreaterThan(4); // the mask dropped something (36 weights at rate 0.5)
      const expected = tf.matMul(dropped!, probe, true, false);
      expect(maxAbsDiff(Array.from(dv.dataSync()), Array.from(expected.dataSync()))).toBeLessThan(1e-5);
      tf.dispose([q, k, eye, probe, dv, dropped!, expected]);
    });

    it('keeps no [B, H, T, T] tensor from the forward pass to the backward one', async () => {
      // Eight stacked attentions, T ≫ D: the plain path holds each one's weights for its gradient.
      const [Bn, Hn, Tn, Dn] = [2, 2, 64, 4];
      const x = rand([Bn, Hn, Tn, Dn], 51) as tf.Tensor4D;
      const peak = async (lean: boolean): Promise<number> => {
        const info = await tf.profile(() => {
          const g = tf.grad((input: tf.Tensor) => {
            let h = input as tf.Tensor4D;
            for (let l = 0; l < 8; l++) h = attention(h, h, h, { score: 'scaled_dot', training: true, returnWeights: false, lean }).output;
            return tf.sum(h) as tf.Scalar;
          })(x);
          g.dispose();
        });
        return info.peakBytes;
      };
      const plain = await peak(false);
      const lean = await peak(true);
      const weightsBytes = Bn * Hn * Tn * Tn * 4;
      expect(plain).toBeGreaterThan(8 * weightsBytes); // each layer's weights held for the backward pass
      expect(lean).toBeLessThan(plain / 2);
      x.dispose();
    });

    it('is chosen by the size of the weights unless told', () => {
      const spy = (shape: [number, number, number, number], options: Partial<Parameters<typeof attention>[3]>): boolean => {
        const x = tf.zeros(shape) as tf.Tensor4D;
        const { weights } = attention(x, x, x, { score: 'scaled_dot', training: true, returnWeights: false, ...options });
        x.dispose();
        weights?.dispose();
        return weights === undefined;
      };
      expect(spy([1, 1, 8, 4], {})).toBe(false); // 256 B of weights: kept
      expect(spy([4, 4, 128, 4], {})).toBe(true); // 1 MiB: recomputed
      expect(spy([1, 1, 8, 4], { lean: true })).toBe(true);
      expect(spy([4, 4, 128, 4], { lean: false })).toBe(false);
      expect(spy([4, 4, 128, 4], { training: false })).toBe(false);
      expect(spy([4, 4, 128, 4], { returnWeights: true })).toBe(false);
    });
  });

  it('rejects bad shapes and missing score parameters with errors that name them', () => {
    expect(() => new MultiHeadAttention({ dModel: 10, numHeads: 3 })).toThrow(/dModel 10 is not divisible by numHeads 3/);
    const layer = new MultiHeadAttention({ dModel: d, numHeads: H });
    const wrong = tf.zeros([1, 3, d + 1]) as tf.Tensor3D;
    const right = tf.zeros([1, 3, d]) as tf.Tensor3D;
    expect(() => layer.attend(right, wrong)).toThrow(/expected inputs \[B, T, 8\].*keyValue \[1,3,9\]/);
    const q = tf.zeros([1, H, 3, D]) as tf.Tensor4D;
    expect(() => attentionScores(q, q, 'general')).toThrow(/'general' is required/);
    expect(() => attentionScores(q, q, 'additive', {})).toThrow(/'additiveQuery' is required/);
    expect(() => attention(q, q, q, { score: 'cosine' })).toThrow(/'cosineLogitScale' is required/);
    tf.dispose([wrong, right, q]);
  });
});
