// Generation over the two graphs of an rnn-seq2seq export (`exportRnnSeq2Seq`) with @attend/core's
// decoding: the source is encoded once (encoder states + the decoder's initial state); the step
// function runs the one-step decoder graph on each row's newest token and keeps the recurrent
// state (hidden_state [L, B, d], an LSTM's cell_state [L, B, d], and Luong attention's
// attentional_state [B, d]) between calls.
// Beam search's `context.parents` reorder and repeat the state rows, and each row's encoder
// states and source mask follow the input row it descends from — the contract of
// @attend/transformer's tfjs `translate`. A call that does not extend the previous one by one
// token replays its rows from the initial state.

import { ConfigError, decodeRows, ShapeError, translateDecodeOptions, translateWith, type RnnSeq2SeqConfig, type StepFunction, type StepOutputs, type Translator } from '@attend/core';
import type { Tensor } from 'onnxruntime-common';
import { gatherRows } from '../../generate.js';
import { GraphSession, type OutputTensor, type TokenMatrix } from '../../graph-session.js';
import { checkSessionPair, encodeSourceMask, encoderStatesLength, sourceRowsOf, type EncoderFeeds, type SourceBatch, type TranslateOptions } from '../encoder-decoder/session.js';

export interface RnnEncoderOutputs {
  /** [B, S, dModel]; zero at padded positions. */
  lastHiddenState: OutputTensor;
  /** [L, B, dModel]: the decoder's first hidden state (the bridge over the final encoder states). */
  decoderInitialState: OutputTensor;
}

export interface RnnDecoderStepFeeds {
  /** One token per row [B, 1]. */
  inputIds: TokenMatrix;
  /** The encoder output [B, S, dModel] for these rows. */
  encoderHiddenStates: OutputTensor;
  /** [B, S] source mask; default all ones. */
  encoderAttentionMask?: TokenMatrix;
  /** [L, B, dModel]: the decoder state before this step. */
  hiddenState: OutputTensor;
  /** [L, B, dModel]: an LSTM decoder's cell state before this step (zeros at the first step, the default). */
  cellState?: OutputTensor;
  /** [B, dModel]: h̃ of the previous step (Luong attention's input feeding; zeros at the first step). */
  attentionalState?: OutputTensor;
}

export interface RnnDecoderStepOutputs {
  /** [B, 1, V] */
  logits: OutputTensor;
  /** [L, B, dModel] */
  hiddenState: OutputTensor;
  /** [L, B, dModel]; LSTM only. */
  cellState?: OutputTensor;
  /** [B, dModel]; Luong attention (dot, general, concat, local-p) only. */
  attentionalState?: OutputTensor;
  /** [B, 1, S]; with attention only. */
  attentionWeights?: OutputTensor;
}

/** The rnn-seq2seq encoder graph. */
export class RnnEncoderSession extends GraphSession<RnnSeq2SeqConfig> {
  /** Source tokens → encoder states and the decoder's initial state. */
  async runRnnEncoder(feeds: EncoderFeeds): Promise<RnnEncoderOutputs> {
    const ids = feeds.inputIds;
    const out = await this.runGraph({
      input_ids: this.tokenIds('input_ids', ids, this.config.vocabSize),
      attention_mask: this.mask('attention_mask', feeds.attentionMask, ids.batchSize, ids.seqLen, ` but input_ids is [${ids.batchSize}, ${ids.seqLen}]`),
    });
    return { lastHiddenState: out('last_hidden_state'), decoderInitialState: out('decoder_initial_state') };
  }
}

/** The rnn-seq2seq decoder-step graph. */
export class RnnDecoderStepSession extends GraphSession<RnnSeq2SeqConfig> {
  /** One step: each row's newest token and recurrent state → logits and the next state. */
  async runRnnDecoderStep(feeds: RnnDecoderStepFeeds): Promise<RnnDecoderStepOutputs> {
    const c = this.config;
    const d = c.dModel;
    const L = c.numDecoderLayers;
    const ids = feeds.inputIds;
    if (ids.seqLen !== 1) throw new ShapeError(`input_ids is [${ids.batchSize}, ${ids.seqLen}]; the rnn decoder step takes one token per row`);
    const B = ids.batchSize;
    const tensors: Record<string, Tensor> = {};
    tensors.input_ids = this.tokenIds('input_ids', ids, c.vocabSize);
    const states = feeds.encoderHiddenStates;
    const S = encoderStatesLength(states, B, d);
    tensors.encoder_hidden_states = new this.ort.Tensor('float32', states.data, [B, S, d]);
    tensors.encoder_attention_mask = this.mask('encoder_attention_mask', feeds.encoderAttentionMask, B, S, `, expected [${B}, ${S}]`);
    tensors.hidden_state = this.floats('hidden_state', feeds.hiddenState, [L, B, d]);
    const lstm = this.session.inputNames.includes('cell_state');
    if (lstm) tensors.cell_state = this.floats('cell_state', feeds.cellState ?? { data: new Float32Array(L * B * d), dims: [L, B, d] }, [L, B, d]);
    const feeding = this.session.inputNames.includes('attentional_state');
    if (feeding) tensors.attentional_state = this.floats('attentional_state', feeds.attentionalState ?? { data: new Float32Array(B * d), dims: [B, d] }, [B, d]);
    const out = await this.runGraph(tensors);
    return {
      logits: out('logits'),
      hiddenState: out('present_hidden_state'),
      ...(lstm ? { cellState: out('present_cell_state') } : {}),
      ...(feeding ? { attentionalState: out('present_attentional_state') } : {}),
      ...(this.session.outputNames.includes('attention_weights') ? { attentionWeights: out('attention_weights') } : {}),
    };
  }
}

