// Step-by-step decoding (greedy, or sampling with a seed) over ONNX Runtime sessions that keeps, for every generated
// token, the attention weights of its query in every layer and head — what the heatmaps draw —
// and the time the step took. The loop is @attend/core's, over @attend/runtime-onnx's cached
// step functions, whose per-step outputs are the attention rows: encoder–decoder exports encode
// once, then one merged-decoder call per token with both caches; the GRU encoder–decoder
// (rnn-seq2seq) the same with its recurrent state; decoder-lm exports read the prompt in one
// KV-cache call, then one call per token. A decoder-lm's prompt becomes ids as in the CLI and
// `attend serve` (core's `lmPromptIds`: no bos, as the LM's training windows have none).

import { decodeResults, modelTask, encoderInputIds, encoderPairIds, lmPromptIds, pairRefusal, rowOutputs, unknownText, type DecodeStrategy, type FinishReason, type TokenModelConfig, type RowOutputs, type StepFunction, type StepTensor, type Tokenizer } from '@attend/core';
import { checkRnnSeq2SeqModel, checkSeq2SeqModel, encodeRnnSource, encodeSource, onnxRnnStepFunction, onnxSeq2SeqStepFunction, onnxStepFunction, type OnnxModel } from '@attend/runtime-onnx';

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
  /** Wall-clock milliseconds of this step's session call (and token choice). */
  ms: number;
  /** Per layer: the new token's self-attention over the decoder tokens so far. */
  self: AttentionRow[];
  /** Per layer: the new token's attention over the source (encoder–decoder only). */
  cross: AttentionRow[];
}

