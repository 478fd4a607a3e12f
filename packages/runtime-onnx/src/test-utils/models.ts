// Test helpers: small tfjs models with non-trivial random weights, written as checkpoint
// files, and padded token batches, so that ONNX exports can be compared with the tfjs forward.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { configAs, createModelConfig, createRng, pickFields, type ModelConfigInput, type Preset, type Rng } from '@attend/core';
import { serializeCheckpoint, TransformerModel, type AttendModel, type TokenBatch } from '@attend/transformer';
import { CachedLmSession } from '../models/decoder-lm/session.js';
import { TokenForwardSession } from '../models/encoder-classifier/session.js';
import { Seq2SeqForwardSession } from '../models/encoder-decoder/session.js';
import { asSession, type OnnxModel } from '../session.js';
import { decodeModel } from '../quantize.js';

export const VOCAB = 13;
export const MAX_LEN = 10;

/** A 2-layer, dModel 8, 2-head model of `preset` with `overrides`, weights N(0, 0.3²)-perturbed. */
export function makeModel(overrides: Record<string, unknown> & { preset: Preset }, seed: number): TransformerModel {
  const preset = overrides.preset;
  // Defaults for every Transformer kind, narrowed to the fields of this one.
  const defaults = { vocabSize: VOCAB, numClasses: 3, dModel: 8, numHeads: 2, numEncoderLayers: 2, numDecoderLayers: 2, dFf: 16, maxSeqLen: MAX_LEN, dropout: 0 };
  const config = configAs(createModelConfig({ ...pickFields(preset, defaults), ...overrides } as ModelConfigInput), ['encoder-classifier', 'decoder-lm', 'encoder-decoder'], 'makeModel');
  return perturbed(new TransformerModel(config, { seed }), seed);
}

/**
 * `model` with every weight redrawn N(0, 0.3²) (layer-norm scales around 1): the initial
 * weights give near-uniform attention, which hides mistakes.
 */
export function perturbed<M extends AttendModel>(model: M, seed: number): M {
  const rng = createRng(1000 + seed);
  for (const { name, variable } of model.namedParams()) {
    const offset = /layer_norm\.weight$/.test(name) ? 1 : /logit_scale$/.test(name) ? Math.log(4) : 0;
    const values = Float32Array.from({ length: variable.size }, () => offset + 0.3 * rng.normal());
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
  }
  return model;
}

/** The checkpoint files (config.json, model.safetensors) of `model`. */
export function checkpointFiles(model: AttendModel): Record<string, Uint8Array> {
  return serializeCheckpoint({ model });
}

/** A right-padded batch of random token ids (pad id 0) with the given valid lengths. */
export function randomBatch(rng: Rng, lengths: number[], seqLen: number): TokenBatch & { mask: Int32Array } {
  const B = lengths.length;
  const ids = new Int32Array(B * seqLen);
  const mask = new Int32Array(B * seqLen);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) {
      ids[b * seqLen + t] = 1 + Math.floor(rng.next() * (VOCAB - 1));
      mask[b * seqLen + t] = 1;
    }
  });
  return { ids, batchSize: B, seqLen, lengths: Int32Array.from(lengths), mask };
}

/** Largest |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Share of rows (of width `width`) whose argmax agrees. */
export function top1Agreement(a: ArrayLike<number>, b: ArrayLike<number>, width: number): number {
  const argmax = (x: ArrayLike<number>, offset: number): number => {
    let best = 0;
    for (let i = 1; i < width; i++) if (x[offset + i]! > x[offset + best]!) best = i;
    return best;
  };
  let same = 0;
  const rows = a.length / width;
  for (let r = 0; r < rows; r++) if (argmax(a, r * width) === argmax(b, r * width)) same++;
  return same / rows;
}

/** The error `promise` rejects with, checked to be a one-line message of class `type`. */
export async function failure(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

/** Writes `files` (paths relative to `dir`, folders made as needed) into `dir`: an export folder's files on disk. */
export async function writeFiles(dir: string, files: Record<string, Uint8Array>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
}

/** `model` as a forward graph over tokens (either text forward graph, or a decoder-lm's KV-cache graph); throws for another. */
export function forwardOf(model: OnnxModel): TokenForwardSession | CachedLmSession | Seq2SeqForwardSession {
  if (model instanceof TokenForwardSession || model instanceof CachedLmSession || model instanceof Seq2SeqForwardSession) return model;
  throw new Error(`${model.source}: a '${model.graph}' graph, not a forward graph over tokens`);
}

/** `model` as a decoder-lm KV-cache graph. */
export function cachedOf(model: OnnxModel): CachedLmSession {
  return asSession(model, CachedLmSession);
}

/** The node op types of a graph, counted; with `domain` (e.g. 'com.microsoft'), that domain's only. */
export function opCounts(bytes: Uint8Array, domain?: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of decodeModel(bytes).graph.nodes) if (domain === undefined || n.domain === domain) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}
