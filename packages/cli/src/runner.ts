// One way to run any model folder, whatever its preset and runtime: a training checkpoint on
// tfjs (@attend/transformer), or an export folder on onnxruntime-node (devices cpu, cuda) or
// onnxruntime-web in Node (device wasm), through @attend/runtime-onnx. Translation for the
// encoder–decoder, class probabilities for the classifiers (of texts, or of images for the
// vit-classifier), streamed continuation for the LM.

import { join, relative } from 'node:path';
import { hasTokens, imageToTextConfig, decodeResults, encoderInputIds, encoderPairIds, finishReasonOf, lmPromptIds, slidingWindow, tokenizerFromJSON, translateWith, type DecodeStrategy, type ImageToTextConfig, type FinishReason, type ModelConfig, type ModelTask, type StepFunction, type Tokenizer, type TokenFields, type TokenModelConfig, modelTask } from '@attend/core';
import { resolveDevice, type Classification, type Device, type OnnxRnnSeq2SeqModel, type OnnxSeq2SeqModel, type OpenExportFolderOptions } from '@attend/runtime-onnx';
import { CliError, InputError } from './errors.js';
import { folderKind } from './model-folder.js';
import { checkHardInference, hardInferenceFlag, type HardInferenceOption } from './hard-inference.js';
import type { TokenBatch } from '@attend/transformer';
import { tfjsLogits } from './models/parity.js';

export type InferDevice = Extract<Device, 'cpu' | 'cuda' | 'wasm'>;

export interface ModelRunner {
  readonly config: ModelConfig;
  /** Absent for a vit-classifier (images in). */
  readonly tokenizer?: Tokenizer;
  /** What runs the model, e.g. "onnxruntime-node (cpu)". */
  readonly runtime: string;
  /** Set when the device asked for could not start (CUDA missing) and `device` runs the model instead. */
  readonly fallback?: { device: Device; reason: string };
  /** The device that runs the model. */
  readonly device: Device;
  /** encoder-decoder: the outputs of `sources`, each with why it ended. */
  translate(sources: readonly string[], strategy: DecodeStrategy, maxNewTokens?: number): Promise<Translation[]>;
  /** encoder-classifier: class probabilities of each text (each with its `pairs` text as segment B, for a model with token types). */
  classify(texts: readonly string[], pairs?: readonly string[]): Promise<Classification[]>;
  /** image-captioner: the caption of each of `count` images [H, W] (raw values) in `pixels`. */
  caption(pixels: Float32Array, count: number, strategy: DecodeStrategy): Promise<string[]>;
  /** image-captioner: teacher-forced logits [B, T, V] of the captions `target` ([B, T] ids, each row starting with bos) for the `target.batchSize` images in `pixels`. */
  captionLogits(pixels: Float32Array, target: TokenBatch): Promise<Float32Array>;
  /** vit-classifier: class probabilities of each of `count` images [C, S, S] (raw values) in `pixels`. */
  classifyImages(pixels: Float32Array, count: number): Promise<Classification[]>;
  /** decoder-lm: next-token logits [B, T, V] of `batchSize` rows of `seqLen` token ids (no padding). */
  lmLogits(ids: Int32Array, batchSize: number, seqLen: number): Promise<Float32Array>;
  /** decoder-lm: the continuation of `prompt`; `onText` gets each new piece of text as it is produced. */
  generate(prompt: string, request: GenerateRequest, onText?: (piece: string) => void): Promise<Generation>;
  close(): Promise<void>;
}

/** How a decoder-lm continues a prompt. */
export interface GenerateRequest {
  strategy: DecodeStrategy;
  /** New tokens at most; default the model's maxSeqLen. */
  maxNewTokens?: number;
  /** Go on past maxSeqLen on the last maxSeqLen tokens (nanoGPT's context crop) instead of stopping there. */
  slidingWindow?: boolean;
}

/** A decoder-lm's continuation of one prompt. */
export interface Generation {
  output: string;
  /** The ids the model started from (core's `lmPromptIds`) and the new ids (no eos). */
  promptIds: number[];
  ids: number[];
  finishReason: FinishReason;
}

