// Running the two graphs of an image-captioner export (`exportCaptioner`) on ONNX Runtime
// sessions of either backend: the encoder over images, then the decoder step word by word;
// captions through core's decoding loop (greedy, sampling, beam), α per word as a step output.

import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { decodeRows, ShapeError, type DecodeStrategy, type ImageCaptionerConfig, type StepFunction } from '@attend/core';
import type { OrtRuntime } from '../../session.js';

/** The encoder and decoder-step sessions of one image-captioner export. */
export interface CaptionerSessions {
  encoder: InferenceSession;
  decoder: InferenceSession;
}

/**
 * Teacher-forced logits of the captions `target` ([B, T] ids, each row starting with bos) for the
 * images `pixels` ([B, H, W] raw values): logits [B, T, V] and, with attention, α [B, T, L].
 */
export async function captionerLogits(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, target: { ids: Int32Array; batchSize: number; seqLen: number }): Promise<{ logits: Float32Array; attention?: Float32Array }> {
  const { batchSize: B, seqLen: T } = target;
  const [H, W, V] = [config.imageHeight, config.imageWidth, config.vocabSize];
  if (pixels.length !== B * H * W) throw new ShapeError(`images: ${pixels.length} values for ${B} × ${H} × ${W}`);
  if (target.ids.length !== B * T) throw new ShapeError(`captions: ${target.ids.length} ids for ${B} × ${T}`);
  const encoded = await sessions.encoder.run({ pixel_values: new ort.Tensor('float32', pixels, [B, 1, H, W]) });
  const features = encoded.last_hidden_state!;
  let hidden = encoded.decoder_initial_state!;
  let cell = encoded.decoder_initial_cell_state!;
  const logits = new Float32Array(B * T * V);
  let attention: Float32Array | undefined;
  for (let t = 0; t < T; t++) {
    const ids = BigInt64Array.from({ length: B }, (_, b) => BigInt(target.ids[b * T + t]!));
    const out = await sessions.decoder.run({ input_ids: new ort.Tensor('int64', ids, [B, 1]), encoder_hidden_states: features, hidden_state: hidden, cell_state: cell });
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

/**
 * A step function over the two graphs for captioning `count` images: each call runs the
 * decoder over the rows' words so far from their image (recomputing the prefix: captions are a
 * few words), following beam search's `parents` back to each row's image. Returns the last
 * word's logits and, with attention, its α as the step output `attention` [rows, L].
 */
export function captionerStepFunction(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, count: number): StepFunction {
  const size = config.imageHeight * config.imageWidth;
  const V = config.vocabSize;
  let imageRows: Int32Array | undefined;
  return async (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    if (!(imageRows && parents) && batchSize !== count) throw new ShapeError(`captioning ${count} images: the first step has ${batchSize} rows`);
    imageRows = imageRows && parents ? Int32Array.from(parents, (p) => imageRows![p]!) : Int32Array.from({ length: batchSize }, (_, i) => i);
    const rows = new Float32Array(batchSize * size);
    imageRows.forEach((r, i) => rows.set(pixels.subarray(r * size, (r + 1) * size), i * size));
    const { logits, attention } = await captionerLogits(ort, sessions, config, rows, { ids: tokens, batchSize, seqLen: length });
    const last = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) last.set(logits.subarray(((b + 1) * length - 1) * V, (b + 1) * length * V), b * V);
    if (!attention) return last;
    const L = attention.length / (batchSize * length);
    const alpha = new Float32Array(batchSize * L);
    for (let b = 0; b < batchSize; b++) alpha.set(attention.subarray(((b + 1) * length - 1) * L, (b + 1) * length * L), b * L);
    return { logits: last, outputs: { attention: { data: alpha, dims: [batchSize, L] } } };
  };
}

/** A caption's word ids (no bos, no eos) and, with attention, α over the grid for each word (and the eos when produced). */
export interface Caption {
  ids: number[];
  attention?: Float32Array[];
}

/** Captions `count` images [H, W] in `pixels` (raw values) with `strategy`, at most maxSeqLen − 1 words. */
export async function captionImages(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, count: number, strategy: DecodeStrategy = { kind: 'greedy' }): Promise<Caption[]> {
  if (pixels.length !== count * config.imageHeight * config.imageWidth) throw new ShapeError(`images: ${pixels.length} values for ${count} × ${config.imageHeight} × ${config.imageWidth}`);
  const step = captionerStepFunction(ort, sessions, config, pixels, count);
  const options = { batchSize: count, vocabSize: config.vocabSize, bosTokenId: config.bosTokenId, eosTokenId: config.eosTokenId, maxNewTokens: config.maxSeqLen - 1 };
  const rows = await decodeRows(step, options, strategy);
  return rows.map((r) => (config.visualAttention === 'none' ? { ids: r.ids } : { ids: r.ids, attention: r.steps.map((s) => s.attention!.data) }));
}
