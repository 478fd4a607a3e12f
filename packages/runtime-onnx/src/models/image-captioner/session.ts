// Running the two graphs of an image-captioner export (`exportCaptioner`) on ONNX Runtime
// sessions of either backend: the encoder over images, then the decoder step word by word;
// captions through core's decoding loop (greedy, sampling, beam), α per word as a step output.
// `imageCaptionerTranslator` is the RuntimeKind's `captioner`: an export folder's sessions as core's Translator.
// Hard attention reads the grid as `CaptionRunOptions.hardInference` says (the decoder step's
// `use_expectation` input; the arg-max by default).

import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { ConfigError, configAs, decodeRows, hardCaptionerConfig, ShapeError, translateDecodeOptions, type DecodeStrategy, type HardInference, type ImageCaptionerConfig, type StepFunction, type Translator } from '@attend/core';
import type { OnnxModel, OrtRuntime } from '../../session.js';

/** The decoder step's input of a hard captioner (export.ts) that picks its reading: false the arg-max location, true the expected context. */
export const USE_EXPECTATION = 'use_expectation';

/** How a captioning run over the two graphs reads the grid. */
export interface CaptionRunOptions {
  /** Hard attention at test time: the arg-max location (default) or the expectation; refused for any other captioner. */
  hardInference?: HardInference;
}

/**
 * The decoder-step feeds that set hard attention's reading: `use_expectation` when the graph has
 * it. A ConfigError naming `hardInference` for a model without hard attention (core's
 * `hardCaptionerConfig`), or for the expectation on a hard export made before the input existed.
 */
function readingFeeds(ort: OrtRuntime, decoder: InferenceSession, config: ImageCaptionerConfig, { hardInference }: CaptionRunOptions): Record<string, Tensor> {
  if (hardInference) hardCaptionerConfig(config, hardInference);
  if (!decoder.inputNames.includes(USE_EXPECTATION)) {
    if (hardInference === 'expectation') throw new ConfigError('hardInference', `expectation: this export's decoder step has no '${USE_EXPECTATION}' input (it reads the arg-max only); export the checkpoint again`);
    return {};
  }
  return { [USE_EXPECTATION]: new ort.Tensor('bool', Uint8Array.of(hardInference === 'expectation' ? 1 : 0), [1]) };
}

/** The encoder and decoder-step sessions of one image-captioner export. */
export interface CaptionerSessions {
  encoder: InferenceSession;
  decoder: InferenceSession;
}

/**
 * Teacher-forced logits of the captions `target` ([B, T] ids, each row starting with bos) for the
 * images `pixels` ([B, H, W] raw values): logits [B, T, V] and, with attention, α [B, T, L].
 */
export async function captionerLogits(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, target: { ids: Int32Array; batchSize: number; seqLen: number }, options: CaptionRunOptions = {}): Promise<{ logits: Float32Array; attention?: Float32Array }> {
  const { batchSize: B, seqLen: T } = target;
  const [H, W, V] = [config.imageHeight, config.imageWidth, config.vocabSize];
  if (pixels.length !== B * H * W) throw new ShapeError(`images: ${pixels.length} values for ${B} × ${H} × ${W}`);
  if (target.ids.length !== B * T) throw new ShapeError(`captions: ${target.ids.length} ids for ${B} × ${T}`);
  const reading = readingFeeds(ort, sessions.decoder, config, options);
  const encoded = await sessions.encoder.run({ pixel_values: new ort.Tensor('float32', pixels, [B, 1, H, W]) });
  const features = encoded.last_hidden_state!;
  let hidden = encoded.decoder_initial_state!;
  let cell = encoded.decoder_initial_cell_state!;
  const logits = new Float32Array(B * T * V);
  let attention: Float32Array | undefined;
  for (let t = 0; t < T; t++) {
    const ids = BigInt64Array.from({ length: B }, (_, b) => BigInt(target.ids[b * T + t]!));
    const out = await sessions.decoder.run({ input_ids: new ort.Tensor('int64', ids, [B, 1]), encoder_hidden_states: features, hidden_state: hidden, cell_state: cell, ...reading });
    const step = out.logits!.data as Float32Array;
    for (let b = 0; b < B; b++) logits.set(step.subarray(b * V, (b + 1) * V), (b * T + t) * V);
    const alpha = out.attention_weights as Tensor | undefined;
    if (alpha) {
      const L = alpha.dims[2]!;
      attention ??= new Float32Array(B * T * L);
      for (let b = 0; b < B; b++) attention.set((alpha.data as Float32Array).subarray(b * L, (b + 1) * L), (b * T + t) * L);
    }
    hidden = out.present_hidden_state!;
    cell = out.present_cell_state!;
  }
  return attention ? { logits, attention } : { logits };
}

/** Rows `rows` of a batch-major tensor's data, `size` values per row. */
function gatherRows(data: Float32Array, size: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * size);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i]! * size, (rows[i]! + 1) * size), i * size);
  return out;
}

/**
 * A step function over the two graphs for captioning `count` images: the encoder runs once (at
 * the first call), then each call runs the decoder step on each row's newest word, carrying the
 * LSTM state between calls. Beam search's `parents` reorder and repeat the state rows, and each
 * row's feature grid follows the image it descends from; a call that does not extend the previous
 * one by one word replays its rows from the initial state. Returns the word's logits and, with
 * attention, its α as the step output `cross_attentions.0` [rows, 1, L] (the name and layout of
 * the tfjs step's).
 */
