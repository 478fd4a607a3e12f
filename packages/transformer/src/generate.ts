// Inference over a tfjs model (any encoder–decoder preset) with @attend/core's decoding (greedy, sampling, beam):
// a step function runs the decoder on the tokens so far and returns the last position's logits.
// The tfjs side recomputes the prefix each step (no cache); the ONNX runtime has the KV cache.

import * as tf from '@tensorflow/tfjs-core';
import { decodeWith, hasTokens, modelTask, ShapeError, type DecodeStrategy, type StepFunction, type TranslateOptions } from '@attend/core';
import type { TokenBatch } from './model.js';
import type { AttendModel } from './models.js';

export type { DecodeStrategy };

/**
 * Step function over the model's decoder, for one decoding run. For the encoder–decoder pass
 * the encoded source; when beam search reorders or repeats rows, each row's source is found by
 * following `context.parents` back to the input row it came from.
 */
export function tfjsStepFunction(model: AttendModel, memory?: { states: tf.Tensor3D; source: TokenBatch }): StepFunction {
  let inputRows: Int32Array | undefined; // input (source) row of each row of the previous call
  return (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    inputRows = inputRows && parents ? Int32Array.from(parents, (p) => inputRows![p]!) : Int32Array.from({ length: batchSize }, (_, i) => i);
    const rows = inputRows;
    const logits = tf.tidy(() => {
      let mem = memory;
      if (memory && !rows.every((r, i) => r === i && rows.length === memory.source.batchSize)) {
        mem = { states: tf.gather(memory.states, tf.tensor1d(rows, 'int32')) as tf.Tensor3D, source: gatherRows(memory.source, rows) };
      }
      const states = model.decode({ ids: tokens, batchSize, seqLen: length }, mem);
      const [B, T, d] = states.shape;
      return model.lmLogits(tf.slice(states, [0, T - 1, 0], [B, 1, d]) as tf.Tensor3D);
    });
    // Read outside tidy: tidy walks a returned typed array element by element.
    const values = logits.dataSync() as Float32Array;
    logits.dispose();
    return values;
  };
}

/** Decodes a batch of encoded sources [B, S] (encoder–decoder) or images (image-captioner); returns the best ids per row. */
export async function translate(model: AttendModel, source: TokenBatch, options: TranslateOptions): Promise<number[][]>;
/** The same with the length and strategy as arguments (the form before TranslateOptions). */
export async function translate(model: AttendModel, source: TokenBatch, maxNewTokens: number, strategy?: DecodeStrategy): Promise<number[][]>;
export async function translate(model: AttendModel, source: TokenBatch, lengthOrOptions: number | TranslateOptions, strategyArg?: DecodeStrategy): Promise<number[][]> {
  const { maxNewTokens, strategy = { kind: 'greedy' }, onToken } = typeof lengthOrOptions === 'number' ? { maxNewTokens: lengthOrOptions, strategy: strategyArg, onToken: undefined } : lengthOrOptions;
  const c = model.config;
  if (!hasTokens(c) || (modelTask(c) !== 'translation' && modelTask(c) !== 'image-to-text')) throw new ShapeError(`translate: a ${c.preset} model; translate needs an encoder-decoder, rnn-seq2seq or image-captioner${c.preset === 'decoder-lm' ? ' (a decoder-lm continues a prompt: generate)' : ''}`);
  const memory = { states: tf.tidy(() => model.encode(source)), source };
  try {
    const step = tfjsStepFunction(model, memory);
    const options = { batchSize: source.batchSize, vocabSize: c.vocabSize, bosTokenId: c.bosTokenId, eosTokenId: c.eosTokenId, maxNewTokens: Math.min(maxNewTokens, c.maxSeqLen - 1), ...(onToken ? { onToken } : {}) };
    return await decodeWith(step, options, strategy);
  } finally {
    memory.states.dispose();
  }
}

/** Greedy decoding of a batch of encoded sources (encoder–decoder). */
export function greedyTranslate(model: AttendModel, source: TokenBatch, maxNewTokens: number): Promise<number[][]> {
  return translate(model, source, maxNewTokens, { kind: 'greedy' });
}

function gatherRows(batch: TokenBatch, rows: Int32Array): TokenBatch {
  const ids = new Int32Array(rows.length * batch.seqLen);
  rows.forEach((r, i) => ids.set(batch.ids.subarray(r * batch.seqLen, (r + 1) * batch.seqLen), i * batch.seqLen));
  const lengths = batch.lengths ? Int32Array.from(rows, (r) => batch.lengths![r]!) : undefined;
  return { ids, batchSize: rows.length, seqLen: batch.seqLen, lengths };
}

/**
 * The logits of one forward pass over `input` (a decoder-lm: [B, T, V], next-token logits at
 * every position), read into a typed array; no tensor outlives the call.
 */
export async function forwardLogits(model: AttendModel, input: TokenBatch): Promise<Float32Array> {
  const logits = tf.tidy(() => model.forward(input).logits);
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}
