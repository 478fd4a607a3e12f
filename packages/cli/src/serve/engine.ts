// What `attend serve` runs: an export folder loaded with onnxruntime-node, seen as one task —
// `generate` (decoder-lm), `translate` (encoder-decoder) or `classify` (encoder-classifier) —
// with a batch runner for the batcher. Requests share a model call only when that gives each
// the same tokens as running it alone: greedy decoding, and for generation prompts of one
// length (generate would left-pad shorter prompts, but the longest prompt of a batch would then
// cap the others' new tokens under maxSeqLen); sampling and beam search run alone. An LM's
// prompt ids come from core's `lmPromptIds` (no bos), as in the CLI and the playground.

import { CheckpointError, encoderInputIds, encoderPairIds, finishReasonOf, lmPromptIds, tokenConfig, type DecodeStrategy, type FinishReason, type TokenModelConfig, type Tokenizer } from '@attend/core';
import { classify, generate, translate, type OnnxModel } from '@attend/runtime-onnx';
import { CLI_KINDS, cliKind } from '../models/registry.js';
import { openExportOn, paddedBatch, type InferDevice, type TokenRow } from '../runner.js';
import type { BatchRunner } from './batcher.js';

export type Task = 'generate' | 'translate' | 'classify';

/** One decoding request: token ids of the prompt (`Engine.encode`) or source (no bos/eos), and how to decode. */
export interface DecodeInput {
  ids: number[];
  /** New tokens asked for; the engine stops earlier at the model's context (finishReason 'context'). */
  maxNewTokens: number;
  strategy: DecodeStrategy;
  /** decoder-lm: go on past maxSeqLen on the last maxSeqLen tokens. */
  slidingWindow?: boolean;
  /** Receives each new token as it is decoded (greedy and sampling); never eos. */
  onToken?: (id: number) => void;
}

export interface DecodeOutput {
  ids: number[];
  /** 'eos' when the model ended the text, 'length' when maxNewTokens did, 'context' when maxSeqLen did. */
  finishReason: FinishReason;
}

export interface ClassifyOutput {
  /** Softmax over the classes. */
  probabilities: number[];
  label: number;
}

export interface Engine {
  readonly task: Task;
  readonly config: TokenModelConfig;
  readonly tokenizer: Tokenizer;
  /** e.g. "onnxruntime-node (cpu)". */
  readonly runtime: string;
  /** The ids of a prompt (decoder-lm: core's `lmPromptIds`) or source text. */
  encode(text: string): number[];
  /** classify: a sentence pair's ids and token types (core's `encoderPairIds`, as `attend infer --pair`); the server asks core's `pairRefusal` first. */
  encodePair?(text: string, pair: string): Required<TokenRow>;
  /** Prompt/source tokens at most. */
  readonly maxInputTokens: number;
  /** Requests with equal keys may share one batch. */
  batchKey(input: DecodeInput, id: number): string;
  readonly runDecode?: BatchRunner<DecodeInput, DecodeOutput>;
  readonly runClassify?: BatchRunner<TokenRow, ClassifyOutput>;
  close(): Promise<void>;
}

/** Thrown from a token callback to end a batch whose clients have all gone. */
class AllCancelled extends Error {}

/** The presets attend serve runs (their CliKind's `serve`), for its refusal: "a, b and c". */
function servedPresets(): string {
  const served = Object.entries(CLI_KINDS).flatMap(([preset, kind]) => (kind.serve ? [preset] : []));
  return `${served.slice(0, -1).join(', ')} and ${served.at(-1)}`;
}

/** Opens the export folder with runtime-onnx's loader, refusing presets serve does not run, and makes the engine of its task. */
export async function openEngine(folder: string, options: { device?: InferDevice; deviceId?: number; numThreads?: number } = {}): Promise<Engine> {
  const { device = 'cpu', ...session } = options;
  const { opened, runtime } = await openExportOn(folder, device, {
    ...session,
    accept: (config, configFile) => {
      if (cliKind(config).serve === undefined) {
        throw new CheckpointError(`${configFile}: preset '${config.preset}'; attend serve runs ${servedPresets()} exports (use attend infer)`);
      }
    },
  });
  const { sessions, tokenizer } = opened;
  if ('encoder' in sessions) return seq2seqEngine(sessions.encoder, sessions.decoder, tokenizer!, runtime);
  return cliKind(opened.config).serve === 'generate' ? lmEngine(sessions.model, tokenizer!, runtime, opened.release) : classifierEngine(sessions.model, tokenizer!, runtime);
}

const isGreedy = (s: DecodeStrategy): boolean => s.kind === 'greedy';

/**
 * Runs `decodeRows` (one model call over every row) and hands out each row's tokens: a row's
 * callback sees at most its own maxNewTokens, none after its eos; rows are cut to their length.
 * `cap`: the new tokens the model's context leaves room for (Infinity on a sliding window).
 */
