// Encoder–decoder generation over ONNX sessions (the two graphs of `exportSeq2Seq`) with
// @attend/core's decoding: the source is encoded once; a cached step function feeds the merged
// decoder only the newest token, reusing the self-attention cache and the cross-attention
// keys/values of the first step (use_cache_branch). Beam search's `context.parents` reorder
// and repeat both caches, and each row's encoder output and source mask follow the input row
// it descends from — the same contract as @attend/transformer's tfjs `translate`.

import { configAs, ShapeError, type DecodeStrategy, type TranslateOptions, type StepFunction, type Translator } from '@attend/core';
import { gatherRows, lastQueryRows } from '../../generate.js';
import type { OnnxModel, OutputTensor, Seq2SeqCache, TokenMatrix } from '../../session.js';

/** The two sessions of a seq2seq export: encoder_model.onnx and decoder_model_merged.onnx. */
export interface OnnxSeq2SeqModel {
  encoder: OnnxModel;
  decoder: OnnxModel;
}

/** Right-padded source token ids [batchSize, seqLen] with each row's valid length. */
export interface SourceBatch {
  ids: ArrayLike<number>;
  batchSize: number;
  seqLen: number;
  /** Default: every row full. */
  lengths?: ArrayLike<number>;
}

/** Encoder output of a batch, and its source mask: what the decoder attends to. */
export interface EncodedSource {
  states: OutputTensor; // [B, S, d]
  mask: TokenMatrix; // [B, S]
}

/** Checks that `model` is an encoder + merged-decoder pair of one export. */
export function checkSeq2SeqModel(model: OnnxSeq2SeqModel): void {
  if (model.encoder.graph !== 'seq2seq-encoder') throw new ShapeError(`the encoder session holds a '${model.encoder.graph}' graph, expected encoder_model.onnx (seq2seq-encoder)`);
  if (model.decoder.graph !== 'seq2seq-decoder') throw new ShapeError(`the decoder session holds a '${model.decoder.graph}' graph, expected decoder_model_merged.onnx (seq2seq-decoder)`);
  if (JSON.stringify(model.encoder.config) !== JSON.stringify(model.decoder.config)) throw new ShapeError('the encoder and decoder graphs come from different models (their configs differ)');
}

/** The [B, S] source mask of a right-padded batch (1 on each row's first `lengths[b]` positions). */
export function encodeSourceMask(source: SourceBatch): { data: Int32Array; batchSize: number; seqLen: number } {
  const { batchSize: B, seqLen: S } = source;
  const mask = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    const n = source.lengths ? source.lengths[b]! : S;
    if (!Number.isInteger(n) || n < 1 || n > S) throw new ShapeError(`source length ${n} of row ${b} is outside [1, ${S}]`);
    mask.fill(1, b * S, b * S + n);
  }
  return { data: mask, batchSize: B, seqLen: S };
}

/** Runs the encoder over a right-padded source batch. */
export async function encodeSource(encoder: OnnxModel, source: SourceBatch): Promise<EncodedSource> {
  const { batchSize: B, seqLen: S } = source;
  const maskMatrix = encodeSourceMask(source);
  const { lastHiddenState } = await encoder.encode({ inputIds: { data: source.ids, batchSize: B, seqLen: S }, attentionMask: maskMatrix });
  return { states: lastHiddenState, mask: maskMatrix };
}

/**
 * Checks a step call and follows each decoding row back to its source row (beam search
 * reorders and repeats rows through `parents`): the encoder states [rows, S, d] and mask
 * [rows, S] of those source rows, gathered once per new row order.
 */
