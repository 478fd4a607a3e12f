// BERT's token types (typeVocabSize > 0): the classifier graph takes token_type_ids as
// transformers.js's BERT exports do, and equals tfjs to 1e-4 under onnxruntime-node and -web on
// sentence pairs (segment B typed 1, padded rows); the types change the logits (the test would
// not pass with them dropped); a graph without token types refuses them in one line.

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, ShapeError } from '@attend/core';
import { setupBackend, type TransformerModel } from '@attend/transformer';
import { asSession } from '../../graph-session.js';
import { exportCheckpointFiles } from '../../export.js';
import { createOnnxModel as createNodeModel } from '../../node.js';
import { createOnnxModel as createWebModel } from '../../web.js';
import { checkpointFiles, failure, makeModel, maxAbsDiff, randomBatch } from '../../test-utils/models.js';
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