/** An encoder–decoder's output for one source. */
export interface Translation {
  output: string;
  finishReason: FinishReason;
}

/**
 * Outputs as text with their finishReason. Both backends' `translate` decode at most
 * min(maxNewTokens, maxSeqLen − 1) tokens, the decoder's context; `asked` is undefined when the
 * caller left the length to the context.
 */
function translations(tokenizer: Tokenizer, rows: number[][], asked: number | undefined, maxSeqLen: number): Translation[] {
  const limits = { maxNewTokens: asked ?? Infinity, contextTokens: maxSeqLen - 1 };
  return rows.map((ids) => ({ output: tokenizer.decode(ids), finishReason: finishReasonOf(ids.length, limits) }));
}

/**
 * Right-padded token rows [B, S] with each row's length; one-line errors for empty or long
 * inputs. With `pairs` (a sentence pair's second texts), each row is its pair's encoding
 * (core's `encoderPairIds`) and `tokenTypes` [B, S] gives each token's segment.
 */
export function tokenBatch(tokenizer: Tokenizer, texts: readonly string[], maxSeqLen: number, pairs?: readonly string[]) {
  const encoded = texts.map((s, i): TokenRow => {
    const row = pairs ? encoderPairIds(tokenizer, s, pairs[i]!) : { ids: encoderInputIds(tokenizer, s) };
    if (row.ids.length === 0) throw new InputError(i + 1, ' is empty');
    if (row.ids.length > maxSeqLen) throw new InputError(i + 1, ` is ${row.ids.length} tokens long; the model takes at most ${maxSeqLen}`);
    return row;
  });
  return paddedBatch(encoded, tokenizer.specialTokenIds.pad);
}

/** One encoded input: its ids, and for a sentence pair each id's token type (core's `encoderPairIds`). */
export interface TokenRow {
  ids: readonly number[];
  typeIds?: readonly number[];
}

/**
 * Rows right-padded with `pad` into [B, S] ids with each row's length, and `tokenTypes` [B, S]
 * when some row has types (type 0, segment A, for the others and the padding).
 */
export function paddedBatch(rows: readonly TokenRow[], pad: number) {
  const seqLen = rows.reduce((n, row) => Math.max(n, row.ids.length), 0); // no spread: --file batches can be data-sized
  const ids = new Int32Array(rows.length * seqLen).fill(pad);
  const tokenTypes = rows.some((row) => row.typeIds) ? new Int32Array(rows.length * seqLen) : undefined;
  rows.forEach((row, b) => {
    ids.set(row.ids, b * seqLen);
    if (row.typeIds) tokenTypes?.set(row.typeIds, b * seqLen);
  });
  return { ids, batchSize: rows.length, seqLen, lengths: Int32Array.from(rows, (row) => row.ids.length), ...(tokenTypes ? { tokenTypes } : {}) };
}

/** The prompt's ids (core's `lmPromptIds`: no bos, [bos] when empty), checked against the context. */
function promptIds(tokenizer: Tokenizer, config: TokenFields & { maxSeqLen: number }, prompt: string): number[] {
  const ids = lmPromptIds(tokenizer, config.bosTokenId, prompt);
  if (ids.length >= config.maxSeqLen) throw new CliError(`the prompt is ${ids.length} tokens long; the model's context is ${config.maxSeqLen}, leaving no room to generate`);
  return ids;
}

/** Decoded text as it grows: calls `onText` with what each new token adds (safe for multi-token characters). */
function textStream(tokenizer: Tokenizer, onText?: (piece: string) => void) {
  const ids: number[] = [];
  let shown = '';
  return {
    push(id: number) {
      ids.push(id);
      const text = tokenizer.decode(ids);
      if (text.startsWith(shown) && text.length > shown.length) {
        onText?.(text.slice(shown.length));
        shown = text;
      }
    },
  };
}

/** What each ModelRunner method does, as the task a model must have for it. */
const TASK_OF = {
  translate: 'translation',
  classify: 'text-classification',
  'classify images': 'image-classification',
  'caption images': 'image-to-text',
  generate: 'text-generation',
} as const satisfies Record<string, ModelTask>;

type RunnerUse = keyof typeof TASK_OF;

