// Step-by-step greedy decoding over ONNX Runtime sessions that keeps, for every generated
// token, the attention weights of its query in every layer and head — what the heatmaps draw —
// and the time the step took. Encoder–decoder exports: encode once, then one merged-decoder
// call per token with both caches (as @attend/runtime-onnx's translate); the GRU
// encoder–decoder (rnn-seq2seq) the same way with its recurrent state. Decoder-lm exports:
// the prompt in one KV-cache call, then one call per token.

import type { TokenModelConfig, Tokenizer } from '@attend/core';
import { encodeRnnSource, onnxRnnStepFunction, type OnnxModel, type OutputTensor, type Seq2SeqCache, type KvCache } from '@attend/runtime-onnx';

export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Attention weights of one query (one step) in one layer: [heads, keys] row-major. */
export interface AttentionRow {
  heads: number;
  keys: number;
  data: Float32Array;
}

export interface DecodeStep {
  /** The token this step produced. */
  token: number;
  /** Wall-clock milliseconds of this step's session call (and argmax). */
  ms: number;
  /** Per layer: the new token's self-attention over the decoder tokens so far. */
  self: AttentionRow[];
  /** Per layer: the new token's attention over the source (encoder–decoder only). */
  cross: AttentionRow[];
}

export interface DecodeResult {
  /** Source ids (encoder–decoder) or the prompt without bos (decoder-lm). */
  input: number[];
  /** The decoder's input tokens: bos then every generated token but the last. */
  decoderInputs: number[];
  /** Generated ids, eos excluded. */
  output: number[];
  steps: DecodeStep[];
  /** Whether decoding ended with eos (else: maxNewTokens or maxSeqLen reached). */
  finished: boolean;
  /** Milliseconds of the encoder call (encoder–decoder) or the prompt call (decoder-lm). */
  prefillMs: number;
  /** Encoder self-attention per layer ([heads, S, S]), when exported with attention. */
  encoder: { heads: number; size: number; data: Float32Array }[];
}

/** The runnable sessions of a model folder (`rnn`: the GRU encoder–decoder's encoder and decoder-step graphs; `image`: a vit-classifier). */
export type Sessions =
  | { kind: 'seq2seq'; encoder: OnnxModel; decoder: OnnxModel }
  | { kind: 'rnn'; encoder: OnnxModel; decoder: OnnxModel }
  | { kind: 'lm'; model: OnnxModel }
  | { kind: 'image'; model: OnnxModel };

/**
 * Encodes the input text, rejecting what the model cannot take: empty input, or more tokens
 * than maxSeqLen allows. Returns the ids and the characters the tokenizer does not know.
 */
export function encodeInput(tokenizer: Tokenizer, config: TokenModelConfig, text: string): { ids: number[]; unknown: string[] } {
  if (text.trim() === '') throw new InputError('the input is empty; type some text');
  const ids = tokenizer.encode(text);
  const limit = config.preset === 'decoder-lm' ? config.maxSeqLen - 2 : config.maxSeqLen; // an LM needs bos + at least one new token
  if (ids.length > limit) throw new InputError(`the input is ${ids.length} tokens long; this model takes at most ${limit} (maxSeqLen ${config.maxSeqLen})`);
  const unk = tokenizer.specialTokenIds.unk;
  const unknown = [...new Set([...text].filter((ch) => tokenizer.encode(ch).includes(unk)))];
  return { ids, unknown };
}

/** Index of the largest of `n` values starting at `offset` (first one on ties). */
export function argmax(values: Float32Array, offset = 0, n = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}

/** The last query row of a [1, H, Q, K] attention output. */
export function lastQueryRow(t: OutputTensor): AttentionRow {
  const [, H, Q, K] = t.dims as [number, number, number, number];
  const data = new Float32Array(H * K);
  for (let h = 0; h < H; h++) data.set(t.data.subarray((h * Q + Q - 1) * K, (h * Q + Q) * K), h * K);
  return { heads: H, keys: K, data };
}

/** Attention outputs of one layer kind (`cross_attentions`, …) in layer order. */
function layers(attentions: Record<string, OutputTensor>, prefix: string): OutputTensor[] {
  const out: OutputTensor[] = [];
  for (let i = 0; attentions[`${prefix}.${i}`]; i++) out.push(attentions[`${prefix}.${i}`]!);
  return out;
}

export interface DecodeOptions {
  /** Default: as many as maxSeqLen allows. */
  maxNewTokens?: number;
  /** Called after every step (to update the page while decoding). */
  onStep?: (step: DecodeStep, index: number) => void;
}

/** Greedy decoding of one input, keeping every step's attention and latency. */
export async function decodeWithAttention(sessions: Sessions, config: TokenModelConfig, input: number[], options: DecodeOptions = {}): Promise<DecodeResult> {
  if (sessions.kind === 'image') throw new InputError('a vit-classifier classifies images; it does not decode text');
  if (sessions.kind === 'lm') return decodeLm(sessions.model, config, input, options);
  return (sessions.kind === 'rnn' ? decodeRnn : decodeSeq2Seq)(sessions.encoder, sessions.decoder, config, input, options);
}

/**
 * The GRU encoder–decoder: encode once, then one decoder-step call per token carrying the
 * recurrent state (runtime-onnx's step function); its one attention over the source ([1, 1, S]
 * per step) is the cross-attention row, with one layer and one head.
 */
