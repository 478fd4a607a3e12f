// What the CLI's caption kinds (task image-to-text) share, whatever the model behind them: the
// scene `attend attention` reads (a CSV line of pixel values or a PNG), each generated word's
// attention over the image read from core's decoding loop itself — the steps' cross-attention
// outputs (`cross_attentions.{l}`: the last layer with the heads averaged, or the --layer and
// --head asked for), from a checkpoint's tfjs
// Translator or an export's ONNX one, never a second pass — and `attend bench`'s timings of an
// export: the teacher-forced forward, the per-word step and a whole greedy caption.

import { captionWithAttention, ConfigError, createRng, translateWith, type AttentionPick, type HardInference, type CaptionAttentionRow, type CaptionLayout, type ImageToTextConfig, type TokenModelConfig, type Tokenizer, type Translator } from '@attend/core';
import type { ExportSessions, ImageSource } from '@attend/runtime-onnx';
import { CliError } from '../errors.js';
import { hardInferenceFlag } from '../hard-inference.js';
import { imageInputs } from '../inputs.js';
import { withPngLines, type PngModelConfig } from '../png-input.js';
import { noAttention } from './attention.js';
import { cachedDecodeMs, forwardTimings, timeMs } from './bench.js';
import type { CliKind, ExportTimings, KindAttention, Runtime } from './kind.js';
import { randomRows } from './parity.js';

/** The pixels [H, W] of `text`: a CSV line of pixel values or a PNG file's path. */
export async function scenePixels(config: PngModelConfig, text: string): Promise<Float32Array> {
  return imageInputs(await withPngLines([text], config), config).pixels;
}

/**
 * The greedy caption of one image by `translator` (a checkpoint's tfjs one with attention, or an
 * export's ONNX one) with each generated word's attention, as `attend attention` shows it.
 * `where` names the model in errors.
 */
export async function captionAttention<S extends { batchSize: number }>(translator: Translator<S>, source: S, config: TokenModelConfig & { imageHeight: number; imageWidth: number }, tokenizer: Tokenizer, pixels: Float32Array, layout: CaptionLayout, where: string, pick: AttentionPick = {}): Promise<KindAttention> {
  const { output, words, alphas } = await flagged(() => captionWithAttention(translator, source, config, tokenizer, layout, pick));
  if (alphas.some((a) => a === undefined)) throw noAttention(where, 'cross_attentions.0');
  const caption: CaptionAttentionRow = { pixels, height: config.imageHeight, width: config.imageWidth, grid: layout.grid, label: `"${output}"`, words, alphas: alphas as Float32Array[], hard: layout.hard };
  return { output, sets: [], caption };
}

/** `run()`, its ConfigError about `layer` or `head` a usage error naming the flag (`--layer: …`). */
async function flagged<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ConfigError && (error.field === 'layer' || error.field === 'head')) throw new CliError(`--${error.message}`, 2);
    throw error;
  }
}

/** `count` random images [H, W] with raw values in [0, 1 / pixelScale]. */
function randomScenes(config: { imageHeight: number; imageWidth: number; pixelScale: number }, count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count * config.imageHeight * config.imageWidth }, () => rng.next() / config.pixelScale);
}

/**
 * `attend bench` of a caption export: the forward pass (the encoder, then the decoder over `ids`,
 * one step per word), the per-word time of the decoding loop's steps (`decodeMs`), and the
 * median ms of one whole greedy caption of a random scene (`captionMs`).
 */
