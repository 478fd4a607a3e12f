// The `lora` field of config.json: read back as written, checked field by field with one-line
// errors (an unknown target names the valid ones), refused for a kind LoRA cannot adapt; and
// mergeLora's W + (α/r)·B·A on a hand-sized example.

import { describe, expect, it } from 'vitest';
import { createModelConfig, parseModelConfig } from './config.js';
import { mergeLora, validateLora } from './lora.js';
import { f32Tensor, toFloat32 } from './safetensors.js';

const base = createModelConfig({ preset: 'decoder-lm', vocabSize: 10, dModel: 4, numHeads: 2, numDecoderLayers: 1, dFf: 8, maxSeqLen: 6 });

describe('lora config', () => {
  it('round-trips through config.json with the kind\'s fields', () => {
    const lora = { rank: 2, alpha: 4, targets: ['q', 'fc2'], trainable: ['classifier'], base: 'runs/gpt2' };
    expect(parseModelConfig(JSON.stringify({ ...base, lora }))).toEqual({ ...base, lora });
    expect(parseModelConfig(JSON.stringify(base))).not.toHaveProperty('lora');
  });

  it('refuses bad fields in one line naming lora.<field>', () => {
    const bad = (lora: unknown, message: RegExp) => expect(() => parseModelConfig(JSON.stringify({ ...base, lora }))).toThrow(message);
    bad({ rank: 0, alpha: 1, targets: ['q'] }, /^config\.json: lora\.rank: 0 is not allowed; expected an integer >= 1$/);
    bad({ rank: 2, alpha: -1, targets: ['q'] }, /^config\.json: lora\.alpha: -1 is not allowed/);
    bad({ rank: 2, alpha: 1, targets: ['query'] }, /^config\.json: lora\.targets: 'query' is not a LoRA target of decoder-lm; valid: q, k, v, o, fc1, fc2$/);
    bad({ rank: 2, alpha: 1, targets: [] }, /^config\.json: lora\.targets: expected a non-empty list/);
    bad({ rank: 2, alpha: 1, targets: ['q'], dropout: 0.1 }, /^config\.json: lora\.dropout: unknown field/);
    expect(() => validateLora({ rank: 2, alpha: 1, targets: ['q'] }, 'rnn-seq2seq')).toThrow(/^lora: preset 'rnn-seq2seq' has no layers LoRA can adapt$/);
  });

  it('mergeLora adds (α/r)·B·A to each targeted weight and drops the adapters', () => {
    const w = f32Tensor([2, 3], [1, 2, 3, 4, 5, 6]);
    const a = f32Tensor([1, 3], [1, 0, -1]);
    const b = f32Tensor([2, 1], [2, 3]);
    const config = { ...base, lora: { rank: 1, alpha: 0.5, targets: ['q'] } };
    const { config: merged, weights } = mergeLora(config, {
      'decoder.layers.0.self_attn.q_proj.weight': w,
      'decoder.layers.0.self_attn.q_proj.lora_A.weight': a,
      'decoder.layers.0.self_attn.q_proj.lora_B.weight': b,
      'decoder.layers.0.self_attn.k_proj.weight': w,
    });
    expect(merged).toEqual(base);
    expect(Object.keys(weights).sort()).toEqual(['decoder.layers.0.self_attn.k_proj.weight', 'decoder.layers.0.self_attn.q_proj.weight']);
    // 0.5 · [2; 3]·[1 0 −1] = [[1 0 −1]; [1.5 0 −1.5]]
    expect(Array.from(toFloat32(weights['decoder.layers.0.self_attn.q_proj.weight']!))).toEqual([2, 2, 2, 5.5, 5, 4.5]);
    expect(weights['decoder.layers.0.self_attn.k_proj.weight']).toBe(w);
    expect(() => mergeLora(config, { 'decoder.layers.0.self_attn.q_proj.weight': w })).toThrow(/^lora: the weights have no decoder\.layers\.0\.self_attn\.q_proj\.lora_A\.weight/);
  });
});
