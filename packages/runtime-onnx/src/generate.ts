// Generation over an ONNX session with @attend/core's decoding (greedy, sampling, beam): a
// step function over the decoder-lm KV-cache graph that feeds only the newest token, with the
// cache reordered by `context.parents`, plus streaming through a callback or an AsyncIterable.
//
// Each row's model input is its prompt (default [bos]) followed by the generated tokens.
// Prompts of different lengths are padded on the left, with attention_mask zeros there; the
// cache graph counts positions over real tokens only (see export.ts), so every row decodes as
// it would alone. With `slidingWindow`, generation goes on past maxSeqLen: each step past it
// drops the cache and reruns the last maxSeqLen tokens (nanoGPT's context crop).

import { ConfigError, cropWindow, decodeResults, lastQueryRows, ShapeError, type DecodedRow, type DecodeStrategy, type StepFunction, type StepOutputs, tokenConfig } from '@attend/core';
import { CachedLmSession } from './models/decoder-lm/session.js';
import type { KvCache, OnnxModel, OutputTensor } from './session.js';

export type { DecodeStrategy };

export interface StepFunctionOptions {
  /**
   * Token ids each input row starts from (bos first, by convention), of any lengths; they take
   * the place of the bos that core's decoding starts every row with. Default [bos].
   */
  prompts?: readonly (readonly number[])[];
  /**
   * Go on past maxSeqLen by rerunning each row's last maxSeqLen tokens (the cache is dropped
   * whenever the window slides). Default false: the sequence must fit in maxSeqLen.
   */
  slidingWindow?: boolean;
}

/**
 * A cached step function over a decoder-lm KV-cache model, for one decoding run. The first call
 * runs the whole prompt; each later call runs only the token added since, after gathering the
 * cache rows by `context.parents` (beam search reorders and duplicates rows). A call that does
 * not extend the previous one by exactly one token starts over from the full sequences. With
 * attention outputs, each step also returns every layer's `attentions.l` [rows, H, keys] of the
 * predicting token (keys: the row's tokens so far, left padding included).
 */
export function onnxStepFunction(model: OnnxModel, options: StepFunctionOptions = {}): StepFunction {
  if (!(model instanceof CachedLmSession)) {
    throw new ShapeError(`generation over ONNX needs a decoder-lm KV-cache export (kvCache: true); this model is a '${model.config.preset}' ${model.graph} graph`);
  }
  const config = tokenConfig(model.config, 'generation');
  const V = config.vocabSize;
  const prompts = options.prompts;
  const promptLength = checkPrompts(prompts);
  const padToken = config.padTokenId;
  const window = options.slidingWindow ? config.maxSeqLen : Infinity;
  let cache: KvCache | undefined;
  let cachedLength = 0; // decoding tokens (core's `length`) the cache covers
  let inputRows: Int32Array | undefined; // input row (prompt) of each row of the previous call

  return async (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    if (tokens.length !== batchSize * length) throw new ShapeError(`step function got ${tokens.length} tokens for [${batchSize}, ${length}]`);
    if (parents && parents.length !== batchSize) throw new ShapeError(`step function got ${parents.length} parents for ${batchSize} rows`);
    const rows = inputRows && parents ? Int32Array.from(parents, (p) => inputRows![p]!) : Int32Array.from({ length: batchSize }, (_, i) => i);
    if (prompts && rows.some((r) => r >= prompts.length)) throw new ShapeError(`${batchSize} rows but ${prompts.length} prompts`);
    inputRows = rows;
    const padding = (i: number): number => (prompts ? promptLength - prompts[rows[i]!]!.length : 0);
    const sequence = promptLength + length - (prompts ? 1 : 0); // model tokens per row, padding included
    const attentionMask = leftPaddingMask(batchSize, sequence, padding);
    let out;
    if (sequence > window) {
      // Past the context: the last maxSeqLen tokens from scratch (positions restart at the window's first token).
      const inputs = modelInputs(tokens, batchSize, length, rows, prompts, promptLength, padToken);
      const cropped = cropWindow(inputs.data, batchSize, inputs.seqLen, window);
      const mask = cropWindow(attentionMask.data, batchSize, sequence, window);
      out = await model.runCached({ inputIds: { data: cropped.tokens, batchSize, seqLen: window }, attentionMask: { data: mask.tokens, batchSize, seqLen: window } });
      cache = undefined;
      cachedLength = 0;
      return { logits: lastPosition(out.logits, batchSize, V), outputs: lastQueryRows(out.attentions) };
    }
    if (cache && parents && cachedLength === length - 1) {
      const past = isIdentity(parents, cache[0]!.key.dims[0]!) ? cache : cache.map((layer) => ({ key: gatherRows(layer.key, parents), value: gatherRows(layer.value, parents) }));
      const ids = Int32Array.from({ length: batchSize }, (_, i) => tokens[i * length + length - 1]!);
      out = await model.runCached({ inputIds: { data: ids, batchSize, seqLen: 1 }, attentionMask, past });
    } else {
      const inputIds = modelInputs(tokens, batchSize, length, rows, prompts, promptLength, padToken);
      out = await model.runCached({ inputIds, attentionMask });
    }
    cache = out.present;
    cachedLength = length;
    return { logits: lastPosition(out.logits, batchSize, V), outputs: lastQueryRows(out.attentions) };
  };
}

