// The Marian exporter: an imported MarianMTModel exported back has the same tensors (the one
// `model.shared` table, `final_logits_bias` [1, V], an untied `lm_head` when there is one, stored
// tables when the positions are learned) but the tied copies save_pretrained leaves out, and
// imports to the same checkpoint bit for bit; configs MarianMTModel cannot compute are refused
// in one line naming the field. (Logits in PyTorch: e2e/src/hf-marian.test.ts.)

import { describe, expect, it } from 'vitest';
import { createModelConfig } from '../config.js';
import { importHfModel } from '../hf-import/index.js';
import type { ModelConfig } from '../models/registry.js';
import { toFloat32, type NamedTensor } from '../safetensors.js';
import { marian, P, d } from '../test-utils/hf-marian.js';
import { exportHfModel } from './index.js';

const bytesOf = (tensors: Record<string, NamedTensor>) => Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, [t.dtype, t.shape, [...toFloat32(t)]]]));
const TIED_COPIES = ['model.encoder.embed_tokens.weight', 'lm_head.weight'];

describe('encoder-decoder → MarianMTModel', () => {
  it.each([
    ['tied, computed positions', marian()],
    ['untied lm_head', marian({ config: { tie_word_embeddings: false } })],
    ['learned positions (stored tables that are not the sinusoids)', marian({ extra: Object.fromEntries(['encoder', 'decoder'].map((s, i) => [`model.${s}.embed_positions.weight`, { dtype: 'F32', shape: [P, d], data: new Uint8Array(new Float32Array(P * d).fill(0.5 + i).buffer) }])) })],
  ] as const)('%s: HF → attend → HF keeps the tensors, and attend → HF → attend is bit-exact', (_name, model) => {
    const { data } = importHfModel(model);
    const back = exportHfModel(data);
    const original = Object.fromEntries(Object.entries(model.weights).filter(([n]) => !TIED_COPIES.includes(n) || (n === 'lm_head.weight' && model.config.tie_word_embeddings === false)));
    expect(bytesOf(back.weights)).toEqual(bytesOf(original));
    expect(back.config).toMatchObject({ model_type: 'marian', architectures: ['MarianMTModel'], d_model: d, activation_function: 'swish', decoder_start_token_id: model.config.decoder_start_token_id, normalize_before: false });
    const again = importHfModel(back).data;
    expect(again.config).toEqual(data.config);
    expect(bytesOf(again.weights)).toEqual(bytesOf(data.weights));
  });

  it.each([
    [{ norm: 'pre' }, 'norm: "pre" has no equivalent in Hugging Face MarianMTModel (it has "post")'],
    [{ logitsBias: false }, 'logitsBias: false has no equivalent in Hugging Face MarianMTModel (it has true)'],
    [{ positional: 'rope' }, 'positional: "rope" has no equivalent in Hugging Face MarianMTModel (it has "sinusoidal_split" or stored tables, "learned")'],
  ])('refuses %j in one line', (change, message) => {
    const { data } = importHfModel(marian());
    const config = createModelConfig({ ...data.config, ...change } as ModelConfig);
    expect(() => exportHfModel({ config, weights: data.weights })).toThrow(message);
  });
});