/** The two sessions of an rnn-seq2seq export: the encoder and the one-step decoder. */
export interface OnnxRnnSeq2SeqModel {
  encoder: RnnEncoderSession;
  decoder: RnnDecoderStepSession;
}

/** What the rnn decoder reads: encoder states [B, S, d], source mask [B, S], initial state [L, B, d]. */
export interface RnnEncodedSource {
  states: OutputTensor;
  mask: TokenMatrix;
  initialState: OutputTensor;
}

/** `model` typed, once checked to be the encoder + decoder-step pair of one rnn-seq2seq export. */
export function checkRnnSeq2SeqModel(model: { encoder: GraphSession; decoder: GraphSession }): OnnxRnnSeq2SeqModel {
  return checkSessionPair(model, [RnnEncoderSession, 'an rnn-seq2seq encoder'], [RnnDecoderStepSession, 'an rnn-seq2seq decoder step']);
}

/** Runs the rnn encoder over a right-padded source batch. */
export async function encodeRnnSource(encoder: RnnEncoderSession, source: SourceBatch): Promise<RnnEncodedSource> {
  const mask = encodeSourceMask(source);
  const out = await encoder.runRnnEncoder({ inputIds: { data: source.ids, batchSize: source.batchSize, seqLen: source.seqLen }, attentionMask: mask });
  return { states: out.lastHiddenState, mask, initialState: out.decoderInitialState };
}

/** Rows `rows` of the middle axis of t [L, B, d]. */
function gatherMiddle(t: OutputTensor, rows: ArrayLike<number>): OutputTensor {
  const [L, B, d] = t.dims as [number, number, number];
  const data = new Float32Array(L * rows.length * d);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r < 0 || r >= B) throw new ShapeError(`parent row ${r} is outside [0, ${B})`);
      data.set(t.data.subarray((l * B + r) * d, (l * B + r + 1) * d), (l * rows.length + i) * d);
    }
  }
  return { data, dims: [L, rows.length, d] };
}

/**
 * A step function over the rnn decoder-step graph, for one decoding run over `memory`. Models
 * with attention also return, per step, `attention` [rows, S]: the weights over the source of
 * the step that produced the returned logits.
 */
export function onnxRnnStepFunction(decoder: RnnDecoderStepSession, memory: RnnEncodedSource): StepFunction {
  let state: { hidden: OutputTensor; cell?: OutputTensor; attentional?: OutputTensor; length: number } | undefined;
  const follow = sourceRowsOf(memory);

  return async (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    const { rows, memory: mem } = follow(tokens, batchSize, length, parents);
    const column = (t: number): Int32Array => Int32Array.from({ length: batchSize }, (_, b) => tokens[b * length + t]!);
    const run = async (t: number, hidden: OutputTensor, cell: OutputTensor | undefined, attentional: OutputTensor | undefined) =>
      decoder.runRnnDecoderStep({
        inputIds: { data: column(t), batchSize, seqLen: 1 },
        encoderHiddenStates: mem.states,
        encoderAttentionMask: mem.mask,
        hiddenState: hidden,
        ...(cell ? { cellState: cell } : {}),
        ...(attentional ? { attentionalState: attentional } : {}),
      });
    let out;
    if (state && parents && state.length === length - 1) {
      const identity = parents.length === state.hidden.dims[1] && parents.every((p, i) => p === i);
      const layers = (t: OutputTensor | undefined): OutputTensor | undefined => (t && !identity ? gatherMiddle(t, parents) : t);
      const attentional = state.attentional && !identity ? gatherRows(state.attentional, parents) : state.attentional;
      out = await run(length - 1, layers(state.hidden)!, layers(state.cell), attentional);
    } else {
      out = await run(0, gatherMiddle(memory.initialState, rows), undefined, undefined);
      for (let t = 1; t < length; t++) out = await run(t, out.hiddenState, out.cellState, out.attentionalState);
    }
    state = { hidden: out.hiddenState, length, ...(out.cellState ? { cell: out.cellState } : {}), ...(out.attentionalState ? { attentional: out.attentionalState } : {}) };
    const outputs: StepOutputs = {};
    const w = out.attentionWeights;
    if (w) outputs.attention = { data: w.data, dims: [batchSize, w.data.length / batchSize] };
    return { logits: out.logits.data, outputs };
  };
}