export interface GenerateOptions extends StepFunctionOptions {
  /** Tokens to generate at most per row (not counting the prompt); capped by maxSeqLen unless `slidingWindow`. */
  maxNewTokens: number;
  /** Default greedy. */
  strategy?: DecodeStrategy;
  /** Rows to generate when there are no prompts; default 1 (or the number of prompts). */
  batchSize?: number;
  /** Called with every row's new token after each step (greedy and sampling only). */
  onToken?: (step: number, tokens: Int32Array) => void;
}

/** Generates from a decoder-lm KV-cache model; returns each row's new ids (no prompt, no eos). */
export async function generate(model: OnnxModel, options: GenerateOptions): Promise<number[][]> {
  return (await generateResults(model, options)).map((row) => row.ids);
}

/** `generate`, returning per row its new ids and why it ended (`finishReason`: eos, length, context). */
export async function generateResults(model: OnnxModel, options: GenerateOptions): Promise<DecodedRow[]> {
  const c = tokenConfig(model.config, 'generate');
  const promptLength = checkPrompts(options.prompts);
  const batchSize = options.prompts?.length ?? options.batchSize ?? 1;
  if (options.batchSize !== undefined && options.prompts && options.batchSize !== options.prompts.length) {
    throw new ConfigError('batchSize', `${options.batchSize} does not match the ${options.prompts.length} prompts`);
  }
  if (promptLength >= c.maxSeqLen) throw new ShapeError(`prompts of ${promptLength} tokens leave no room below maxSeqLen ${c.maxSeqLen}`);
  const step = onnxStepFunction(model, options);
  const decode = {
    batchSize,
    vocabSize: c.vocabSize,
    bosTokenId: c.bosTokenId,
    eosTokenId: c.eosTokenId,
    maxNewTokens: options.maxNewTokens,
    ...(options.slidingWindow ? {} : { contextTokens: c.maxSeqLen - Math.max(promptLength, 1) }),
    ...(options.onToken ? { onToken: options.onToken } : {}),
  };
  return decodeResults(step, decode, options.strategy);
}

export interface GeneratedToken {
  /** 1 for the first new token. */
  step: number;
  /** The new token of every row (eos again for rows already finished). */
  tokens: Int32Array;
}

/**
 * Streams generation step by step (greedy or sampling). Breaking out of the loop stops the
 * generation before its next model call.
 */
