// Running a vision-encoder-decoder export (`exportVisionEncoderDecoder`) on ONNX Runtime sessions
// of either backend: the encoder over images once, then the merged decoder — teacher-forced
// over whole captions, or one word at a time through its self- and cross-attention caches as
// transformers.js runs it — and captions through core's decoding loop (greedy, sampling, beam).
// `visionCaptionerTranslator` is the RuntimeKind's `captioner`: an export folder's sessions as
// core's Translator, whose steps carry the decoder's attention when the export has it.

import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { configAs, decodeRows, headDim, lastQueryRows, ShapeError, type DecodeStrategy, type StepFunction, type StepTensor, type Translator, type VisionEncoderDecoderConfig } from '@attend/core';
import { seq2seqPastName, seq2seqPresentName } from '../../graph-io.js';
import type { OnnxModel, OrtRuntime } from '../../session.js';
import { sourceRowsOf } from '../encoder-decoder/session.js';
import type { ImageSource } from '../image-captioner/session.js';
import { LAYER_ATTENTIONS } from '../kind.js';

/** The encoder_model.onnx and decoder_model_merged.onnx sessions of one export. */
export interface VisionEncoderDecoderSessions {
  encoder: InferenceSession;
  decoder: InferenceSession;
}

/** Encoder states [B, N + 1, d] of `count` images [H, W] (raw values). */
export async function encodeImages(ort: OrtRuntime, encoder: InferenceSession, config: VisionEncoderDecoderConfig, pixels: Float32Array, count: number): Promise<Tensor> {
  const [H, W] = [config.imageHeight, config.imageWidth];
  if (pixels.length !== count * H * W) throw new ShapeError(`images: ${pixels.length} values for ${count} × ${H} × ${W}`);
  return (await encoder.run({ pixel_values: new ort.Tensor('float32', pixels, [count, 1, H, W]) })).last_hidden_state!;
}

/**
 * One run of the merged decoder: `ids` [B, T] over encoder `states`, with `past` (each layer's
 * decoder and encoder keys and values, from an earlier run's presents) or none (the first run:
 * empty pasts, use_cache_branch false). Returns the logits [B, T, V], the presents and the
 * attention outputs of an export made with attention (`decoder_attentions.{i}`,
 * `cross_attentions.{i}`: [B, heads, T, keys]).
 */
async function runDecoder(ort: OrtRuntime, decoder: InferenceSession, config: VisionEncoderDecoderConfig, ids: ArrayLike<number>, B: number, T: number, states: Tensor, past?: Record<string, Tensor>): Promise<{ logits: Float32Array; present: Record<string, Tensor>; attentions: Record<string, StepTensor> }> {
  const [Hh, D] = [config.numHeads, headDim(config)];
  const feeds: Record<string, Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(Array.from(ids), BigInt), [B, T]),
    encoder_hidden_states: states,
    use_cache_branch: new ort.Tensor('bool', Uint8Array.of(past ? 1 : 0), [1]),
  };
  const present: Record<string, Tensor> = {};
  const attentions: Record<string, StepTensor> = {};
  for (let i = 0; i < config.numDecoderLayers; i++) {
    for (const cache of ['decoder', 'encoder'] as const) {
      for (const part of ['key', 'value'] as const) {
        feeds[seq2seqPastName(i, cache, part)] = past?.[seq2seqPresentName(i, cache, part)] ?? new ort.Tensor('float32', new Float32Array(0), [B, Hh, 0, D]);
      }
    }
  }
  const out = await decoder.run(feeds);
  for (const [name, value] of Object.entries(out)) {
    if (name.startsWith('present.')) present[name] = value;
    else if (LAYER_ATTENTIONS.test(name)) attentions[name] = { data: value.data as Float32Array, dims: [...value.dims] };
  }
  return { logits: out.logits!.data as Float32Array, present, attentions };
}

/**
 * Teacher-forced logits [B, T, V] of the captions `target` ([B, T] ids, each row starting with
 * bos) for the images `pixels` ([B, H, W] raw values): in one decoder run, or (`cached`) one
 * word at a time, each run reading the previous run's caches.
 */
