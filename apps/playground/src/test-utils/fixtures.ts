// Test fixtures: tiny attend exports (random, visibly non-uniform weights) built in memory with
// the toolkit, as the files of an export folder (transformers.js layout; attend's for rnn-seq2seq).

import * as tf from '@tensorflow/tfjs-core';
import { CharTokenizer, createModelConfig, createRng, type Preset, type RnnAttention } from '@attend/core';
import { exportFolderFiles } from '@attend/runtime-onnx';
import { createModel, serializeCheckpoint, setupBackend } from '@attend/transformer';
import type { PickedFile } from '../model-folder.js';

export const ALPHABET = 'abcdef';

let ready: Promise<unknown> | undefined;

/** The files of an export folder of a tiny `preset` model over ALPHABET (char tokenizer). */
export async function tinyExport(
  preset: Exclude<Preset, 'encoder-classifier' | 'vit-classifier'>,
  options: { withAttention?: boolean; seed?: number; rnnAttention?: RnnAttention } = {},
): Promise<Record<string, Uint8Array>> {
  ready ??= setupBackend(['cpu']);
  await ready;
  const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
  const rnn = preset === 'rnn-seq2seq';
  const config = createModelConfig({
    preset,
    vocabSize: tokenizer.vocabSize,
    dModel: 8,
    numHeads: rnn ? 1 : 2,
    numEncoderLayers: preset === 'decoder-lm' ? 0 : rnn ? 1 : 2,
    numDecoderLayers: rnn ? 1 : 2,
    dFf: 16,
    maxSeqLen: 12,
    dropout: 0,
    ...(rnn ? { rnnAttention: options.rnnAttention ?? 'additive' } : {}),
  });
  const model = createModel(config, { seed: options.seed ?? 3 });
  const rng = createRng(100 + (options.seed ?? 3));
  for (const { name, variable } of model.namedParams()) {
    const offset = /layer_norm\.weight$/.test(name) ? 1 : 0;
    const values = Float32Array.from({ length: variable.size }, () => offset + 0.5 * rng.normal());
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
  }
  const files = exportFolderFiles(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }), { withAttention: options.withAttention ?? true });
  model.dispose();
  return files;
}

/** PickedFiles as a picker would give them, with `prefix` before each path. */
export function picked(files: Record<string, Uint8Array>, prefix = ''): PickedFile[] {
  return Object.entries(files).map(([path, bytes]) => ({ path: `${prefix}${path}`, size: bytes.length, bytes: async () => bytes }));
}