export function sourceRowsOf<M extends { states: OutputTensor; mask: TokenMatrix }>(
  memory: M,
): (tokens: Int32Array, batchSize: number, length: number, parents?: Int32Array) => { rows: Int32Array; memory: { states: OutputTensor; mask: TokenMatrix } } {
  const sources = memory.states.dims[0]!;
  const S = memory.mask.seqLen;
  let inputRows: Int32Array | undefined; // source row of each row of the previous call
  let gathered: { rows: Int32Array; memory: { states: OutputTensor; mask: TokenMatrix } } | undefined;
  const memoryOf = (rows: Int32Array): { states: OutputTensor; mask: TokenMatrix } => {
    if (rows.length === sources && rows.every((r, i) => r === i)) return memory;
    if (gathered && gathered.rows.length === rows.length && gathered.rows.every((r, i) => r === rows[i])) return gathered.memory;
    const mask = new Int32Array(rows.length * S);
    rows.forEach((r, i) => {
      for (let s = 0; s < S; s++) mask[i * S + s] = memory.mask.data[r * S + s]!;
    });
    gathered = { rows, memory: { states: gatherRows(memory.states, rows), mask: { data: mask, batchSize: rows.length, seqLen: S } } };
    return gathered.memory;
  };
  return (tokens, batchSize, length, parents) => {
    if (tokens.length !== batchSize * length) throw new ShapeError(`step function got ${tokens.length} tokens for [${batchSize}, ${length}]`);
    if (parents && parents.length !== batchSize) throw new ShapeError(`step function got ${parents.length} parents for ${batchSize} rows`);
    const rows = inputRows && parents ? Int32Array.from(parents, (p) => inputRows![p]!) : Int32Array.from({ length: batchSize }, (_, i) => i);
    if (rows.some((r) => r >= sources)) throw new ShapeError(`${batchSize} rows but ${sources} encoded sources`);
    inputRows = rows;
    return { rows, memory: memoryOf(rows) };
  };
}

/**
 * A cached step function over the merged seq2seq decoder, for one decoding run over `memory`.
 * The first call (and any call that does not extend the previous one by exactly one token)
 * runs the whole decoder input with use_cache_branch false; later calls run the newest token
 * with both caches, gathered by `context.parents`. With attention outputs, each step also
 * returns every layer's `decoder_attentions.l` [rows, H, length] and `cross_attentions.l`
 * [rows, H, S] of the predicting token.
 */
export function onnxSeq2SeqStepFunction(decoder: OnnxModel, memory: EncodedSource): StepFunction {
  if (decoder.graph !== 'seq2seq-decoder') throw new ShapeError(`seq2seq generation needs decoder_model_merged.onnx; this model is a '${decoder.config.preset}' ${decoder.graph} graph`);
  const V = configAs(decoder.config, ['encoder-decoder'], 'seq2seq generation').vocabSize;
  let cache: Seq2SeqCache | undefined;
  let cachedLength = 0;
  const follow = sourceRowsOf(memory);

  return async (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    const { memory: mem } = follow(tokens, batchSize, length, parents);
    const feeds = { encoderHiddenStates: mem.states, encoderAttentionMask: mem.mask };
    let out;
    if (cache && parents && cachedLength === length - 1) {
      const identity = parents.length === cache.decoder[0]!.key.dims[0] && parents.every((p, i) => p === i);
      const gather = (layers: Seq2SeqCache['decoder']): Seq2SeqCache['decoder'] => layers.map((l) => ({ key: gatherRows(l.key, parents), value: gatherRows(l.value, parents) }));
      const past = identity ? cache : { decoder: gather(cache.decoder), encoder: gather(cache.encoder) };
      const ids = Int32Array.from({ length: batchSize }, (_, i) => tokens[i * length + length - 1]!);
      out = await decoder.runSeq2SeqDecoder({ inputIds: { data: ids, batchSize, seqLen: 1 }, past, ...feeds });
    } else {
      out = await decoder.runSeq2SeqDecoder({ inputIds: { data: tokens, batchSize, seqLen: length }, ...feeds });
    }
    cache = out.present;
    cachedLength = length;
    const outputs = lastQueryRows(out.attentions);
    const T = out.logits.dims[1]!;
    if (T === 1) return { logits: out.logits.data, outputs };
    const last = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) last.set(out.logits.data.subarray((b * T + T - 1) * V, (b * T + T) * V), b * V);
    return { logits: last, outputs };
  };
}

export type { TranslateOptions };

/**
 * The two sessions of an encoder-decoder export as core's Translator: `start` encodes a source
 * batch once and decodes over it from bos (decoder_start_token_id) with the cached step function.
 */
export function seq2seqTranslator(model: OnnxSeq2SeqModel): Translator<SourceBatch> {
  checkSeq2SeqModel(model);
  return {
    config: configAs(model.decoder.config, ['encoder-decoder'], 'translate'),
    start: async (source) => ({ step: onnxSeq2SeqStepFunction(model.decoder, await encodeSource(model.encoder, source)) }),
  };
}
