// The Marian importer on small MarianMTModel layouts built here: the shared token table and its
// tied copies, final_logits_bias, pad as the decoder start, Marian's sinusoid tables when a file
// stores them (computed ones left out, others imported as learned positions), and one-line
// errors for the options attend does not import. (Logits against PyTorch: e2e/src/hf-marian.test.ts.)

import { describe, expect, it } from 'vitest';
import { sinusoidalTable } from '../positional-encoding.js';
import { f32Tensor, toFloat32, type NamedTensor } from '../safetensors.js';
import { d, ff, marian, P, PAD, V } from '../test-utils/hf-marian.js';
import { importHfModel } from './index.js';

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