async function decodeBatch(
  inputs: DecodeInput[],
  live: (row: number) => boolean,
  eos: number,
  cap: number,
  decodeRows: (maxNewTokens: number, onToken: ((step: number, tokens: Int32Array) => void) | undefined) => Promise<number[][]>,
): Promise<DecodeOutput[]> {
  const limits = inputs.map((x) => Math.min(x.maxNewTokens, cap));
  const ended = inputs.map(() => false);
  const perStep = inputs[0]!.strategy.kind !== 'beam'; // beam search has no per-step tokens
  const onToken = (step: number, tokens: Int32Array): void => {
    if (!inputs.some((_, row) => live(row))) throw new AllCancelled();
    inputs.forEach((input, row) => {
      const id = tokens[row]!;
      if (ended[row] || step > limits[row]!) return;
      if (id === eos) ended[row] = true;
      else if (live(row)) input.onToken?.(id);
    });
  };
  let rows: number[][];
  try {
    rows = await decodeRows(limits.reduce((a, b) => Math.max(a, b), 0), perStep ? onToken : undefined);
  } catch (error) {
    if (error instanceof AllCancelled) return inputs.map(() => ({ ids: [], finishReason: 'length' }));
    throw error;
  }
  return rows.map((all, row) => {
    const ids = all.slice(0, limits[row]!);
    return { ids, finishReason: finishReasonOf(ids.length, { maxNewTokens: inputs[row]!.maxNewTokens, contextTokens: cap }) };
  });
}

/** `release` frees the folder's sessions: the model's, and the in-place cache graph that generates for it where one was opened. */
function lmEngine(model: OnnxModel, tokenizer: Tokenizer, runtime: string, release: () => Promise<void>): Engine {
  const c = tokenConfig(model.config, 'attend serve');
  return {
    task: 'generate',
    config: c,
    tokenizer,
    runtime,
    encode: (text) => lmPromptIds(tokenizer, c.bosTokenId, text),
    maxInputTokens: c.maxSeqLen - 1, // the prompt + at least one new token
    batchKey: (input, id) => (isGreedy(input.strategy) ? `greedy:${input.ids.length}:${input.slidingWindow ? 'slide' : 'stop'}` : `alone:${id}`),
    runDecode: (inputs, live) => {
      const slidingWindow = inputs[0]!.slidingWindow ?? false;
      return decodeBatch(inputs, live, c.eosTokenId, slidingWindow ? Infinity : c.maxSeqLen - inputs[0]!.ids.length, (maxNewTokens, onToken) =>
        generate(model, {
          prompts: inputs.map((x) => x.ids),
          maxNewTokens,
          strategy: inputs[0]!.strategy,
          slidingWindow,
          ...(onToken ? { onToken } : {}),
        }),
      );
    },
    close: release,
  };
}

function seq2seqEngine(encoder: OnnxModel, decoder: OnnxModel, tokenizer: Tokenizer, runtime: string): Engine {
  const c = tokenConfig(encoder.config, 'attend serve');
  const pad = tokenizer.specialTokenIds.pad;
  return {
    task: 'translate',
    config: c,
    tokenizer,
    runtime,
    encode: (text) => encoderInputIds(tokenizer, text),
    maxInputTokens: c.maxSeqLen,
    batchKey: (input, id) => (isGreedy(input.strategy) ? 'greedy' : `alone:${id}`),
    runDecode: (inputs, live) => {
      const S = inputs.reduce((n, x) => Math.max(n, x.ids.length), 0);
      const ids = new Int32Array(inputs.length * S).fill(pad); // [B, S], right-padded
      inputs.forEach((x, b) => ids.set(x.ids, b * S));
      const source = { ids, batchSize: inputs.length, seqLen: S, lengths: Int32Array.from(inputs, (x) => x.ids.length) };
      return decodeBatch(inputs, live, c.eosTokenId, c.maxSeqLen - 1, (maxNewTokens, onToken) =>
        translate({ encoder, decoder }, source, { maxNewTokens, strategy: inputs[0]!.strategy, ...(onToken ? { onToken } : {}) }),
      );
    },
    async close() {
      await encoder.release();
      await decoder.release();
    },
  };
}

/** Batches of texts (or sentence pairs, for a model with token types) through runtime-onnx's `classify`, as `attend infer` runs them. */
function classifierEngine(model: OnnxModel, tokenizer: Tokenizer, runtime: string): Engine {
  const c = tokenConfig(model.config, 'attend serve');
  return {
    task: 'classify',
    config: c,
    tokenizer,
    runtime,
    encode: (text) => encoderInputIds(tokenizer, text),
    encodePair: (text, pair) => encoderPairIds(tokenizer, text, pair),
    maxInputTokens: c.maxSeqLen,
    batchKey: () => 'classify',
    runClassify: async (inputs) =>
      (await classify(model, paddedBatch(inputs, tokenizer.specialTokenIds.pad))).map(({ label, probabilities }) => ({ probabilities: Array.from(probabilities), label })),
    close: () => model.release(),
  };
}