function wrongPreset(config: ModelConfig, what: RunnerUse): CliError {
  const use = {
    translation: 'attend infer (or translate)',
    'text-generation': 'attend generate',
    'text-classification': 'attend infer',
    'image-classification': 'attend infer with CSV rows of pixel values or a PNG',
    'image-to-text': 'attend infer with CSV rows of pixel values or a PNG',
  }[modelTask(config)];
  const needs = { translate: 'an encoder-decoder', classify: 'an encoder-classifier', 'classify images': 'an image classifier', 'caption images': 'an image-captioner', generate: 'a decoder-lm' }[what];
  return new CliError(`${what} needs ${needs}; this model is a ${config.preset} (use ${use})`);
}

/** `config` when its kind does what `what` needs and reads text; else a CliError naming the command to use. */
function textConfig(config: ModelConfig, what: Exclude<RunnerUse, 'classify images'>): TokenModelConfig {
  if (modelTask(config) !== TASK_OF[what] || !hasTokens(config)) throw wrongPreset(config, what);
  return config;
}

/** `config` when its kind classifies images; else a CliError naming the command to use. */
function imageConfig(config: ModelConfig): Exclude<ModelConfig, TokenModelConfig> {
  if (modelTask(config) !== TASK_OF['classify images'] || hasTokens(config)) throw wrongPreset(config, 'classify images');
  return config;
}

/** `config` when its kind captions images; else a CliError naming the command to use. */
function captionerConfig(config: ModelConfig): ImageToTextConfig {
  if (modelTask(config) !== TASK_OF['caption images']) throw wrongPreset(config, 'caption images');
  return imageToTextConfig(config, 'captioning');
}

/** The tokenizer of a text model; every kind with text has one (checked when the folder opens). */
function textTokenizer(tokenizer: Tokenizer | undefined, config: ModelConfig): Tokenizer {
  if (!tokenizer) throw new CliError(`a ${config.preset} takes no text (use attend infer with CSV rows of pixel values)`);
  return tokenizer;
}

/**
 * Opens a checkpoint (tfjs, device cpu only) or an export folder (onnxruntime on `device`);
 * `run.hardInference`: how a hard-attention captioner reads the image (refused for other models).
 */
export async function openModel(dir: string, device: InferDevice = 'cpu', deviceId?: number, run: HardInferenceOption = {}): Promise<ModelRunner> {
  checkDevice(device, deviceId);
  if ((await folderKind(dir)) === 'export') return openExport(dir, device, deviceId, run);
  if (device !== 'cpu') throw new CliError(`--device ${device} needs an export folder (attend export); checkpoints run on tfjs`, 2);
  return openCheckpoint(dir, run);
}

/** `--device` and `--device-id` checked against runtime-onnx's device table (a usage error, exit 2). */
export function checkDevice(device: InferDevice, deviceId: number | undefined): void {
  try {
    resolveDevice(device, undefined, deviceId === undefined ? {} : { deviceId });
  } catch (error) {
    throw new CliError(`--device ${device}${deviceId === undefined ? '' : ` --device-id ${deviceId}`}: ${(error as Error).message}`, 2);
  }
}