async function decodeRnn(encoder: OnnxModel, decoder: OnnxModel, config: TokenModelConfig, source: number[], options: DecodeOptions): Promise<DecodeResult> {
  const S = source.length;
  const t0 = performance.now();
  const memory = await encodeRnnSource(encoder, { ids: source, batchSize: 1, seqLen: S });
  const prefillMs = performance.now() - t0;
  let weights: OutputTensor | undefined;
  const step = onnxRnnStepFunction(decoder, memory, (w) => (weights = w));
  const parents = Int32Array.of(0);
  return greedyFromBos(config, source, { ms: prefillMs, encoder: [] }, options, async (inputs) => {
    weights = undefined;
    const logits = await step(Int32Array.from(inputs), 1, inputs.length, { parents });
    const cross = weights ? [{ heads: 1, keys: S, data: Float32Array.from((weights as OutputTensor).data) }] : [];
    return { token: argmax(logits, 0, config.vocabSize), self: [], cross };
  });
}

async function decodeSeq2Seq(encoder: OnnxModel, decoder: OnnxModel, config: TokenModelConfig, source: number[], options: DecodeOptions): Promise<DecodeResult> {
  const S = source.length;
  const t0 = performance.now();
  const encoded = await encoder.encode({ inputIds: { data: source, batchSize: 1, seqLen: S } });
  const prefillMs = performance.now() - t0;
  const encoderLayers = layers(encoded.attentions, 'encoder_attentions').map((t) => ({ heads: t.dims[1]!, size: S, data: t.data }));
  const mask = { data: new Array<number>(S).fill(1), batchSize: 1, seqLen: S };
  let past: Seq2SeqCache | undefined;
  return greedyFromBos(config, source, { ms: prefillMs, encoder: encoderLayers }, options, async (inputs) => {
    const last = inputs[inputs.length - 1]!;
    const out = await decoder.runSeq2SeqDecoder({ inputIds: { data: [last], batchSize: 1, seqLen: 1 }, encoderHiddenStates: encoded.lastHiddenState, encoderAttentionMask: mask, ...(past ? { past } : {}) });
    past = out.present;
    return {
      token: argmax(out.logits.data),
      self: layers(out.attentions, 'decoder_attentions').map(lastQueryRow),
      cross: layers(out.attentions, 'cross_attentions').map(lastQueryRow),
    };
  });
}

/**
 * The greedy loop of both encoder–decoders: from bos, `next` runs one decoder step over the
 * decoder inputs so far (it keeps its own caches) until eos or the length limit.
 */
async function greedyFromBos(
  config: TokenModelConfig,
  source: number[],
  prefill: { ms: number; encoder: DecodeResult['encoder'] },
  options: DecodeOptions,
  next: (decoderInputs: number[]) => Promise<Omit<DecodeStep, 'ms'>>,
): Promise<DecodeResult> {
  const maxNew = Math.min(options.maxNewTokens ?? Infinity, config.maxSeqLen - 1);
  const steps: DecodeStep[] = [];
  const decoderInputs = [config.bosTokenId];
  let finished = false;
  while (steps.length < maxNew) {
    const started = performance.now();
    const partial = await next(decoderInputs);
    const step: DecodeStep = { ...partial, ms: performance.now() - started };
    steps.push(step);
    options.onStep?.(step, steps.length - 1);
    if (step.token === config.eosTokenId) {
      finished = true;
      break;
    }
    decoderInputs.push(step.token);
  }
  const output = steps.map((s) => s.token).slice(0, finished ? -1 : undefined);
  return { input: source, decoderInputs: decoderInputs.slice(0, steps.length), output, steps, finished, prefillMs: prefill.ms, encoder: prefill.encoder };
}

async function decodeLm(model: OnnxModel, config: TokenModelConfig, prompt: number[], options: DecodeOptions): Promise<DecodeResult> {
  const ids = [config.bosTokenId, ...prompt];
  const maxNew = Math.min(options.maxNewTokens ?? Infinity, config.maxSeqLen - ids.length);
  if (maxNew < 1) throw new InputError(`the prompt is ${prompt.length} tokens long; this model takes at most ${config.maxSeqLen - 2} (maxSeqLen ${config.maxSeqLen})`);
  const steps: DecodeStep[] = [];
  let past: KvCache | undefined;
  let feed = ids;
  let prefillMs = 0;
  let finished = false;
  const decoderInputs = [...ids];
  while (steps.length < maxNew) {
    const started = performance.now();
    const out = await model.runCached({ inputIds: { data: feed, batchSize: 1, seqLen: feed.length }, ...(past ? { past } : {}) });
    past = out.present;
    const V = config.vocabSize;
    const T = feed.length;
    const token = argmax(out.logits.data, (T - 1) * V, V);
    const ms = performance.now() - started;
    if (steps.length === 0) prefillMs = ms;
    const step: DecodeStep = { token, ms, self: layers(out.attentions, 'attentions').map(lastQueryRow), cross: [] };
    steps.push(step);
    options.onStep?.(step, steps.length - 1);
    if (token === config.eosTokenId) {
      finished = true;
      break;
    }
    decoderInputs.push(token);
    feed = [token];
  }
  const output = steps.map((s) => s.token).slice(0, finished ? -1 : undefined);
  return { input: prompt, decoderInputs: decoderInputs.slice(0, ids.length + steps.length - 1), output, steps, finished, prefillMs, encoder: [] };
}
