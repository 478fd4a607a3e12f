// Encoder–decoder graphs and generation over ONNX sessions (the two graphs of `exportSeq2Seq`,
// and the one forward graph of `exportForward`) with @attend/core's decoding: the source is
// encoded once; a cached step function feeds the merged
// decoder only the newest token, reusing the self-attention cache and the cross-attention
// keys/values of the first step (use_cache_branch). Beam search's `context.parents` reorder
// and repeat both caches, and each row's encoder output and source mask follow the input row
// it descends from — the same contract as @attend/transformer's tfjs `translate`.

import { ShapeError, type EncoderDecoderConfig, type TranslateOptions, type StepFunction, type Translator } from '@attend/core';
import type { Tensor } from 'onnxruntime-common';
import { gatherRows, lastQueryRows } from '../../generate.js';
import { seq2seqPastName, seq2seqPresentName } from '../../graph-io.js';
import { GraphSession, type ForwardOutputs, type SessionClass, type KvCache, type OutputTensor, type TokenMatrix } from '../../graph-session.js';
import type { ForwardFeeds } from '../encoder-classifier/session.js';

export interface Seq2SeqForwardFeeds extends ForwardFeeds {
  /** The decoder input [B, T] (bos first); required. */
  decoderInputIds?: TokenMatrix;
  /** 1 for real decoder tokens, 0 for right padding; default all ones. */
  decoderAttentionMask?: TokenMatrix;
}

/** An encoder–decoder's single forward graph (source and decoder input in, logits out). */
export class Seq2SeqForwardSession extends GraphSession<EncoderDecoderConfig> {
  /** The forward pass over whole source and decoder-input rows. */
  async run(feeds: Seq2SeqForwardFeeds): Promise<ForwardOutputs> {
    const c = this.config;
    const { inputIds: ids, decoderInputIds: target } = feeds;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokenIds('input_ids', ids, c.vocabSize);
    tensors.attention_mask = this.mask('attention_mask', feeds.attentionMask, ids.batchSize, ids.seqLen, ` but input_ids is [${ids.batchSize}, ${ids.seqLen}]`);
    if (!target) throw new ShapeError(`preset '${c.preset}' needs decoderInputIds`);
    if (target.batchSize !== ids.batchSize) throw new ShapeError(`decoder_input_ids has batch size ${target.batchSize} but input_ids has ${ids.batchSize}`);
    tensors.decoder_input_ids = this.tokenIds('decoder_input_ids', target, c.vocabSize);
    tensors.decoder_attention_mask = this.mask('decoder_attention_mask', feeds.decoderAttentionMask, target.batchSize, target.seqLen, ` but decoder_input_ids is [${target.batchSize}, ${target.seqLen}]`);
    return this.forwardOutputs(await this.runGraph(tensors));
  }
}

export interface EncoderFeeds {
  inputIds: TokenMatrix;
  /** 1 for real tokens, 0 for right padding; default all ones. */
  attentionMask?: TokenMatrix;
}

export interface EncoderOutputs {
  /** [B, S, dModel] */
  lastHiddenState: OutputTensor;
  attentions: Record<string, OutputTensor>;
}

/** The caches of a seq2seq decoder: self-attention (grows) and cross-attention (fixed), per layer. */
export interface Seq2SeqCache {
  decoder: KvCache;
  encoder: KvCache;
}

export interface Seq2SeqDecoderFeeds {
  /** The new decoder tokens [B, T]. */
  inputIds: TokenMatrix;
  /** The encoder output [B, S, dModel] for these rows. */
  encoderHiddenStates: OutputTensor;
  /** [B, S] source mask; default all ones. */
  encoderAttentionMask?: TokenMatrix;
  /** The caches from the previous call (`present`); none on the first call. */
  past?: Seq2SeqCache;
}

export interface Seq2SeqDecoderOutputs extends ForwardOutputs {
  present: Seq2SeqCache;
}

/** The seq2seq encoder graph (encoder_model.onnx). */
export class Seq2SeqEncoderSession extends GraphSession<EncoderDecoderConfig> {
  /** Source tokens → last_hidden_state [B, S, d] (and encoder_attentions.{l} when exported with them). */
  async encode(feeds: EncoderFeeds): Promise<EncoderOutputs> {
    const ids = feeds.inputIds;
    const out = await this.runGraph({
      input_ids: this.tokenIds('input_ids', ids, this.config.vocabSize),
      attention_mask: this.mask('attention_mask', feeds.attentionMask, ids.batchSize, ids.seqLen, ` but input_ids is [${ids.batchSize}, ${ids.seqLen}]`),
    });
    return { lastHiddenState: out('last_hidden_state'), attentions: this.outputsWhere(out, (name) => name !== 'last_hidden_state') };
  }
}

/** Checks encoder states [B, S, d] for `B` rows; returns S. */
export function encoderStatesLength(states: OutputTensor, B: number, d: number): number {
  const S = states.dims[1] ?? 0;
  if (states.dims.length !== 3 || states.dims[0] !== B || states.dims[2] !== d || states.data.length !== B * S * d) {
    throw new ShapeError(`encoder_hidden_states is [${states.dims}] (${states.data.length} values), expected [${B}, S, ${d}]`);
  }
  return S;
}

