// The parts of `attend bench` that several kinds share: timing a call, random inputs, and the
// per-token time of cached decoding over a step function.

import type { ExportSessions, OnnxModel } from '@attend/runtime-onnx';
import { argmax, createRng, imagePositions, logitsOf, type ImageClassifierConfig, type StepFunction, type TokenFields, type TokenModelConfig } from '@attend/core';

/** Median and fastest ms of `fn` after 2 warm-up calls, over ≥ 5 calls and ≥ `seconds`. */
export async function timeMs(fn: () => Promise<unknown> | unknown, seconds: number): Promise<{ median: number; min: number }> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start < seconds * 1000 && samples.length < 1000)) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]! };
}

/** Median ms of `fn` (see timeMs). */
export async function medianMs(fn: () => Promise<unknown> | unknown, seconds: number): Promise<number> {
  return (await timeMs(fn, seconds)).median;
}

/** `count` random images [C, S, S] with raw values in [0, 1 / pixelScale] (vit-classifier). */
export function randomImages(config: ImageClassifierConfig, count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const top = 1 / config.pixelScale;
  return Float32Array.from({ length: count * config.numChannels * config.imageSize ** 2 }, () => rng.next() * top);
}

/** "1 image (16 patches + CLS)", "1 image (6 glimpses)": what a forward pass over `count` images reads. */
export function imagesRead(config: ImageClassifierConfig, count: number): string {
  const n = imagePositions(config);
  const steps = 'numGlimpses' in config ? ` (${config.numGlimpses} glimpses)` : n > 1 ? ` (${n - 1} patches + CLS)` : '';
  return `${count} image${count === 1 ? '' : 's'}${steps}`;
}

/** `n` random ids of real tokens (past pad, bos, eos, unk where the vocabulary allows). */
export function randomIds(config: TokenFields, n: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const first = config.vocabSize > 8 ? 4 : 0;
  return Int32Array.from({ length: n }, () => first + rng.int(config.vocabSize - first));
}

/** The forward timings of `fn` as ExportTimings fields. */
export async function forwardTimings(fn: () => Promise<unknown>, seconds: number): Promise<{ forwardMs: number; forwardMinMs: number }> {
  const { median, min } = await timeMs(fn, seconds);
  return { forwardMs: median, forwardMinMs: min };
}

/**
 * Per-token latency of cached decoding: a fresh step function runs its first call (the prompt),
 * then `steps` calls of one new token each (greedy, eos not stopping); the median of the mean
 * time of those one-token calls.
 */
export async function cachedDecodeMs(makeStep: () => StepFunction, config: TokenModelConfig, steps: number, seconds: number): Promise<number | undefined> {
  if (steps < 2) return undefined;
  const perToken: number[] = [];
  const parents = Int32Array.of(0);
  await medianMs(async () => {
    const step = makeStep();
    const tokens = [config.bosTokenId];
    let logits = logitsOf(await step(Int32Array.from(tokens), 1, 1, { parents }));
    const start = performance.now();
    for (let i = 0; i < steps; i++) {
      tokens.push(argmax(logits, 0, config.vocabSize));
      logits = logitsOf(await step(Int32Array.from(tokens), 1, tokens.length, { parents }));
    }
    perToken.push((performance.now() - start) / steps);
  }, seconds);
  perToken.sort((a, b) => a - b);
  return perToken[Math.floor(perToken.length / 2)];
}

/** The one graph of an export folder (classifiers, LM). */
export function modelSession(sessions: ExportSessions): OnnxModel {
  if (!('model' in sessions)) throw new Error('bench: an encoder–decoder export where one graph was expected');
  return sessions.model;
}

/** The encoder and decoder of an encoder–decoder's export folder. */
export function encoderDecoderSessions(sessions: ExportSessions): { encoder: OnnxModel; decoder: OnnxModel } {
  if (!('encoder' in sessions)) throw new Error('bench: a one-graph export where an encoder and a decoder were expected');
  return sessions;
}