export async function visionCaptionLogits(
  ort: OrtRuntime,
  sessions: VisionEncoderDecoderSessions,
  config: VisionEncoderDecoderConfig,
  pixels: Float32Array,
  target: { ids: Int32Array; batchSize: number; seqLen: number },
  { cached = false }: { cached?: boolean } = {},
): Promise<Float32Array> {
  const { batchSize: B, seqLen: T } = target;
  if (target.ids.length !== B * T) throw new ShapeError(`captions: ${target.ids.length} ids for ${B} × ${T}`);
  const states = await encodeImages(ort, sessions.encoder, config, pixels, B);
  if (!cached) return (await runDecoder(ort, sessions.decoder, config, target.ids, B, T, states)).logits;
  const V = config.vocabSize;
  const logits = new Float32Array(B * T * V);
  let past: Record<string, Tensor> | undefined;
  for (let t = 0; t < T; t++) {
    const out = await runDecoder(ort, sessions.decoder, config, Array.from({ length: B }, (_, b) => target.ids[b * T + t]!), B, 1, states, past);
    for (let b = 0; b < B; b++) logits.set(out.logits.subarray(b * V, (b + 1) * V), (b * T + t) * V);
    past = out.present;
  }
  return logits;
}

/**
 * A step function over the two graphs for captioning `count` images: the images are encoded
 * once; each call runs the decoder over the rows' words so far (captions are a few words),
 * each row reading the encoder states of the image it descends from (beam search's `parents`,
 * followed as the encoder-decoder's step function follows its sources). With the export's
 * attention outputs, each call also returns the attention of the word it predicts under their
 * names (`cross_attentions.{i}` [rows, heads, N + 1], CLS first), as the tfjs step does.
 */
export async function visionCaptionStepFunction(ort: OrtRuntime, sessions: VisionEncoderDecoderSessions, config: VisionEncoderDecoderConfig, pixels: Float32Array, count: number): Promise<StepFunction> {
  const encoded = await encodeImages(ort, sessions.encoder, config, pixels, count);
  const S = encoded.dims[1]!;
  const states = { data: encoded.data as Float32Array, dims: [...encoded.dims] };
  const follow = sourceRowsOf({ states, mask: { data: new Int32Array(count * S).fill(1), batchSize: count, seqLen: S } });
  const V = config.vocabSize;
  return async (tokens, batchSize, length, context) => {
    const { memory } = follow(tokens, batchSize, length, context?.parents);
    const { logits, attentions } = await runDecoder(ort, sessions.decoder, config, tokens, batchSize, length, new ort.Tensor('float32', memory.states.data, memory.states.dims));
    const last = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) last.set(logits.subarray(((b + 1) * length - 1) * V, (b + 1) * length * V), b * V);
    return Object.keys(attentions).length === 0 ? last : { logits: last, outputs: lastQueryRows(attentions) };
  };
}

/** An export folder's encoder and decoder sessions (openExportFolder's, either backend) as the Transformer captioner's Translator. */
export function visionCaptionerTranslator(sessions: { encoder: OnnxModel; decoder: OnnxModel }): Translator<ImageSource> {
  const config = configAs(sessions.decoder.config, ['vision-encoder-decoder'], 'captioning');
  const { ort, session: encoder } = sessions.encoder.ortSession;
  const both = { encoder, decoder: sessions.decoder.ortSession.session };
  return { config, start: async (source) => ({ step: await visionCaptionStepFunction(ort, both, config, source.pixels, source.batchSize) }) };
}

/** Captions (word ids, no bos or eos) of `count` images [H, W] in `pixels` (raw values) with `strategy`, at most maxSeqLen − 1 words. */
export async function captionVisionImages(ort: OrtRuntime, sessions: VisionEncoderDecoderSessions, config: VisionEncoderDecoderConfig, pixels: Float32Array, count: number, strategy: DecodeStrategy = { kind: 'greedy' }): Promise<number[][]> {
  const step = await visionCaptionStepFunction(ort, sessions, config, pixels, count);
  const options = { batchSize: count, vocabSize: config.vocabSize, bosTokenId: config.bosTokenId, eosTokenId: config.eosTokenId, maxNewTokens: config.maxSeqLen - 1 };
  return (await decodeRows(step, options, strategy)).map((r) => r.ids);
}