/**
 * The decoder run over whole target rows [B, T] (teacher forcing: bos first), one step per
 * position from the initial state: logits [B, T, V] and, with attention, the weights [B, T, S] —
 * what the tfjs forward returns for (source, target).
 */
export async function runRnnDecoder(decoder: RnnDecoderStepSession, memory: RnnEncodedSource, target: TokenMatrix): Promise<{ logits: OutputTensor; attentionWeights?: OutputTensor }> {
  const { batchSize: B, seqLen: T } = target;
  if (target.data.length !== B * T) throw new ShapeError(`target: ${target.data.length} values for shape [${B}, ${T}]`);
  const V = decoder.config.vocabSize;
  const S = memory.mask.seqLen;
  const logits = new Float32Array(B * T * V);
  let weights: Float32Array | undefined;
  let hidden = memory.initialState;
  let cell: OutputTensor | undefined;
  let attentional: OutputTensor | undefined;
  for (let t = 0; t < T; t++) {
    const out = await decoder.runRnnDecoderStep({
      inputIds: { data: Int32Array.from({ length: B }, (_, b) => target.data[b * T + t]!), batchSize: B, seqLen: 1 },
      encoderHiddenStates: memory.states,
      encoderAttentionMask: memory.mask,
      hiddenState: hidden,
      ...(cell ? { cellState: cell } : {}),
      ...(attentional ? { attentionalState: attentional } : {}),
    });
    for (let b = 0; b < B; b++) logits.set(out.logits.data.subarray(b * V, (b + 1) * V), (b * T + t) * V);
    if (out.attentionWeights) {
      weights ??= new Float32Array(B * T * S);
      for (let b = 0; b < B; b++) weights.set(out.attentionWeights.data.subarray(b * S, (b + 1) * S), (b * T + t) * S);
    }
    hidden = out.hiddenState;
    cell = out.cellState;
    attentional = out.attentionalState;
  }
  return { logits: { data: logits, dims: [B, T, V] }, ...(weights ? { attentionWeights: { data: weights, dims: [B, T, S] } } : {}) };
}

/** The two sessions of an rnn-seq2seq export as core's Translator: `start` encodes a source batch once and decodes over it with the decoder-step graph. */
export function rnnTranslator(sessions: { encoder: GraphSession; decoder: GraphSession }): Translator<SourceBatch> {
  const model = checkRnnSeq2SeqModel(sessions);
  return {
    config: model.decoder.config,
    start: async (source) => ({ step: onnxRnnStepFunction(model.decoder, await encodeRnnSource(model.encoder, source)) }),
  };
}

/** `translate` over an rnn-seq2seq export's sessions (the form before Translator; tests use it). */
export async function translateRnn(model: { encoder: GraphSession; decoder: GraphSession }, source: SourceBatch, options: TranslateOptions): Promise<number[][]> {
  return translateWith(rnnTranslator(model), source, options);
}

export interface RnnTranslation {
  ids: number[][];
  /**
   * attention[b][i]: row b's attention weights over its source (S values, zero at padding) when
   * it produced its i-th token; one entry per generated id, plus one for the eos when produced.
   */
  attention: Float32Array[][];
}

/** `translateRnn`, also returning the attention weights of every step that produced a token (for beam search, along the best hypothesis). */
export async function translateRnnWithAttention(sessions: { encoder: GraphSession; decoder: GraphSession }, source: SourceBatch, options: TranslateOptions): Promise<RnnTranslation> {
  const translator = rnnTranslator(sessions);
  if (checkRnnSeq2SeqModel(sessions).decoder.config.rnnAttention === 'none') throw new ConfigError('rnnAttention', "this rnn-seq2seq model has no attention ('none')");
  const { step } = await translator.start(source);
  const rows = await decodeRows(step, translateDecodeOptions(translator.config, source.batchSize, options), options.strategy);
  return { ids: rows.map((r) => r.ids), attention: rows.map((r) => r.steps.map((s) => s.attention!.data)) };
}