async function openCheckpoint(dir: string, run: HardInferenceOption): Promise<ModelRunner> {
  const { classify, forwardLogits, imageBatch, imageTrainBatch, loadCheckpoint, setHardInference, setupBackend, tfjsStepFunction, tfjsTranslator, translate } = await import('@attend/transformer');
  const backend = await setupBackend();
  const checkpoint = await loadCheckpoint(dir);
  const { model, config } = checkpoint;
  try {
    if (checkpoint.tokenizer === undefined && hasTokens(config)) throw new CliError(`${dir}: no tokenizer.json; cannot encode text for this checkpoint`);
    if (run.hardInference) hardInferenceFlag(() => setHardInference(model, run.hardInference!));
  } catch (error) {
    model.dispose();
    throw error;
  }
  const tokenizer = checkpoint.tokenizer === undefined ? undefined : tokenizerFromJSON(checkpoint.tokenizer, join(dir, 'tokenizer.json'));
  return {
    config,
    ...(tokenizer ? { tokenizer } : {}),
    runtime: `tfjs (${backend.name})`,
    device: 'cpu',
    async translate(sources, strategy, maxNewTokens) {
      const c = textConfig(config, 'translate');
      const text = textTokenizer(tokenizer, config);
      const out = await translate(tfjsTranslator(model), tokenBatch(text, sources, c.maxSeqLen), { maxNewTokens: maxNewTokens ?? c.maxSeqLen - 1, strategy });
      return translations(text, out, maxNewTokens, c.maxSeqLen);
    },
    async classify(texts, pairs) {
      const c = textConfig(config, 'classify');
      return classify(model, tokenBatch(textTokenizer(tokenizer, config), texts, c.maxSeqLen, pairs));
    },
    async classifyImages(pixels, count) {
      return classify(model, imageTrainBatch(pixels, new Int32Array(count), imageConfig(config)).input);
    },
    async caption(pixels, count, strategy) {
      const captioner = captionerConfig(config);
      const out = await translate(model, imageBatch(pixels, count, captioner), { maxNewTokens: captioner.maxSeqLen - 1, strategy });
      return out.map((ids) => textTokenizer(tokenizer, config).decode(ids));
    },
    async captionLogits(pixels, target) {
      return tfjsLogits(model, imageBatch(pixels, target.batchSize, captionerConfig(config)), target);
    },
    async lmLogits(ids, batchSize, seqLen) {
      if (modelTask(config) !== 'text-generation') throw wrongPreset(config, 'generate');
      return forwardLogits(model, { ids, batchSize, seqLen });
    },
    async generate(prompt, { strategy, maxNewTokens, slidingWindow: slide = false }, onText) {
      const c = textConfig(config, 'generate');
      const text = textTokenizer(tokenizer, config);
      const ids = promptIds(text, c, prompt);
      const stream = textStream(text, onText);
      const step = tfjsStepFunction(model);
      const [out] = await decodeResults(
        withPrompt(slide ? slidingWindow(step, c.maxSeqLen) : step, ids),
        {
          batchSize: 1,
          vocabSize: c.vocabSize,
          bosTokenId: c.bosTokenId,
          eosTokenId: c.eosTokenId,
          maxNewTokens: maxNewTokens ?? c.maxSeqLen,
          ...(slide ? {} : { contextTokens: c.maxSeqLen - ids.length }),
          ...(strategy.kind === 'beam' ? {} : { onToken: (_: number, t: Int32Array) => t[0] !== c.eosTokenId && stream.push(t[0]!) }),
        },
        strategy,
      );
      return { output: text.decode(out!.ids), promptIds: ids, ids: out!.ids, finishReason: out!.finishReason };
    },
    async close() {
      model.dispose();
    },
  };
}

/** A step function whose rows start with `prompt` in place of core's bos. */
function withPrompt(step: StepFunction, prompt: readonly number[]): StepFunction {
  return (tokens, batchSize, length, context) => {
    const L = prompt.length + length - 1;
    const ids = new Int32Array(batchSize * L);
    for (let b = 0; b < batchSize; b++) {
      ids.set(prompt, b * L);
      ids.set(tokens.subarray(b * length + 1, (b + 1) * length), b * L + prompt.length);
    }
    return step(ids, batchSize, L, context);
  };
}

/**
 * The export folder `dir` read and checked by runtime-onnx's loader, its sessions on `device`
 * (onnxruntime-node, or onnxruntime-web in Node for wasm), and what runs them for people to read:
 * "onnxruntime-node (cpu; cuda unavailable: …)"; a language model's also names the KV-cache graph that generates (`kvCache`).
 */