export function captionerStepFunction(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, count: number, options: CaptionRunOptions = {}): StepFunction {
  const [H, W, d] = [config.imageHeight, config.imageWidth, config.dModel];
  if (pixels.length !== count * H * W) throw new ShapeError(`images: ${pixels.length} values for ${count} × ${H} × ${W}`);
  const reading = readingFeeds(ort, sessions.decoder, config, options);
  let encoded: { features: Tensor; hidden: Tensor; cell: Tensor } | undefined;
  let state: { imageRows: Int32Array; hidden: Float32Array; cell: Float32Array; length: number } | undefined;
  return async (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    if (!(state && parents) && batchSize !== count) throw new ShapeError(`captioning ${count} images: the first step has ${batchSize} rows`);
    if (!encoded) {
      const out = await sessions.encoder.run({ pixel_values: new ort.Tensor('float32', pixels, [count, 1, H, W]) });
      encoded = { features: out.last_hidden_state!, hidden: out.decoder_initial_state!, cell: out.decoder_initial_cell_state! };
    }
    const [, L, D] = encoded.features.dims as [number, number, number];
    const imageRows = state && parents ? Int32Array.from(parents, (p) => state!.imageRows[p]!) : Int32Array.from({ length: batchSize }, (_, i) => i);
    const features = new ort.Tensor('float32', gatherRows(encoded.features.data as Float32Array, L * D, imageRows), [batchSize, L, D]);
    const extends1 = state !== undefined && parents !== undefined && state.length === length - 1;
    let hidden = extends1 ? gatherRows(state!.hidden, d, parents!) : gatherRows(encoded.hidden.data as Float32Array, d, imageRows);
    let cell = extends1 ? gatherRows(state!.cell, d, parents!) : gatherRows(encoded.cell.data as Float32Array, d, imageRows);
    let out: Record<string, Tensor> = {};
    for (let t = extends1 ? length - 1 : 0; t < length; t++) {
      const ids = BigInt64Array.from({ length: batchSize }, (_, b) => BigInt(tokens[b * length + t]!));
      out = await sessions.decoder.run({ input_ids: new ort.Tensor('int64', ids, [batchSize, 1]), encoder_hidden_states: features, hidden_state: new ort.Tensor('float32', hidden, [1, batchSize, d]), cell_state: new ort.Tensor('float32', cell, [1, batchSize, d]), ...reading });
      hidden = out.present_hidden_state!.data as Float32Array;
      cell = out.present_cell_state!.data as Float32Array;
    }
    state = { imageRows, hidden, cell, length };
    const logits = out.logits!.data as Float32Array;
    const alpha = out.attention_weights;
    return alpha ? { logits, outputs: { [CAPTION_ATTENTION]: { data: alpha.data as Float32Array, dims: [batchSize, 1, L] } } } : logits;
  };
}

/** The step output that carries a captioner's attention over the image: [rows, heads, L], as a decoder's cross-attention. */
export const CAPTION_ATTENTION = 'cross_attentions.0';

/** Images to caption: `batchSize` images [H, W] (raw values) in `pixels`. */
export interface ImageSource {
  pixels: Float32Array;
  batchSize: number;
}

/** The two sessions as core's Translator over images: each `start` decodes its images with `captionerStepFunction` (read as `options` says). */
export function captionerTranslator(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, options: CaptionRunOptions = {}): Translator<ImageSource> {
  readingFeeds(ort, sessions.decoder, config, options); // refused here, before any image
  return { config, start: async (source) => ({ step: captionerStepFunction(ort, sessions, config, source.pixels, source.batchSize, options) }) };
}

/** An export folder's encoder and decoder sessions (openExportFolder's, either backend) as the captioner's Translator. */
export function imageCaptionerTranslator(sessions: { encoder: OnnxModel; decoder: OnnxModel }, options: CaptionRunOptions = {}): Translator<ImageSource> {
  const config = configAs(sessions.decoder.config, ['image-captioner'], 'captioning');
  const { ort, session: encoder } = sessions.encoder.ortSession;
  return captionerTranslator(ort, { encoder, decoder: sessions.decoder.ortSession.session }, config, options);
}

/** A caption's word ids (no bos, no eos) and, with attention, α over the grid for each word (and the eos when produced). */
export interface Caption {
  ids: number[];
  attention?: Float32Array[];
}

/** Captions `count` images [H, W] in `pixels` (raw values) with `strategy`, at most maxSeqLen − 1 words. */
export async function captionImages(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, count: number, strategy: DecodeStrategy = { kind: 'greedy' }, options: CaptionRunOptions = {}): Promise<Caption[]> {
  if (pixels.length !== count * config.imageHeight * config.imageWidth) throw new ShapeError(`images: ${pixels.length} values for ${count} × ${config.imageHeight} × ${config.imageWidth}`);
  const step = captionerStepFunction(ort, sessions, config, pixels, count, options);
  const rows = await decodeRows(step, translateDecodeOptions(config, count, { maxNewTokens: config.maxSeqLen - 1 }), strategy);
  return rows.map((r) => (config.visualAttention === 'none' ? { ids: r.ids } : { ids: r.ids, attention: r.steps.map((s) => s[CAPTION_ATTENTION]!.data) }));
}
