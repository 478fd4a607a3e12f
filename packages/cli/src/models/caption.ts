// What the CLI's caption kinds (task image-to-text) share, whatever the model behind them: the
// scene `attend attention` reads (a CSV line of pixel values or a PNG), each generated word's
// attention over the image read from core's decoding loop itself — the steps' cross-attention
// outputs (`cross_attentions.{l}`: the last layer, heads averaged), from a checkpoint's tfjs
// Translator or an export's ONNX one, never a second pass — and `attend bench`'s timings of an
// export: the teacher-forced forward, the per-word step and a whole greedy caption.

import { createRng, decodeRows, translateWith, type CaptionAttentionRow, type CaptionGrid, type RowOutputs, type StepOutputs, type TokenModelConfig, type Tokenizer, type Translator } from '@attend/core';
import type { ExportSessions, ImageSource } from '@attend/runtime-onnx';
import { CliError } from '../errors.js';
import { imageInputs } from '../inputs.js';
import { withPngLines, type PngModelConfig } from '../png-input.js';
import { greedyOptions } from './attention.js';
import { cachedDecodeMs, forwardTimings, timeMs } from './bench.js';
import type { ExportTimings, KindAttention, Runtime } from './kind.js';

/** How a caption kind's attention maps onto its image: the grid, and whether it takes one location per word (hard attention). */
export interface CaptionLayout {
  grid: CaptionGrid;
  hard: boolean;
}

/** The pixels [H, W] of `text`: a CSV line of pixel values or a PNG file's path. */
export async function scenePixels(config: PngModelConfig, text: string): Promise<Float32Array> {
  return imageInputs(await withPngLines([text], config), config).pixels;
}

/** The attention row of one step: the last cross-attention layer's [heads, L], heads averaged; undefined when the step has none. */
function stepAttention(outputs: StepOutputs | RowOutputs): Float32Array | undefined {
  const layers = Object.keys(outputs).filter((name) => /^cross_attentions\.\d+$/.test(name));
  if (layers.length === 0) return undefined;
  const last = layers.sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).at(-1)!;
  const { data, dims } = outputs[last]!;
  const L = dims.at(-1)!;
  const heads = data.length / L;
  const mean = new Float32Array(L);
  for (let h = 0; h < heads; h++) for (let i = 0; i < L; i++) mean[i]! += data[h * L + i]! / heads;
  return mean;
}

/**
 * The greedy caption of one image by `translator` (a checkpoint's tfjs one with attention, or an
 * export's ONNX one) with each generated word's attention, as `attend attention` shows it.
 * `where` names the model in errors.
 */
export async function captionAttention<S extends { batchSize: number }>(translator: Translator<S>, source: S, config: TokenModelConfig & { imageHeight: number; imageWidth: number }, tokenizer: Tokenizer, pixels: Float32Array, layout: CaptionLayout, where: string): Promise<KindAttention> {
  const { step, release } = await translator.start(source);
  try {
    const [row] = await decodeRows(step, greedyOptions(config));
    const alphas = row!.steps.map((s) => stepAttention(s));
    if (alphas.some((a) => a === undefined)) throw new CliError(`${where}: the captioner gives no attention weights (it looks at the image only through its first state)`);
    const output = tokenizer.decode(row!.ids);
    const words = [...row!.ids.map((id) => tokenizer.decode([id])), ...(row!.steps.length > row!.ids.length ? ['</s>'] : [])];
    const caption: CaptionAttentionRow = { pixels, height: config.imageHeight, width: config.imageWidth, grid: layout.grid, label: `"${output}"`, words, alphas: alphas as Float32Array[], hard: layout.hard };
    return { output, sets: [], caption };
  } finally {
    release?.();
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
