// Inference helpers over a tfjs TransformerModel: encoder–decoder greedy translation and
// decoder-only continuation, using @attend/core's decoding loop with a tfjs step function.
// The tfjs side recomputes the prefix each step (no cache); the ONNX runtime has the KV cache.

import * as tf from '@tensorflow/tfjs-core';
import { greedyDecode } from '@attend/core';
import type { TokenBatch, TransformerModel } from './model.js';

/** Greedy decoding of a batch of encoded sources [B, S] (with valid lengths). */
export async function greedyTranslate(model: TransformerModel, source: TokenBatch, maxNewTokens: number): Promise<number[][]> {
  const c = model.config;
  const limit = Math.min(maxNewTokens, c.maxSeqLen - 1);
  const memory = tf.tidy(() => model.encode(source));
  try {
    return await greedyDecode(
      (tokens, batchSize, length) => {
        const logits = tf.tidy(() => lastLogits(model, model.decode({ ids: tokens, batchSize, seqLen: length }, { states: memory, source })));
        // Read outside tidy: tidy walks a returned typed array element by element.
        const values = logits.dataSync() as Float32Array;
        logits.dispose();
        return values;
      },
      { batchSize: source.batchSize, vocabSize: c.vocabSize, bosTokenId: c.bosTokenId, eosTokenId: c.eosTokenId, maxNewTokens: limit },
    );
  } finally {
    memory.dispose();
  }
}

/** Logits of the last position, [B, 1, V]. */
function lastLogits(model: TransformerModel, states: tf.Tensor3D): tf.Tensor {
  const [B, T, d] = states.shape;
  return model.lmLogits(tf.slice(states, [0, T - 1, 0], [B, 1, d]) as tf.Tensor3D);
}
