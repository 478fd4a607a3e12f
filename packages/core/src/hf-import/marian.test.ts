// The Marian importer on small MarianMTModel layouts built here: the shared token table and its
// tied copies, final_logits_bias, pad as the decoder start, Marian's sinusoid tables when a file
// stores them (computed ones left out, others imported as learned positions), and one-line
// errors for the options attend does not import. (Logits against PyTorch: e2e/src/hf-marian.test.ts.)

import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { sinusoidalTable } from '../positional-encoding.js';
import { f32Tensor, toFloat32, type NamedTensor } from '../safetensors.js';
import { importHfModel, type HfModel } from './index.js';

const d = 8;
const ff = 12;
const P = 6;
const V = 11;
const PAD = V - 1;

function marian(options: { prefix?: string; config?: Record<string, unknown>; extra?: Record<string, NamedTensor>; drop?: string[] } = {}): HfModel {
  const p = options.prefix ?? 'model.';
  const shapes: Record<string, number[]> = { [`${p}shared.weight`]: [V, d], final_logits_bias: [1, V] };
  for (const stack of ['encoder', 'decoder']) {
    for (let i = 0; i < 2; i++) {
      const h = `${p}${stack}.layers.${i}.`;
      for (const attn of stack === 'decoder' ? ['self_attn', 'encoder_attn'] : ['self_attn']) {
        for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) Object.assign(shapes, { [`${h}${attn}.${m}.weight`]: [d, d], [`${h}${attn}.${m}.bias`]: [d] });
        Object.assign(shapes, { [`${h}${attn}_layer_norm.weight`]: [d], [`${h}${attn}_layer_norm.bias`]: [d] });
      }
      Object.assign(shapes, { [`${h}fc1.weight`]: [ff, d], [`${h}fc1.bias`]: [ff], [`${h}fc2.weight`]: [d, ff], [`${h}fc2.bias`]: [d], [`${h}final_layer_norm.weight`]: [d], [`${h}final_layer_norm.bias`]: [d] });
    }
  }
  const rng = createRng(5);
  const weights: Record<string, NamedTensor> = Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => [name, f32Tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()))]),
  );
  // The tied copies transformers writes beside model.shared.
  weights[`${p}encoder.embed_tokens.weight`] = weights[`${p}shared.weight`]!;
  weights['lm_head.weight'] = weights[`${p}shared.weight`]!;
  for (const name of options.drop ?? []) delete weights[name];
  return {
    config: {
      model_type: 'marian', architectures: ['MarianMTModel'], d_model: d, vocab_size: V, decoder_vocab_size: V, max_position_embeddings: P,
      encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: ff, decoder_ffn_dim: ff,
      activation_function: 'swish', scale_embedding: true, pad_token_id: PAD, eos_token_id: 0, decoder_start_token_id: PAD,
      share_encoder_decoder_embeddings: true, normalize_before: false, static_position_embeddings: true, ...options.config,
    },
    weights: { ...weights, ...options.extra },
    source: 'hf/marian',
  };
}

const values = (t: NamedTensor | undefined): Float32Array => toFloat32(t!);

describe('marian → encoder-decoder', () => {
  it('one shared token table, final_logits_bias, swish, Marian positions, and the pad token as the decoder start', () => {
    const model = marian();
    const { data, notes } = importHfModel(model);
    expect(data.config).toMatchObject({
      preset: 'encoder-decoder', activation: 'swish', positional: 'sinusoidal_split', norm: 'post', scaleEmbedding: true, embeddingNorm: false,
      tieEmbeddings: true, logitsBias: true, layerNormEps: 1e-5, padTokenId: PAD, bosTokenId: PAD, eosTokenId: 0, numEncoderLayers: 2, numDecoderLayers: 2,
    });
    expect(values(data.weights['embed_tokens.weight'])).toEqual(values(model.weights['model.shared.weight']));
    expect(values(data.weights.final_logits_bias)).toEqual(values(model.weights.final_logits_bias));
    expect(data.weights.final_logits_bias!.shape).toEqual([V]);
    expect(values(data.weights['decoder.layers.1.encoder_attn.k_proj.weight'])).toEqual(values(model.weights['model.decoder.layers.1.encoder_attn.k_proj.weight']));
    expect(Object.keys(data.weights).filter((n) => n.includes('embed_positions') || n === 'lm_head.weight')).toEqual([]);
    expect(notes.join('\n')).toContain('source.spm');
  });

  it('keys without model., silu, no final_logits_bias (zeros, as transformers loads it), a separate lm_head', () => {
    const model = marian({ prefix: '', config: { activation_function: 'silu', tie_word_embeddings: false }, drop: ['final_logits_bias'] });
    const { data } = importHfModel(model);
    expect(data.config).toMatchObject({ activation: 'swish', tieEmbeddings: false });
    expect(values(data.weights.final_logits_bias)).toEqual(new Float32Array(V));
    expect(values(data.weights['lm_head.weight'])).toEqual(values(model.weights['lm_head.weight']));
  });

  it('stored position tables: left out when they are the sinusoids, imported as learned positions when not', () => {
    const table = f32Tensor([P, d], sinusoidalTable(P, d, true));
    const stored = { 'model.encoder.embed_positions.weight': table, 'model.decoder.embed_positions.weight': table };
    const computed = importHfModel(marian({ extra: stored }));
    expect(computed.data.config).toMatchObject({ positional: 'sinusoidal_split' });
    expect(computed.data.weights['encoder.embed_positions.weight']).toBeUndefined();

    // The interleaved table (attend's 'sinusoidal') is not Marian's.
    const other = f32Tensor([P, d], sinusoidalTable(P, d));
    const learned = importHfModel(marian({ extra: { ...stored, 'model.decoder.embed_positions.weight': other } }));
    expect(learned.data.config).toMatchObject({ positional: 'learned' });
    expect(values(learned.data.weights['decoder.embed_positions.weight'])).toEqual(values(other));
    expect(values(learned.data.weights['encoder.embed_positions.weight'])).toEqual(values(table));
    expect(learned.notes.join('\n')).toContain('imported as learned positions');
  });

  it('refuses in one line what attend does not import', () => {
    const cases: [Parameters<typeof marian>[0], string][] = [
      [{ config: { decoder_ffn_dim: 16 } }, 'hf/marian/config.json: decoder_ffn_dim: 16 differs from encoder_ffn_dim 12'],
      [{ config: { decoder_vocab_size: 20 } }, 'decoder_vocab_size: 20 differs from vocab_size 11'],
      [{ config: { share_encoder_decoder_embeddings: false } }, 'share_encoder_decoder_embeddings: false is not supported; attend imports one token table shared by encoder and decoder'],
      [{ config: { normalize_before: true } }, 'normalize_before: true is not supported'],
      [{ config: { activation_function: 'tanh' } }, 'activation_function: "tanh" is not supported; attend imports gelu, gelu_new, gelu_pytorch_tanh, relu, swish, silu'],
      [{ config: { pad_token_id: undefined } }, 'pad_token_id: missing'],
      [{ extra: { 'model.encoder.embed_positions.weight': f32Tensor([P, d], sinusoidalTable(P, d, true)) } }, "'encoder.embed_positions.weight' is stored without its decoder twin"],
      [{ drop: ['model.shared.weight', 'model.encoder.embed_tokens.weight'], config: {} }, 'no token table'],
    ];
    for (const [options, message] of cases) {
      expect(() => importHfModel(marian(options))).toThrow(message);
    }
  });
});
