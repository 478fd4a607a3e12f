// Test fixtures: tiny attend exports (random, visibly non-uniform weights) built in memory with
// the toolkit, as the files of an export folder (transformers.js layout; attend's for rnn-seq2seq).

import * as tf from '@tensorflow/tfjs-core';
import { CharTokenizer, createModelConfig, createRng, pickFields, type ModelConfigInput, type Preset, type RnnAttention } from '@attend/core';
import { exportFolderFiles } from '@attend/runtime-onnx';
import { createModel, serializeCheckpoint, setupBackend, type AttendModel } from '@attend/transformer';
import type { PickedFile } from '../model-folder.js';

export const ALPHABET = 'abcdef';

let ready: Promise<unknown> | undefined;

/** The files of an export folder of a tiny `preset` model over ALPHABET (char tokenizer). */
export async function tinyExport(
  preset: Exclude<Preset, 'vit-classifier'>,
  options: { withAttention?: boolean; seed?: number; rnnAttention?: RnnAttention; optimize?: boolean; kvCache?: 'shared'; fields?: Partial<ModelConfigInput> } = {},
): Promise<Record<string, Uint8Array>> {
  ready ??= setupBackend(['cpu']);
  await ready;
  const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
  const rnn = preset === 'rnn-seq2seq';
  const shared = { vocabSize: tokenizer.vocabSize, numClasses: 3, dModel: 8, numHeads: 2, numEncoderLayers: rnn ? 1 : 2, numDecoderLayers: rnn ? 1 : 2, dFf: 16, maxSeqLen: 12, dropout: 0 };
  const config = createModelConfig({
    ...pickFields(preset, shared),
    preset,
    ...(rnn ? { rnnAttention: options.rnnAttention ?? 'additive' } : {}),
    ...options.fields,
  } as ModelConfigInput);
  const model = perturbed(createModel(config, { seed: options.seed ?? 3 }), 100 + (options.seed ?? 3));
  const files = exportFolderFiles(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }), { withAttention: options.withAttention ?? !options.optimize, optimize: options.optimize ?? false, ...(options.kvCache ? { kvCache: options.kvCache } : {}) });
  model.dispose();
  return files;
}

/** `model` with every weight redrawn N(0, std²) (layer-norm scales around 1), so attention is visibly non-uniform. */
function perturbed(model: AttendModel, seed: number, std = 0.5): AttendModel {
  const rng = createRng(seed);
  for (const { name, variable } of model.namedParams()) {
    const offset = /layer_norm\.weight$/.test(name) ? 1 : 0;
    const values = Float32Array.from({ length: variable.size }, () => offset + std * rng.normal());
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
  }
  return model;
}

/** PickedFiles as a picker would give them, with `prefix` before each path. */
export function picked(files: Record<string, Uint8Array>, prefix = ''): PickedFile[] {
  return Object.entries(files).map(([path, bytes]) => ({ path: `${prefix}${path}`, size: bytes.length, bytes: async () => bytes }));
}

/** The files of a tiny vit-classifier export: 8×8 single-channel images (raw 0 … 16) in 2×2 patches, 3 classes. */
export function tinyVitExport(options: { withAttention?: boolean; seed?: number } = {}): Promise<Record<string, Uint8Array>> {
  return tinyImageExport({ preset: 'vit-classifier', dModel: 8, numHeads: 2, numEncoderLayers: 2, dFf: 16 }, options);
}

/**
 * The files of a tiny image-classifier export of `fields` (3 classes, single-channel images of
 * raw values 0 … 16, 8×8 unless `fields` says otherwise), with attention outputs by default;
 * weights drawn N(0, std²), std 0.5 unless `options.std` says otherwise.
 */
export async function tinyImageExport(fields: ModelConfigInput, options: { withAttention?: boolean; seed?: number; std?: number } = {}): Promise<Record<string, Uint8Array>> {
  ready ??= setupBackend(['cpu']);
  await ready;
  const config = createModelConfig({ numClasses: 3, pixelScale: 1 / 16, dropout: 0, ...fields } as ModelConfigInput);
  const model = perturbed(createModel(config, { seed: options.seed ?? 3 }), 200 + (options.seed ?? 3), options.std);
  const files = exportFolderFiles(serializeCheckpoint({ model }), { withAttention: options.withAttention ?? true });
  model.dispose();
  return files;
}