/** The merged seq2seq decoder graph (decoder_model_merged.onnx). */
export class Seq2SeqDecoderSession extends GraphSession<EncoderDecoderConfig> {
  /**
   * One call: new decoder tokens, the encoder output and mask, and the caches of the previous
   * call (none on the first: use_cache_branch false, the cross-attention keys and values are
   * computed from the encoder output).
   */
  async runSeq2SeqDecoder(feeds: Seq2SeqDecoderFeeds): Promise<Seq2SeqDecoderOutputs> {
    const c = this.config;
    const ids = feeds.inputIds;
    const { batchSize: B, seqLen: T } = ids;
    const H = c.numHeads;
    const D = c.dModel / H;
    const L = c.numDecoderLayers;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokenIds('input_ids', ids, c.vocabSize);
    const states = feeds.encoderHiddenStates;
    const S = encoderStatesLength(states, B, c.dModel);
    tensors.encoder_attention_mask = this.mask('encoder_attention_mask', feeds.encoderAttentionMask, B, S, `, expected [${B}, ${S}]`);
    tensors.encoder_hidden_states = new this.ort.Tensor('float32', states.data, [B, S, c.dModel]);
    const past = feeds.past;
    if (past && (past.decoder.length !== L || past.encoder.length !== L)) throw new ShapeError(`past has ${past.decoder.length} decoder and ${past.encoder.length} encoder layers, expected ${L}`);
    const P = past?.decoder[0]?.key.dims[2] ?? 0;
    for (let i = 0; i < L; i++) {
      for (const cache of ['decoder', 'encoder'] as const) {
        for (const part of ['key', 'value'] as const) {
          const name = seq2seqPastName(i, cache, part);
          tensors[name] = past ? this.floats(name, past[cache][i]![part], [B, H, cache === 'decoder' ? P : S, D]) : new this.ort.Tensor('float32', new Float32Array(0), [B, H, 0, D]);
        }
      }
    }
    if (P + T > c.maxSeqLen) throw new ShapeError(`past length ${P} + ${T} new tokens exceeds maxSeqLen ${c.maxSeqLen}`);
    tensors.use_cache_branch = new this.ort.Tensor('bool', Uint8Array.of(past ? 1 : 0), [1]);
    const out = await this.runGraph(tensors);
    const layerCache = (cache: 'decoder' | 'encoder'): KvCache =>
      Array.from({ length: L }, (_, i) => ({ key: out(seq2seqPresentName(i, cache, 'key')), value: out(seq2seqPresentName(i, cache, 'value')) }));
    return { logits: out('logits'), attentions: this.outputsWhere(out, (name) => /^(decoder|cross)_attentions\./.test(name)), present: { decoder: layerCache('decoder'), encoder: layerCache('encoder') } };
  }
}

/** The two sessions of a seq2seq export: encoder_model.onnx and decoder_model_merged.onnx. */
export interface OnnxSeq2SeqModel {
  encoder: Seq2SeqEncoderSession;
  decoder: Seq2SeqDecoderSession;
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
  /** The encoder's attention outputs (`encoder_attentions.l`, [B, H, S, S]) when exported with them. */
  attentions?: Record<string, OutputTensor>;
}

/**
 * `pair` typed, once checked to be an encoder and a decoder session (`encoder`, `decoder`: what
 * each should be, for the error) of one export.
 */
export function checkSessionPair<E extends GraphSession, D extends GraphSession>(
  pair: { encoder: GraphSession; decoder: GraphSession },
  [Encoder, encoder]: [SessionClass<E>, string],
  [Decoder, decoder]: [SessionClass<D>, string],
): { encoder: E; decoder: D } {
  if (!(pair.encoder instanceof Encoder)) throw new ShapeError(`the encoder session holds a '${pair.encoder.graph}' graph, expected ${encoder}`);
  if (!(pair.decoder instanceof Decoder)) throw new ShapeError(`the decoder session holds a '${pair.decoder.graph}' graph, expected ${decoder}`);
  if (JSON.stringify(pair.encoder.config) !== JSON.stringify(pair.decoder.config)) throw new ShapeError('the encoder and decoder graphs come from different models (their configs differ)');
  return { encoder: pair.encoder, decoder: pair.decoder };
}

/** `model` typed, once checked to be an encoder + merged-decoder pair of one export. */
export function checkSeq2SeqModel(model: { encoder: GraphSession; decoder: GraphSession }): OnnxSeq2SeqModel {
  return checkSessionPair(model, [Seq2SeqEncoderSession, 'encoder_model.onnx (seq2seq-encoder)'], [Seq2SeqDecoderSession, 'decoder_model_merged.onnx (seq2seq-decoder)']);
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
export async function encodeSource(encoder: Seq2SeqEncoderSession, source: SourceBatch): Promise<EncodedSource> {
  const { batchSize: B, seqLen: S } = source;
  const maskMatrix = encodeSourceMask(source);
  const { lastHiddenState, attentions } = await encoder.encode({ inputIds: { data: source.ids, batchSize: B, seqLen: S }, attentionMask: maskMatrix });
  return { states: lastHiddenState, mask: maskMatrix, attentions };
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
export function onnxSeq2SeqStepFunction(decoder: Seq2SeqDecoderSession, memory: EncodedSource): StepFunction {
  const V = decoder.config.vocabSize;
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
 * batch once (returning the encoder's attention outputs when exported with them) and decodes
 * over it from bos (decoder_start_token_id) with the cached step function.
 */
export function seq2seqTranslator(sessions: { encoder: GraphSession; decoder: GraphSession }): Translator<SourceBatch> {
  const model = checkSeq2SeqModel(sessions);
  return {
    config: model.decoder.config,
    start: async (source) => {
      const memory = await encodeSource(model.encoder, source);
      return { step: onnxSeq2SeqStepFunction(model.decoder, memory), attentions: memory.attentions ?? {} };
    },
  };
}