export async function* streamGenerate(model: OnnxModel, options: Omit<GenerateOptions, 'onToken'>): AsyncGenerator<GeneratedToken, number[][]> {
  const queue: GeneratedToken[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  let settled = false;
  let failure: { error: unknown } | undefined;
  let result: number[][] = [];
  const running = generate(model, {
    ...options,
    onToken: (step, tokens) => {
      if (stopped) throw new StreamStopped();
      queue.push({ step, tokens: Int32Array.from(tokens) });
      wake?.();
    },
  }).then(
    (r) => {
      result = r;
    },
    (error: unknown) => {
      if (!(error instanceof StreamStopped)) failure = { error };
    },
  );
  void running.finally(() => {
    settled = true;
    wake?.();
  });
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (settled) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    stopped = true;
    await running;
  }
  if (failure) throw failure.error;
  return result;
}

class StreamStopped extends Error {}

// ---- helpers --------------------------------------------------------------------------------

/** Length of the longest prompt (0 when none); every prompt holds at least one token. */
function checkPrompts(prompts: readonly (readonly number[])[] | undefined): number {
  if (!prompts) return 0;
  if (prompts.length === 0) throw new ShapeError('prompts: expected at least one prompt');
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ShapeError(`prompts[${i}] is empty; a prompt holds at least one token (bos)`);
  });
  return prompts.reduce((n, p) => Math.max(n, p.length), 0); // no spread: a batch of prompts may be data-sized
}

/**
 * Each row's prompt, left-padded with `padToken` to the longest, followed by its decoding
 * tokens after the first (the bos placeholder). [B, promptLength + length − 1]
 */
function modelInputs(tokens: Int32Array, B: number, length: number, rows: Int32Array, prompts: readonly (readonly number[])[] | undefined, promptLength: number, padToken: number): { data: Int32Array; batchSize: number; seqLen: number } {
  if (!prompts) return { data: tokens, batchSize: B, seqLen: length };
  const L = promptLength + length - 1;
  const data = new Int32Array(B * L).fill(padToken);
  for (let i = 0; i < B; i++) {
    const prompt = prompts[rows[i]!]!;
    data.set(prompt, i * L + promptLength - prompt.length);
    data.set(tokens.subarray(i * length + 1, (i + 1) * length), i * L + promptLength);
  }
  return { data, batchSize: B, seqLen: L };
}

/** [B, L] attention mask: 0 over each row's `padding(i)` leading positions, 1 after. */
function leftPaddingMask(B: number, L: number, padding: (i: number) => number): { data: Int32Array; batchSize: number; seqLen: number } {
  const data = new Int32Array(B * L).fill(1);
  for (let i = 0; i < B; i++) data.fill(0, i * L, i * L + padding(i));
  return { data, batchSize: B, seqLen: L };
}

function isIdentity(parents: Int32Array, rows: number): boolean {
  return parents.length === rows && parents.every((p, i) => p === i);
}

/** Rows `parents` of a [rows, ...] tensor, in that order (rows may repeat). */
export function gatherRows(t: OutputTensor, parents: Int32Array): OutputTensor {
  const rows = t.dims[0]!;
  const size = rows === 0 ? 0 : t.data.length / rows;
  const data = new Float32Array(parents.length * size);
  parents.forEach((p, i) => {
    if (p < 0 || p >= rows) throw new ShapeError(`parent row ${p} is outside [0, ${rows})`);
    data.set(t.data.subarray(p * size, (p + 1) * size), i * size);
  });
  return { data, dims: [parents.length, ...t.dims.slice(1)] };
}

export { lastQueryRows };

/** logits [B, T, V] → the last position's [B, V]. */
function lastPosition(logits: OutputTensor, B: number, V: number): Float32Array {
  const T = logits.dims[1]!;
  if (T === 1) return logits.data;
  const out = new Float32Array(B * V);
  for (let b = 0; b < B; b++) out.set(logits.data.subarray((b * T + T - 1) * V, (b * T + T) * V), b * V);
  return out;
}
