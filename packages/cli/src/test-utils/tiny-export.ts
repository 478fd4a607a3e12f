// Test helper: a tiny untrained model of any preset, its weights moved away from the near-uniform
// initialisation (so that greedy outputs vary with the input), written as a checkpoint with a
// character tokenizer and exported to an ONNX folder.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CharTokenizer, createModelConfig, createRng, f32Tensor, parseSafetensors, serializeSafetensors, toFloat32, type ModelConfigInput, type NamedTensor, type Preset } from '@attend/core';
import { exportFolder } from '@attend/runtime-onnx/node';
import { createModel, serializeCheckpoint, setupBackend } from '@attend/transformer';

export const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ';
export const MAX_SEQ_LEN = 24;

/**
 * Writes a checkpoint of `preset` (config `fields` over the tiny ones) under `dir/<name>-ckpt`
 * and its export under `dir/<name>` (`name` default the preset, `size` default dModel 16,
 * dFf 32); returns the export.
 */
export async function tinyExport(
  dir: string,
  preset: Preset,
  seed = 1,
  { name = preset, size = {}, fields = {} }: { name?: string; size?: { dModel?: number; dFf?: number }; fields?: Record<string, number> } = {},
): Promise<string> {
  await setupBackend();
  const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
  const common = { vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2, dFf: 32, ...size, maxSeqLen: MAX_SEQ_LEN, dropout: 0 };
  const layers: Partial<Record<Preset, Record<string, number>>> = {
    'encoder-classifier': { numClasses: 3, numEncoderLayers: 1 },
    'decoder-lm': { numDecoderLayers: 1 },
    'encoder-decoder': { numEncoderLayers: 1, numDecoderLayers: 1 },
  };
  if (!layers[preset]) throw new Error(`tinyExport: no tiny ${preset}`);
  const config = createModelConfig({ preset, ...common, ...layers[preset], ...fields } as ModelConfigInput);
  const model = createModel(config, { seed });
  const files = serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() });
  model.dispose();
  const rng = createRng(100 + seed);
  const weights = parseSafetensors(files['model.safetensors']!);
  const moved: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(weights.tensors)) {
    const values = toFloat32(t, name).map((v) => v + 0.5 * rng.normal());
    moved[name] = f32Tensor(t.shape, values);
  }
  files['model.safetensors'] = serializeSafetensors(moved, weights.metadata);
  const ckpt = join(dir, `${name}-ckpt`);
  await mkdir(ckpt, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(ckpt, name), bytes);
  const out = join(dir, name);
  await exportFolder(ckpt, out);
  return out;
}