export interface DecodeResult {
  /** Source ids (encoder–decoder) or the prompt's ids (decoder-lm, `lmPromptIds`). */
  input: number[];
  /** The decoder's input tokens: bos (an LM: the prompt) then every generated token but the last. */
  decoderInputs: number[];
  /** Generated ids, eos excluded. */
  output: number[];
  steps: DecodeStep[];
  /** Why decoding ended: eos, maxNewTokens reached (`length`) or maxSeqLen reached (`context`). */
  finishReason: FinishReason;
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
  | { kind: 'classifier'; model: OnnxModel }
  | { kind: 'image'; model: OnnxModel }
  | { kind: 'caption'; encoder: OnnxModel; decoder: OnnxModel };

/**
 * Encodes the input text (a decoder-lm's prompt with core's `lmPromptIds`), rejecting what the
 * model cannot take: empty input, or more tokens than maxSeqLen allows. With `pair` (a sentence
 * pair's second text, for a classifier with token types: core's `takesPairs`), the pair's ids and
 * each id's token type (core's `encoderPairIds`, as `attend infer --pair`). Returns the ids and
 * the characters (or words) the tokenizer does not know.
 */
export function encodeInput(tokenizer: Tokenizer, config: TokenModelConfig, text: string, pair?: string): { ids: number[]; typeIds?: number[]; unknown: string[] } {
  if (text.trim() === '') throw new InputError('the input is empty; type some text');
  const refusal = pair === undefined ? undefined : pairRefusal(config, 'the second text');
  if (refusal) throw new InputError(refusal);
  const lm = modelTask(config) === 'text-generation';
  const row = pair !== undefined ? encoderPairIds(tokenizer, text, pair) : { ids: lm ? lmPromptIds(tokenizer, config.bosTokenId, text) : encoderInputIds(tokenizer, text) };
  const limit = lm ? config.maxSeqLen - 1 : config.maxSeqLen; // an LM needs room for at least one new token
  if (row.ids.length > limit) throw new InputError(`the input is ${row.ids.length} tokens long; this model takes at most ${limit} (maxSeqLen ${config.maxSeqLen})`);
  const texts = pair === undefined ? [text] : [text, pair];
  return { ...row, unknown: [...new Set(texts.flatMap((t) => unknownText(tokenizer, t).pieces))] };
}

/** A step's attention output for one row ([H, K], or [K] for the GRU's one attention) as a row of heads. */
function attentionRow(t: StepTensor): AttentionRow {
  const keys = t.dims.at(-1)!;
  return { heads: t.data.length / keys, keys, data: t.data };
}

/** The outputs `${prefix}.0`, `${prefix}.1`, … of one step, in layer order. */
function layers<T>(outputs: Record<string, T>, prefix: string): T[] {
  const out: T[] = [];
  for (let i = 0; outputs[`${prefix}.${i}`]; i++) out.push(outputs[`${prefix}.${i}`]!);
  return out;
}

export interface DecodeOptions {
  /** Default: as many as maxSeqLen allows. */
  maxNewTokens?: number;
  /** Greedy or sampling (core's `DecodeStrategy`); default greedy. Beam search returns whole hypotheses, not steps, so the page does not offer it. */
  strategy?: DecodeStrategy;
  /** Called after every step (to update the page while decoding). */
  onStep?: (step: DecodeStep, index: number) => void;
}

/**
 * Decodes one input with @attend/core's loop (greedy, or `options.strategy`) over runtime-onnx's
 * step function of the model kind, keeping every step's attention (the step's per-step outputs)
 * and latency.
 */
export async function decodeWithAttention(sessions: Sessions, config: TokenModelConfig, input: number[], options: DecodeOptions = {}): Promise<DecodeResult> {
  if (sessions.kind === 'image') throw new InputError('a vit-classifier classifies images; it does not decode text');
  if (sessions.kind === 'classifier') throw new InputError('an encoder-classifier classifies text; it does not decode');
  if (sessions.kind === 'caption') throw new InputError('a captioner captions the painted scene; it does not decode text');
  if (options.strategy?.kind === 'beam') throw new InputError('beam search returns whole hypotheses, not steps; choose greedy or sampling');
  const t0 = performance.now();
  const run = await prepare(sessions, config, input);
  const prefillMs = performance.now() - t0;
  const room = config.maxSeqLen - run.start.length; // new tokens the context holds
  if (room < 1) throw new InputError(`the prompt is ${input.length} tokens long; this model takes at most ${config.maxSeqLen - 1} (maxSeqLen ${config.maxSeqLen})`);
  const steps: DecodeStep[] = [];
  let last = performance.now();
  const [decoded] = await decodeResults(
    run.step,
    {
      batchSize: 1,
      vocabSize: config.vocabSize,
      bosTokenId: config.bosTokenId,
      eosTokenId: config.eosTokenId,
      maxNewTokens: options.maxNewTokens ?? Infinity, // none asked for: the context decides
      contextTokens: room,
      onToken: (_t, tokens, outputs) => {
        const now = performance.now();
        const { self, cross } = run.attention(rowOutputs(outputs, 0));
        const step: DecodeStep = { token: tokens[0]!, ms: now - last, self: self.map(attentionRow), cross: cross.map(attentionRow) };
        last = now;
        steps.push(step);
        options.onStep?.(step, steps.length - 1);
      },
    },
    options.strategy,
  );
  const output = decoded!.ids;
  return {
    input,
    decoderInputs: [...run.start, ...output].slice(0, run.start.length + steps.length - 1),
    output,
    steps,
    finishReason: decoded!.finishReason,
    // A decoder-lm reads its prompt in the first step.
    prefillMs: sessions.kind === 'lm' ? (steps[0]?.ms ?? 0) : prefillMs,
    encoder: run.encoder,
  };
}

/**
 * What one kind of model decodes with: its step function (the source encoded once), the
 * decoder tokens it starts from, where its self- and cross-attention rows are among a step's
 * outputs (per layer), and the encoder's own attention maps.
 */
interface Prepared {
  step: StepFunction;
  start: number[];
  attention: (outputs: RowOutputs) => { self: StepTensor[]; cross: StepTensor[] };
  encoder: DecodeResult['encoder'];
}

async function prepare(sessions: Exclude<Sessions, { kind: 'image' | 'classifier' | 'caption' }>, config: TokenModelConfig, input: number[]): Promise<Prepared> {
  const S = input.length;
  switch (sessions.kind) {
    case 'lm': {
      const start = input; // the prompt's ids (`encodeInput`), bos only for an empty prompt
      return { step: onnxStepFunction(sessions.model, { prompts: [start] }), start, attention: (o) => ({ self: layers(o, 'attentions'), cross: [] }), encoder: [] };
    }
    case 'rnn': {
      // The GRU's one attention over the source ([S] per step) is the cross-attention row, one layer and one head.
      const { encoder, decoder } = checkRnnSeq2SeqModel(sessions);
      const memory = await encodeRnnSource(encoder, { ids: input, batchSize: 1, seqLen: S });
      return { step: onnxRnnStepFunction(decoder, memory), start: [config.bosTokenId], attention: (o) => ({ self: [], cross: o.attention ? [o.attention] : [] }), encoder: [] };
    }
    case 'seq2seq': {
      const model = checkSeq2SeqModel(sessions);
      const memory = await encodeSource(model.encoder, { ids: input, batchSize: 1, seqLen: S });
      const encoder = layers(memory.attentions ?? {}, 'encoder_attentions').map((t) => ({ heads: t.dims[1]!, size: S, data: t.data }));
      const step = onnxSeq2SeqStepFunction(model.decoder, memory);
      return { step, start: [config.bosTokenId], attention: (o) => ({ self: layers(o, 'decoder_attentions'), cross: layers(o, 'cross_attentions') }), encoder };
    }
  }
}
