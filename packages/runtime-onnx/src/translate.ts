// `translate` over an export's encoder and decoder sessions: the kind's Translator (its
// RuntimeKind's `translator`) and core's decoding loop — the same `translate` as
// @attend/transformer's, whose first argument is a Translator too.

import { hardCaptionerConfig, ShapeError, translateWith, type Translator, type TranslateOptions } from '@attend/core';
import type { CaptionTarget } from './models/kind.js';
import { runtimeKind } from './models/registry.js';
import type { SourceBatch } from './models/encoder-decoder/session.js';
import type { CaptionRunOptions, ImageSource } from './models/image-captioner/session.js';
import type { OnnxModel } from './session.js';

/** The encoder and decoder sessions of an encoder–decoder export (encoder-decoder or rnn-seq2seq) as core's Translator. */
export function onnxTranslator(sessions: { encoder: OnnxModel; decoder: OnnxModel }): Translator<SourceBatch> {
  const config = sessions.decoder.config;
  const translator = runtimeKind(config).translator;
  if (!translator) throw new ShapeError(`translate needs an encoder-decoder or rnn-seq2seq export; this model is a '${config.preset}'`);
  return translator(sessions);
}

/**
 * The encoder and decoder sessions of a captioner's export (task image-to-text) as core's
 * Translator over images: its RuntimeKind's `captioner`. `options.hardInference` is refused in one
 * line (a ConfigError) for a model without hard attention.
 */
export function onnxCaptioner(sessions: { encoder: OnnxModel; decoder: OnnxModel }, options: CaptionRunOptions = {}): Translator<ImageSource> {
  const config = sessions.decoder.config;
  const captioner = runtimeKind(config).captioner;
  if (!captioner) throw new ShapeError(`captioning needs a captioner's export; this model is a '${config.preset}'`);
  if (options.hardInference) hardCaptionerConfig(config, options.hardInference);
  return captioner(sessions, options);
}

/**
 * Teacher-forced logits [B, T, V] of the captions `target` (each row starting with bos) for the
 * images `pixels` ([B, H, W] raw values), over a captioner export's sessions of either backend: its
 * RuntimeKind's `captionLogits` (what the parity check of `attend export` compares), read as `options` says.
 */
export async function onnxCaptionLogits(sessions: { encoder: OnnxModel; decoder: OnnxModel }, pixels: Float32Array, target: CaptionTarget, options: CaptionRunOptions = {}): Promise<Float32Array> {
  const config = sessions.decoder.config;
  const captionLogits = runtimeKind(config).captionLogits;
  if (!captionLogits) throw new ShapeError(`teacher-forced captions need a captioner's export; this model is a '${config.preset}'`);
  if (options.hardInference) hardCaptionerConfig(config, options.hardInference);
  const { ort, session: encoder } = sessions.encoder.ortSession;
  return (await captionLogits(ort, { encoder, decoder: sessions.decoder.ortSession.session }, config, pixels, target, options)).logits;
}

/**
 * Encodes `source` and decodes it from bos until eos; returns each row's new ids (no bos, no
 * eos). `first` is a Translator (`onnxTranslator`), or the two sessions themselves (the form
 * before Translator; tests and the transformers.js checks use it).
 */
export async function translate(first: Translator<SourceBatch> | { encoder: OnnxModel; decoder: OnnxModel }, source: SourceBatch, options: TranslateOptions): Promise<number[][]> {
  return translateWith('start' in first ? first : onnxTranslator(first), source, options);
}