export async function openExportOn(dir: string, device: InferDevice, options: Omit<OpenExportFolderOptions, 'device' | 'fileName'> = {}) {
  const { CachedLmSession, DEVICES, openExport, quietNativeLog } = await import('@attend/runtime-onnx/node');
  quietNativeLog(); // ORT's failures come back as errors, or as the fallback said in one line
  const opened = await openExport(dir, { ...options, device });
  const fallback = opened.fallbacks[0];
  // A language model says which of its folder's KV-cache graphs generates (the in-place one where it runs).
  const lm = 'model' in opened.sessions && opened.sessions.model instanceof CachedLmSession ? opened.sessions.model : undefined;
  const kvCache = lm ? { file: relative(dir, (lm.inPlaceCache ?? lm).source), inPlace: lm.inPlaceCache !== undefined } : undefined;
  const cache = kvCache ? `; KV cache ${kvCache.file}${kvCache.inPlace ? ' (in place)' : ''}` : '';
  return { opened, kvCache, runtime: `onnxruntime-${DEVICES[device].runtime} (${opened.device}${fallback ? `; ${fallback.device} unavailable: ${fallback.reason}` : ''}${cache})` };
}

async function openExport(dir: string, device: InferDevice, deviceId: number | undefined, run: HardInferenceOption): Promise<ModelRunner> {
  const { opened, runtime } = await openExportOn(dir, device, deviceId === undefined ? {} : { deviceId });
  const rt = await import('@attend/runtime-onnx');
  const { config, tokenizer, sessions, fallbacks } = opened;
  try {
    checkHardInference(config, run);
    // The graphs are asked too: a hard export made before the decoder step took use_expectation reads the arg-max only.
    if (run.hardInference && 'encoder' in sessions) hardInferenceFlag(() => rt.onnxCaptioner(sessions, run));
  } catch (error) {
    await opened.release();
    throw error;
  }
  const fallback = fallbacks[0];
  const first = 'model' in sessions ? sessions.model : sessions.encoder;
  return {
    config,
    ...(tokenizer ? { tokenizer } : {}),
    runtime,
    device: opened.device,
    ...(fallback ? { fallback } : {}),
    async translate(sources, strategy, asked) {
      const c = textConfig(config, 'translate');
      if (!('encoder' in sessions)) throw wrongPreset(config, 'translate');
      const text = textTokenizer(tokenizer, config);
      const out = await rt.translate(rt.onnxTranslator(sessions), tokenBatch(text, sources, c.maxSeqLen), { maxNewTokens: asked ?? c.maxSeqLen - 1, strategy });
      return translations(text, out, asked, c.maxSeqLen);
    },
    async classify(texts, pairs) {
      const c = textConfig(config, 'classify');
      return rt.classify(first, tokenBatch(textTokenizer(tokenizer, config), texts, c.maxSeqLen, pairs));
    },
    async classifyImages(pixels, count) {
      imageConfig(config);
      return rt.classifyImages(first, pixels, count);
    },
    async caption(pixels, count, strategy) {
      const captioner = captionerConfig(config);
      if (!('encoder' in sessions)) throw wrongPreset(config, 'caption images');
      const out = await translateWith(rt.onnxCaptioner(sessions, run), { pixels, batchSize: count }, { maxNewTokens: captioner.maxSeqLen - 1, strategy });
      return out.map((ids) => textTokenizer(tokenizer, config).decode(ids));
    },
    async captionLogits(pixels, target) {
      captionerConfig(config);
      if (!('encoder' in sessions)) throw wrongPreset(config, 'caption images');
      return rt.onnxCaptionLogits(sessions, pixels, target, run);
    },
    async lmLogits(ids, batchSize, seqLen) {
      if (modelTask(config) !== 'text-generation') throw wrongPreset(config, 'generate');
      return (await rt.textModelSession(first).run({ inputIds: { data: ids, batchSize, seqLen } })).logits.data;
    },
    async generate(prompt, { strategy, maxNewTokens, slidingWindow = false }, onText) {
      const c = textConfig(config, 'generate');
      const text = textTokenizer(tokenizer, config);
      const ids = promptIds(text, c, prompt);
      const stream = textStream(text, onText);
      const onToken = (_: number, t: Int32Array): void => void (t[0] !== c.eosTokenId && stream.push(t[0]!));
      const [out] = await rt.generateResults(first, { prompts: [ids], maxNewTokens: maxNewTokens ?? c.maxSeqLen, strategy, slidingWindow, ...(strategy.kind === 'beam' ? {} : { onToken }) });
      return { output: text.decode(out!.ids), promptIds: ids, ids: out!.ids, finishReason: out!.finishReason };
    },
    close: opened.release,
  };
}
