// LoRA adapters in PEFT's layout: key names under the Hugging Face modules, A [r, in] and
// B [out, r], adapter_config.json's fields; GPT-2's q/k/v adapters fused into one c_attn
// adapter whose update (α'/r')·B'·A' is each part's (α/r)·B·A in its output slice.

import { describe, expect, it } from 'vitest';
import { createModelConfig } from '../config.js';
import { createRng } from '../random.js';
import { f32Tensor, parseSafetensors, toFloat32, type NamedTensor } from '../safetensors.js';
import type { LoraConfig } from '../lora.js';
import type { ModelConfig } from '../models/registry.js';
import { PEFT_FILES, peftAdapterFiles } from './peft.js';

const d = 8;
const dFf = 12;
const r = 2;

/** Random weights for every Linear of 2 layers under `layers`, and random adapters on the targeted ones. */
function loraWeights(layers: string, modules: Record<string, [number, number]>, adapted: string[], seed: number): Record<string, NamedTensor> {
  const rng = createRng(seed);
  const random = (shape: number[]): NamedTensor => f32Tensor(shape, Float32Array.from({ length: shape[0]! * shape[1]! }, () => rng.normal()));
  const out: Record<string, NamedTensor> = {};
  for (let i = 0; i < 2; i++) {
    for (const [module, [o, n]] of Object.entries(modules)) {
      out[`${layers}.${i}.${module}.weight`] = random([o, n]);
      if (!adapted.includes(module)) continue;
      out[`${layers}.${i}.${module}.lora_A.weight`] = random([r, n]);
      out[`${layers}.${i}.${module}.lora_B.weight`] = random([o, r]);
    }
  }
  return out;
}

const MODULES: Record<string, [number, number]> = {
  'self_attn.q_proj': [d, d], 'self_attn.k_proj': [d, d], 'self_attn.v_proj': [d, d], 'self_attn.out_proj': [d, d], fc1: [dFf, d], fc2: [d, dFf],
};

function read(files: Record<string, Uint8Array>): { config: Record<string, unknown>; tensors: Record<string, NamedTensor> } {
  return {
    config: JSON.parse(new TextDecoder().decode(files[PEFT_FILES.config]!)),
    tensors: parseSafetensors(files[PEFT_FILES.weights]!).tensors,
  };
}

/** scale·B·A as [out, in]. */
function update(a: Float32Array, b: Float32Array, out: number, rank: number, inDim: number, scale: number): Float32Array {
  const w = new Float32Array(out * inDim);
  for (let o = 0; o < out; o++) for (let k = 0; k < rank; k++) for (let i = 0; i < inDim; i++) w[o * inDim + i]! += scale * b[o * rank + k]! * a[k * inDim + i]!;
  return w;
}

