// Inference over a tfjs model (any encoder–decoder preset) with @attend/core's decoding (greedy, sampling, beam):
// a step function runs the decoder on the tokens so far and returns the last position's logits.
// The tfjs side recomputes the prefix each step (no cache); the ONNX runtime has the KV cache.

import * as tf from '@tensorflow/tfjs-core';
import { hasTokens, lastQueryRows, modelTask, ShapeError, translateWith, type DecodeStrategy, type StepFunction, type StepTensor, type TranslateOptions, type Translator } from '@attend/core';
import type { AttentionMaps, TokenBatch } from './model.js';
import type { AttendModel } from './models.js';

export type { DecodeStrategy };

/**
 * Step function over the model's decoder, for one decoding run. For the encoder–decoder pass
 * the encoded source; when beam search reorders or repeats rows, each row's source is found by
 * following `context.parents` back to the input row it came from. With `attention`, each step
 * also returns the attention of the token it predicts under the ONNX graphs' names, as core's
 * per-step outputs: every layer's `decoder_attentions.l` [rows, H, length] and
 * `cross_attentions.l` [rows, H, S] (an rnn-seq2seq: its one attention as `cross_attentions.0`,
 * H = 1).
 */
export function tfjsStepFunction(model: AttendModel, memory?: { states: tf.Tensor3D; source: TokenBatch }, { attention = false }: { attention?: boolean } = {}): StepFunction {
  let inputRows: Int32Array | undefined; // input (source) row of each row of the previous call
  return async (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    inputRows = inputRows && parents ? Int32Array.from(parents, (p) => inputRows![p]!) : Int32Array.from({ length: batchSize }, (_, i) => i);
    const rows = inputRows;
    const maps: AttentionMaps | undefined = attention ? { encoder: [], decoderSelf: [], cross: [] } : undefined;
    const logits = tf.tidy(() => {
      let mem = memory;
      if (memory && !rows.every((r, i) => r === i && rows.length === memory.source.batchSize)) {
        mem = { states: tf.gather(memory.states, tf.tensor1d(rows, 'int32')) as tf.Tensor3D, source: gatherRows(memory.source, rows) };
      }
      const states = model.decode({ ids: tokens, batchSize, seqLen: length }, mem, {}, maps);
      if (maps) for (const t of [...maps.decoderSelf, ...maps.cross]) tf.keep(t);
      const [B, T, d] = states.shape;
      return model.lmLogits(tf.slice(states, [0, T - 1, 0], [B, 1, d]) as tf.Tensor3D);
    });
    // Read outside tidy (tidy walks a returned typed array element by element), asynchronously:
    // tfjs-webgpu's synchronous read goes through a canvas copy (zeros on SwiftShader in a worker).
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    if (!maps) return values;
    const [decoderSelf, cross] = await Promise.all([readMaps('decoder_attentions', maps.decoderSelf), readMaps('cross_attentions', maps.cross)]);
    return { logits: values, outputs: lastQueryRows({ ...decoderSelf, ...cross }) };
  };
}

/** Each layer's attention [B, H, Q, K] as `{prefix}.{l}`, read asynchronously (as the logits) and disposed. */
async function readMaps(prefix: string, layers: readonly tf.Tensor4D[]): Promise<Record<string, StepTensor>> {
  try {
    const values = await Promise.all(layers.map((t) => t.data() as Promise<Float32Array>));
    return Object.fromEntries(layers.map((t, l) => [`${prefix}.${l}`, { data: values[l]!, dims: t.shape }]));
  } finally {
    tf.dispose(layers as tf.Tensor4D[]);
  }
}

/**
 * The tfjs encoder–decoder `model` (encoder-decoder, rnn-seq2seq, or an image-captioner over
 * images) as core's Translator: each `start` encodes a batch of sources [B, S] once and decodes over it with `tfjsStepFunction`.
 * With `attention`, the steps return their attention rows (see tfjsStepFunction) and `start`
 * the encoder's self-attention, every layer's `encoder_attentions.l` [B, H, S, S].
 */
export function tfjsTranslator(model: AttendModel, { attention = false }: { attention?: boolean } = {}): Translator<TokenBatch> {
  const c = model.config;
  if (!hasTokens(c) || (modelTask(c) !== 'translation' && modelTask(c) !== 'image-to-text')) throw new ShapeError(`translate: a ${c.preset} model; translate needs an encoder-decoder, rnn-seq2seq or image-captioner${modelTask(c) === 'text-generation' ? ' (a decoder-lm continues a prompt: generate)' : ''}`);
  return {
    config: c,
    async start(source) {
      const maps: AttentionMaps | undefined = attention ? { encoder: [], decoderSelf: [], cross: [] } : undefined;
      const states = tf.tidy(() => {
        const encoded = model.encode(source, {}, maps);
        maps?.encoder.forEach((t) => tf.keep(t));
        return encoded;
      });
      const memory = { states, source };
      return {
        step: tfjsStepFunction(model, memory, { attention }),
        release: () => memory.states.dispose(),
        ...(maps ? { attentions: await readMaps('encoder_attentions', maps.encoder) } : {}),
      };
    },
  };
}

/** Decodes a batch of encoded sources [B, S] with core's loop; returns the best ids per row (the same `translate` as @attend/runtime-onnx's). */
export async function translate(translator: Translator<TokenBatch>, source: TokenBatch, options: TranslateOptions): Promise<number[][]>;
/** The same over a tfjs model (the form before Translator; tests and benches use it). */
export async function translate(model: AttendModel, source: TokenBatch, options: TranslateOptions): Promise<number[][]>;
/** The same with the length and strategy as arguments (the form before TranslateOptions). */
export async function translate(model: AttendModel, source: TokenBatch, maxNewTokens: number, strategy?: DecodeStrategy): Promise<number[][]>;
export async function translate(first: AttendModel | Translator<TokenBatch>, source: TokenBatch, lengthOrOptions: number | TranslateOptions, strategyArg?: DecodeStrategy): Promise<number[][]> {
  const options = typeof lengthOrOptions === 'number' ? { maxNewTokens: lengthOrOptions, ...(strategyArg ? { strategy: strategyArg } : {}) } : lengthOrOptions;
  return translateWith('start' in first ? first : tfjsTranslator(first), source, options);
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
