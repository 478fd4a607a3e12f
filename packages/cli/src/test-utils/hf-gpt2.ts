// Test helper: a one-layer GPT-2 folder as Hugging Face writes it (config.json,
// model.safetensors), zero weights — the input of `attend import` and of a fake Hub.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { f32Tensor, serializeSafetensors } from '@attend/core';

/** The folder's files; `vocabSize` sets the size of the weights file (16 bytes a token). */
export function hfGpt2Files(config: Record<string, unknown> = {}, vocabSize = 8): Record<string, Uint8Array> {
  const [d, V, P] = [4, vocabSize, 4];
  const shapes: Record<string, number[]> = {
    'wte.weight': [V, d], 'wpe.weight': [P, d], 'ln_f.weight': [d], 'ln_f.bias': [d], 'h.0.ln_1.weight': [d], 'h.0.ln_1.bias': [d], 'h.0.ln_2.weight': [d], 'h.0.ln_2.bias': [d],
    'h.0.attn.c_attn.weight': [d, 3 * d], 'h.0.attn.c_attn.bias': [3 * d], 'h.0.attn.c_proj.weight': [d, d], 'h.0.attn.c_proj.bias': [d],
    'h.0.mlp.c_fc.weight': [d, 4 * d], 'h.0.mlp.c_fc.bias': [4 * d], 'h.0.mlp.c_proj.weight': [4 * d, d], 'h.0.mlp.c_proj.bias': [d],
  };
  const weights = Object.fromEntries(Object.entries(shapes).map(([n, shape]) => [n, f32Tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)))]));
  return {
    'model.safetensors': serializeSafetensors(weights),
    'config.json': new TextEncoder().encode(JSON.stringify({ model_type: 'gpt2', n_embd: d, n_head: 2, n_layer: 1, n_positions: P, vocab_size: V, eos_token_id: V - 1, ...config })),
  };
}

/** Writes the folder at `folder`; returns it. */
export async function writeHfGpt2(folder: string, config: Record<string, unknown> = {}): Promise<string> {
  await mkdir(folder, { recursive: true });
  for (const [name, bytes] of Object.entries(hfGpt2Files(config))) await writeFile(join(folder, name), bytes);
  return folder;
}
