// BERT's token types (typeVocabSize > 0): the classifier graph takes token_type_ids as
// transformers.js's BERT exports do, and equals tfjs to 1e-4 under onnxruntime-node and -web on
// sentence pairs (segment B typed 1, padded rows); the types change the logits (the test would
// not pass with them dropped); a graph without token types refuses them in one line. The
// optimized graph (`optimize`, com.microsoft operators) equals tfjs to 1e-4 on pairs too, and the
// int8-dynamic and weight-only int8 ones stay within stated bounds (quantize-matmul.test.ts).

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, ShapeError } from '@attend/core';
import { setupBackend, type TransformerModel } from '@attend/transformer';
import { asSession } from '../../graph-session.js';
import { exportCheckpointFiles } from '../../export.js';
import { decodeModel, quantizeModel } from '../../quantize.js';
import { quantizeMatMuls } from '../../quantize-matmul.js';
import { createOnnxModel as createNodeModel } from '../../node.js';
import { createOnnxModel as createWebModel } from '../../web.js';
import { checkpointFiles, failure, makeModel, maxAbsDiff, randomBatch, top1Agreement } from '../../test-utils/models.js';
import { TokenForwardSession } from './session.js';

const TOLERANCE = 1e-4;

const bertLike = { preset: 'encoder-classifier', norm: 'post', positional: 'learned', embeddingNorm: true, scaleEmbedding: false, pooling: 'cls', pooler: true, layerNormEps: 1e-12 } as const;

let model: TransformerModel;
beforeAll(async () => {
  await setupBackend();
  model = makeModel({ ...bertLike, typeVocabSize: 3 }, 4);
});
afterAll(() => model.dispose());

/** Token types of a pair batch: each row's first `split` tokens 0, the rest of its valid tokens `type`, padding 0. */
function pairTypes(lengths: number[], seqLen: number, type: number): Int32Array {
  const types = new Int32Array(lengths.length * seqLen);
  lengths.forEach((n, b) => types.fill(type, b * seqLen + Math.ceil(n / 2), b * seqLen + n));
  return types;
}

describe('encoder-classifier with token types: ONNX equals tfjs', () => {
  it('token_type_ids is an input; logits equal tfjs under node and web, and differ from the all-zero types', async () => {
    const lengths = [7, 4, 9];
    const T = 9;
    const batch = randomBatch(createRng(5), lengths, T);
    const types = pairTypes(lengths, T, 1);
    types[T + 1] = 2; // a third type, in row 1
    const expected = tf.tidy(() => model.forward({ ...batch, tokenTypes: types }).logits.dataSync());
    const untyped = tf.tidy(() => model.forward(batch).logits.dataSync());
    expect(maxAbsDiff(expected, untyped)).toBeGreaterThan(1e-2);
    const bytes = exportCheckpointFiles(checkpointFiles(model));
    const sessions = [await createNodeModel(bytes), await createWebModel(bytes, { numThreads: 1 })].map((s) => asSession(s, TokenForwardSession));
    const matrix = (data: Int32Array) => ({ data: [...data], batchSize: lengths.length, seqLen: T });
    try {
      for (const session of sessions) {
        expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
        const feeds = { inputIds: matrix(batch.ids), attentionMask: matrix(batch.mask) };
        const out = await session.run({ ...feeds, tokenTypeIds: matrix(types) });
        expect(maxAbsDiff(out.logits.data, expected)).toBeLessThanOrEqual(TOLERANCE);
        // No token_type_ids: zeros, as transformers.js feeds a BERT graph without them.
        expect(maxAbsDiff((await session.run(feeds)).logits.data, untyped)).toBeLessThanOrEqual(TOLERANCE);
        expect(await failure(session.run({ ...feeds, tokenTypeIds: matrix(pairTypes(lengths, T, 3)) }), ShapeError)).toContain('token_type_ids[0, 4] is 3; expected a token type in [0, 3)');
      }
    } finally {
      for (const s of sessions) await s.release();
    }
  });

  it('a model without token types has no token_type_ids input and refuses them, in tfjs and ONNX', async () => {
    const plain = makeModel({ ...bertLike }, 6);
    const batch = randomBatch(createRng(2), [3], 3);
    const session = asSession(await createNodeModel(exportCheckpointFiles(checkpointFiles(plain))), TokenForwardSession);
    try {
      expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
      const ids = { data: [...batch.ids], batchSize: 1, seqLen: 3 };
      expect(await failure(session.run({ inputIds: ids, tokenTypeIds: { ...ids, data: [0, 0, 1] } }), ShapeError)).toContain('token_type_ids were given, but the model has no token types');
      expect(() => plain.forward({ ...batch, tokenTypes: new Int32Array(3) })).toThrow('token types were given, but the model has none (typeVocabSize 0)');
    } finally {
      await session.release();
      plain.dispose();
    }
  });
});