export async function captionExportTimings(rt: Runtime, config: TokenModelConfig & { imageHeight: number; imageWidth: number; pixelScale: number }, sessions: ExportSessions, ids: Int32Array, seconds: number): Promise<ExportTimings> {
  if (!('encoder' in sessions)) throw new CliError(`bench: a ${config.preset} export has an encoder and a decoder graph`);
  const translator = rt.onnxCaptioner(sessions);
  const source: ImageSource = { pixels: randomScenes(config, 1, 1), batchSize: 1 };
  const target = Int32Array.from(ids, (x, i) => (i === 0 ? config.bosTokenId : x));
  const forward = await forwardTimings(async () => {
    const { step } = await translator.start(source);
    await step(target, 1, target.length, { parents: Int32Array.of(0) }); // a call that extends no earlier one replays every word
  }, seconds);
  const decodeMs = await cachedDecodeMs(() => captionStep(translator, source), config, Math.min(16, config.maxSeqLen - 1), seconds);
  const caption = await timeMs(() => translateWith(translator, source, { maxNewTokens: config.maxSeqLen - 1 }), seconds);
  return { ...forward, ...(decodeMs === undefined ? {} : { decodeMs }), captionMs: caption.median };
}

/** A step function that starts the translator at its first call (cachedDecodeMs makes one per run). */
function captionStep(translator: Translator<ImageSource>, source: ImageSource) {
  let started: ReturnType<Translator<ImageSource>['start']> | undefined;
  return async (...args: Parameters<Awaited<ReturnType<Translator<ImageSource>['start']>>['step']>) => {
    started ??= translator.start(source);
    return (await started).step(...args);
  };
}

/**
 * `attend attention` of a caption kind, from a checkpoint (its tfjs Translator with attention) or
 * an export folder (its ONNX Translator): the scene `text`, captioned with each word's attention
 * (captionAttention) laid over the image as `layout` says (given hard attention's reading, when
 * `pick` has one). `check` refuses a model with no
 * attention to show, naming it (`where`).
 */
export function captionAttentionOf<C extends ImageToTextConfig>(layout: (config: C, hardInference?: HardInference) => CaptionLayout, check: (config: C, where: string) => void = () => {}): CliKind<C>['attention'] {
  return {
    async checkpoint(t, model, config, tokenizer, text, pick = {}) {
      check(config, 'the checkpoint');
      const pixels = await scenePixels(config, text);
      if (pick.hardInference) hardInferenceFlag(() => t.setHardInference(model, pick.hardInference!));
      return captionAttention(t.tfjsTranslator(model, { attention: true }), t.imageBatch(pixels, 1, config), config, tokenizer!, pixels, layout(config, pick.hardInference), 'the checkpoint', pick);
    },
    async export(dir, config, text, pick = {}) {
      check(config, dir);
      const pixels = await scenePixels(config, text);
      const rt = await import('@attend/runtime-onnx/node');
      const { sessions, tokenizer, release } = await rt.openExport(dir);
      try {
        if (!('encoder' in sessions) || !tokenizer) throw new CliError(`${dir}: not a ${config.preset} export (an encoder, a decoder and a tokenizer)`);
        const translator = hardInferenceFlag(() => rt.onnxCaptioner(sessions, pick));
        return await captionAttention(translator, { pixels, batchSize: 1 }, config, tokenizer, pixels, layout(config, pick.hardInference), dir, pick);
      } finally {
        await release();
      }
    },
  };
}

/** `attend bench` of a caption kind: its export's timings (captionExportTimings) and random training batches of scenes and captions (bos first). */
export const CAPTION_BENCH: CliKind<ImageToTextConfig>['bench'] = {
  export: (rt, config, sessions, ids, seconds) => captionExportTimings(rt, config, sessions, ids, seconds),
  trainBatch(t, config, B, n, rng) {
    const pixels = Float32Array.from({ length: B * config.imageHeight * config.imageWidth }, () => rng.next() / config.pixelScale);
    const words = randomRows(config, rng.int(1 << 30), Array.from({ length: B }, () => n));
    const target = Int32Array.from(words.ids, (x, i) => (i % n === 0 ? config.bosTokenId : x));
    return { input: t.imageBatch(pixels, B, config), target: { ids: target, batchSize: B, seqLen: n }, labels: words.ids };
  },
};