describe('peftAdapterFiles', () => {
  it('gpt2: q and v become one c_attn adapter of rank 2r whose update is theirs in the q and v slices', () => {
    const lora: LoraConfig = { rank: r, alpha: 3, targets: ['q', 'v', 'fc1'], base: 'runs/gpt2' };
    const config = { ...createModelConfig({ preset: 'decoder-lm', vocabSize: 20, dModel: d, numHeads: 2, numDecoderLayers: 2, dFf, maxSeqLen: 6 }), lora } as ModelConfig;
    const weights = loraWeights('decoder.layers', MODULES, ['self_attn.q_proj', 'self_attn.v_proj', 'fc1'], 1);
    const { config: adapter, tensors } = read(peftAdapterFiles(config, weights));
    expect(adapter).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'runs/gpt2', r, lora_alpha: 3, fan_in_fan_out: true,
      target_modules: ['transformer.h.0.attn.c_attn', 'transformer.h.0.mlp.c_fc', 'transformer.h.1.attn.c_attn', 'transformer.h.1.mlp.c_fc'],
      rank_pattern: { 'transformer.h.0.attn.c_attn': 2 * r, 'transformer.h.1.attn.c_attn': 2 * r },
      alpha_pattern: { 'transformer.h.0.attn.c_attn': 6, 'transformer.h.1.attn.c_attn': 6 },
    });
    expect(Object.keys(tensors).sort()).toEqual([
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight', 'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight',
      'base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight', 'base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight',
      'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight', 'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight',
      'base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight', 'base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight',
    ]);
    const key = (m: string, ab: string): Float32Array => toFloat32(tensors[`base_model.model.transformer.h.1.${m}.lora_${ab}.weight`]!);
    expect(tensors['base_model.model.transformer.h.1.attn.c_attn.lora_A.weight']!.shape).toEqual([2 * r, d]);
    expect(tensors['base_model.model.transformer.h.1.attn.c_attn.lora_B.weight']!.shape).toEqual([3 * d, 2 * r]);
    const fused = update(key('attn.c_attn', 'A'), key('attn.c_attn', 'B'), 3 * d, 2 * r, d, 6 / (2 * r));
    const part = (module: string): Float32Array => {
      const w = (ab: string): Float32Array => toFloat32(weights[`decoder.layers.1.self_attn.${module}.lora_${ab}.weight`]!);
      return update(w('A'), w('B'), d, r, d, 3 / r);
    };
    const expected = new Float32Array(3 * d * d);
    expected.set(part('q_proj'), 0);
    expected.set(part('v_proj'), 2 * d * d);
    for (let i = 0; i < expected.length; i++) expect(fused[i]).toBeCloseTo(expected[i]!, 5);
    // c_fc keeps its own A and B.
    expect(key('mlp.c_fc', 'B')).toEqual(toFloat32(weights['decoder.layers.1.fc1.lora_B.weight']!));
  });

  it('bert: one adapter per module under bert.encoder.layer.i, no patterns', () => {
    const lora: LoraConfig = { rank: r, alpha: 4, targets: ['q', 'o', 'fc2'] };
    const config = { ...createModelConfig({ preset: 'encoder-classifier', vocabSize: 20, numClasses: 2, dModel: d, numHeads: 2, numEncoderLayers: 2, dFf, maxSeqLen: 6 }), lora } as ModelConfig;
    const weights = loraWeights('encoder.layers', MODULES, ['self_attn.q_proj', 'self_attn.out_proj', 'fc2'], 2);
    const { config: adapter, tensors } = read(peftAdapterFiles(config, weights));
    expect(adapter).toMatchObject({ task_type: 'SEQ_CLS', base_model_name_or_path: null, r, lora_alpha: 4, fan_in_fan_out: false, rank_pattern: {}, alpha_pattern: {} });
    expect(adapter.target_modules).toEqual([
      'bert.encoder.layer.0.attention.output.dense', 'bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.0.output.dense',
      'bert.encoder.layer.1.attention.output.dense', 'bert.encoder.layer.1.attention.self.query', 'bert.encoder.layer.1.output.dense',
    ]);
    expect(tensors['base_model.model.bert.encoder.layer.1.output.dense.lora_A.weight']!.shape).toEqual([r, dFf]);
    expect(toFloat32(tensors['base_model.model.bert.encoder.layer.1.output.dense.lora_B.weight']!)).toEqual(toFloat32(weights['encoder.layers.1.fc2.lora_B.weight']!));
  });

  it('refuses in one line a kind with no PEFT layout, and a checkpoint without adapters', () => {
    const plain = createModelConfig({ preset: 'encoder-decoder', vocabSize: 20, dModel: d, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf, maxSeqLen: 6 });
    expect(() => peftAdapterFiles(plain, {})).toThrow(/^lora: the checkpoint has no LoRA adapters/);
    expect(() => peftAdapterFiles({ ...plain, lora: { rank: r, alpha: r, targets: ['q'] } } as ModelConfig, {})).toThrow(
      /^preset: encoder-decoder \(Hugging Face marian\) has no PEFT layout in attend; adapters are written for gpt2, bert \(decoder-lm, encoder-classifier\)$/,
    );
  });
});