describe('encoder-classifier with token types: optimized, int8-dynamic and int8 exports', () => {
  // Wide enough for every Linear to be quantized (quantizeMatMuls takes matrices of 1024 values or more).
  let wide: TransformerModel;
  const lengths = Array.from({ length: 48 }, (_, b) => 4 + (b % 7));
  const T = 10;
  const batch = randomBatch(createRng(8), lengths, T);
  const types = pairTypes(lengths, T, 1);
  const matrix = (data: Int32Array) => ({ data: [...data], batchSize: lengths.length, seqLen: T });
  const feeds = { inputIds: matrix(batch.ids), attentionMask: matrix(batch.mask), tokenTypeIds: matrix(types) };
  let expected: Float32Array;
  let untyped: Float32Array;
  beforeAll(() => {
    wide = makeModel({ ...bertLike, typeVocabSize: 2, dModel: 64, numHeads: 4, dFf: 128, numClasses: 3 }, 9);
    expected = tf.tidy(() => wide.forward({ ...batch, tokenTypes: types }).logits.dataSync() as Float32Array);
    untyped = tf.tidy(() => wide.forward(batch).logits.dataSync() as Float32Array);
  });
  afterAll(() => wide.dispose());

  it('optimized graph: token_type_ids is an input; logits on pairs equal tfjs within 1e-4 under node and web', async () => {
    expect(maxAbsDiff(expected, untyped)).toBeGreaterThan(1e-2);
    const bytes = exportCheckpointFiles(checkpointFiles(wide), { optimize: true });
    const sessions = [await createNodeModel(bytes), await createWebModel(bytes, { numThreads: 1 })].map((s) => asSession(s, TokenForwardSession));
    try {
      for (const session of sessions) {
        expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
        expect(maxAbsDiff((await session.run(feeds)).logits.data, expected)).toBeLessThanOrEqual(TOLERANCE);
      }
    } finally {
      for (const s of sessions) await s.release();
    }
  });

  /** A quantized graph on pairs under node and web: token_type_ids kept, max |Δlogit| ≤ 10% of the largest fp32 logit, top-1 ≥ `top1`. */
  async function expectCloseOnPairs(bytes: Uint8Array, top1: number): Promise<void> {
    const sessions = [await createNodeModel(bytes), await createWebModel(bytes, { numThreads: 1 })].map((s) => asSession(s, TokenForwardSession));
    const maxLogit = Math.max(...Array.from(expected, Math.abs));
    try {
      for (const session of sessions) {
        expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
        const logits = (await session.run(feeds)).logits.data;
        expect(maxAbsDiff(logits, expected) / maxLogit).toBeLessThanOrEqual(0.1);
        expect(top1Agreement(logits, expected, 3)).toBeGreaterThanOrEqual(top1);
        // The types still count: the quantized graph is nearer the typed logits than the untyped ones.
        expect(maxAbsDiff(logits, expected)).toBeLessThan(maxAbsDiff(logits, untyped));
      }
    } finally {
      for (const s of sessions) await s.release();
    }
  }

  // Stated bounds on random weights: max |Δlogit| ≤ 10% of the largest fp32 logit, top-1 ≥ 90% (quantize-matmul.test.ts's LM
  // bounds are 5% and 95% over 69 logits; 3 small class logits give a larger relative error, types or not: 7.2% and 96% here,
  // 8.5% and 98% for this model without token types on single texts).
  for (const optimize of [false, true]) {
    it(`int8-dynamic${optimize ? ', optimized graph' : ''}: logits on pairs close to tfjs (top-1 ≥ 90%, ≤ 10% of the largest logit) under node and web`, async () => {
      const bytes = quantizeMatMuls(exportCheckpointFiles(checkpointFiles(wide), { optimize }), 'int8-dynamic');
      // Every Linear of the 2 layers (Q, K, V in one when optimized) and the pooler; the 64 × 3 classifier is under quantizeMatMuls' minimum.
      expect(decodeModel(bytes).graph.nodes.filter((n) => n.opType === 'DynamicQuantizeMatMul')).toHaveLength(2 * (optimize ? 4 : 6) + 1);
      await expectCloseOnPairs(bytes, 0.9);
    });
  }

  // The weight-only int8 export (`--quantize int8`: DequantizeLinear before each MatMul and the embedding Gathers) keeps the
  // token_type_ids input too. Measured here: 6.5% of the largest logit, top-1 89.6% (43 of 48 rows; int8-dynamic's 96% above
  // is on the same 3 small class logits), so the bounds are 10% and 85%. int4 (MatMulNBits, blocks of 32) is off by 78% on
  // this d-64 random classifier with or without types (68% on all-zero types), too far from fp32 for any bound to mean much.
  it('int8 (weight-only): logits on pairs close to tfjs (top-1 ≥ 85%, ≤ 10% of the largest logit) under node and web', async () => {
    const bytes = quantizeModel(exportCheckpointFiles(checkpointFiles(wide)));
    expect(decodeModel(bytes).graph.nodes.filter((n) => n.opType === 'DequantizeLinear').length).toBeGreaterThan(0);
    await expectCloseOnPairs(bytes, 0.85);
  });
});
