// Marian (MarianMTModel, e.g. Helsinki-NLP/opus-mt-en-fr) → encoder-decoder: one token table
// shared by both stacks and the head (`model.shared`, with `encoder.embed_tokens`,
// `decoder.embed_tokens` and `lm_head` as tied copies), embeddings × √d (`scale_embedding`),
// Marian's sinusoidal table (sines in the first half, cosines in the second: positional
// 'sinusoidal_split'), post-norm layers with no embedding or final LayerNorm, the `swish`
// activation, and `final_logits_bias` added to the logits. The decoder starts from
// `decoder_start_token_id` (the pad token), which becomes attend's bos. The module names of a
// layer are attend's own, so the tensors keep their names.

import { ConfigError } from '../errors.js';
import { createModelConfig } from '../config.js';
import { sinusoidalTable } from '../positional-encoding.js';
import { f32Tensor, type NamedTensor } from '../safetensors.js';
import { HF_ACTIVATIONS } from './gpt2.js';
import { linearShape, specialTokenId, tensorCopier, type HfConfig, type HfImporter, type HfLayerLinears, type HfModel, type HfWeights, type ImportedModel } from './model.js';

/** Largest difference from the computed table at which a stored position table is taken as Marian's sinusoids (float32 rounding of values in [-1, 1]). */
const TABLE_TOLERANCE = 1e-5;

const ATTENTION = ['q_proj', 'k_proj', 'v_proj', 'out_proj'];
const SELF_LINEARS = [...ATTENTION.map((m) => `self_attn.${m}`), 'fc1', 'fc2'];
const CROSS_LINEARS = ATTENTION.map((m) => `encoder_attn.${m}`);

/** A decoder layer's Linear modules: Marian's names are attend's (an encoder layer has the same ones but encoder_attn). */
const MARIAN_LINEARS: HfLayerLinears = {
  attendLayers: 'decoder.layers',
  hfLayers: 'decoder.layers',
  modules: Object.fromEntries([...SELF_LINEARS, ...CROSS_LINEARS].map((m) => [m, { module: m }])),
  conv1d: false,
  norms: Object.fromEntries(['self_attn_layer_norm', 'encoder_attn_layer_norm', 'final_layer_norm'].map((n) => [n, n])),
};

/** The tensors outside the layers (attend → Hugging Face); `final_logits_bias` and `lm_head` sit outside `model.`. */
export const MARIAN_TENSORS = { 'embed_tokens.weight': 'shared.weight', final_logits_bias: 'final_logits_bias', 'lm_head.weight': 'lm_head.weight' } as const;

export const marianImporter: HfImporter = {
  architectures: ['MarianMTModel'],
  basePrefix: 'model.',
  linears: MARIAN_LINEARS,
  tensors: MARIAN_TENSORS,
  heads: [MARIAN_TENSORS.final_logits_bias, MARIAN_TENSORS['lm_head.weight']],
  import(model: HfModel, c: HfConfig, w: HfWeights): ImportedModel {
    const notes: string[] = [];
    const source = `${model.source}/config.json`;
    const d = c.int('d_model');
    const vocabSize = c.int('vocab_size');
    const maxSeqLen = c.int('max_position_embeddings');
    const numHeads = c.int('encoder_attention_heads');
    const dFf = c.int('encoder_ffn_dim');
    /** A decoder field that attend's one stack config shares with the encoder: refused when it differs. */
    const same = (field: string, encoder: number, encoderField: string): void => {
      const value = c.optionalInt(field, encoder);
      if (value !== encoder) throw new ConfigError(`${source}: ${field}`, `${value} differs from ${encoderField} ${encoder}; attend imports Marian models whose encoder and decoder share it`);
    };
    same('decoder_attention_heads', numHeads, 'encoder_attention_heads');
    same('decoder_ffn_dim', dFf, 'encoder_ffn_dim');
    same('decoder_vocab_size', vocabSize, 'vocab_size');
    c.only('share_encoder_decoder_embeddings', true, 'one token table shared by encoder and decoder');
    c.only('normalize_before', false, 'post-norm layers (normalize_before false)');
    c.only('normalize_embedding', false, 'no LayerNorm over the embeddings (normalize_embedding false)');
    c.only('add_final_layer_norm', false, 'no final LayerNorm (add_final_layer_norm false)');
    c.only('add_bias_logits', false, 'final_logits_bias as the logits bias (add_bias_logits false)');
    c.only('static_position_embeddings', true, 'sinusoidal positions (static_position_embeddings true)');
    const activation = c.oneOf('activation_function', 'gelu', HF_ACTIVATIONS);
    const tie = c.bool('tie_word_embeddings', true);
    const pad = specialTokenId(model, 'pad_token_id', 'pad_token');
    if (pad === undefined) throw new ConfigError(`${source}: pad_token_id`, 'missing, and tokenizer_config.json names no pad_token');
    const eos = specialTokenId(model, 'eos_token_id', 'eos_token');
    if (eos === undefined) throw new ConfigError(`${source}: eos_token_id`, 'missing, and tokenizer_config.json names no eos_token');
    const start = specialTokenId(model, 'decoder_start_token_id', 'pad_token') ?? pad;

    const out: Record<string, NamedTensor> = {};
    const { linear, norm } = tensorCopier(w, out, d, notes);
    const tokenTable = ['shared.weight', 'encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'].find((n) => w.has(n));
    if (!tokenTable) throw new ConfigError(`${model.source}: weights`, "no token table (looked for 'model.shared.weight', 'model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight')");
    out['embed_tokens.weight'] = w.copy(tokenTable, [vocabSize, d]);
    // The tied copies some files repeat.
    w.skip((n) => n.endsWith('embed_tokens.weight') || (tie && n === 'lm_head.weight'));
    if (!tie) out['lm_head.weight'] = w.copy('lm_head.weight', [vocabSize, d]);
    out.final_logits_bias = f32Tensor([vocabSize], w.has('final_logits_bias') ? w.take('final_logits_bias', [1, vocabSize]) : new Float32Array(vocabSize));

    // Older files store the position tables; Marian computes them. Stored tables that are not the computed ones are imported as learned positions.
    const stored = ['encoder', 'decoder'].filter((s) => w.has(`${s}.embed_positions.weight`)).map((s) => `${s}.embed_positions.weight`);
    if (stored.length === 1) throw new ConfigError(`${model.source}: weights`, `'${stored[0]}' is stored without its ${stored[0]!.startsWith('encoder') ? 'decoder' : 'encoder'} twin; attend imports both tables or neither`);
    const table = sinusoidalTable(maxSeqLen, d, true);
    const tables = stored.map((name) => ({ name, values: w.take(name, [maxSeqLen, d]) }));
    const learned = tables.some(({ values }) => values.some((v, i) => Math.abs(v - table[i]!) > TABLE_TOLERANCE));
    if (learned) {
      for (const { name, values } of tables) out[name] = f32Tensor([maxSeqLen, d], values);
      notes.push("the stored position tables are not Marian's sinusoids: imported as learned positions");
    }

    const layers = { encoder: c.int('encoder_layers'), decoder: c.int('decoder_layers') };
    for (const [stack, count] of Object.entries(layers)) {
      for (let i = 0; i < count; i++) {
        const p = `${stack}.layers.${i}`;
        const modules = stack === 'decoder' ? [...SELF_LINEARS, ...CROSS_LINEARS] : SELF_LINEARS;
        for (const m of modules) linear(`${p}.${m}`, `${p}.${m}`, ...linearShape(m, d, dFf));
        norm(`${p}.self_attn_layer_norm`, `${p}.self_attn_layer_norm`);
        if (stack === 'decoder') norm(`${p}.encoder_attn_layer_norm`, `${p}.encoder_attn_layer_norm`);
        norm(`${p}.final_layer_norm`, `${p}.final_layer_norm`);
      }
    }
    const config = createModelConfig({
      preset: 'encoder-decoder',
      vocabSize, dModel: d, numHeads, dFf, maxSeqLen, numEncoderLayers: layers.encoder, numDecoderLayers: layers.decoder,
      dropout: c.number('dropout', 0.1),
      norm: 'post', activation, positional: learned ? 'learned' : 'sinusoidal_split', attention: 'scaled_dot', localWindow: null,
      layerNormEps: 1e-5,
      scaleEmbedding: c.bool('scale_embedding', false), embeddingNorm: false, tieEmbeddings: tie, logitsBias: true,
      padTokenId: pad, bosTokenId: start, eosTokenId: eos,
    });
    if (model.tokenizer === undefined) {
      notes.push('Marian folders ship SentencePiece files (source.spm, target.spm, vocab.json), which attend does not read: put the tokenizer.json of a converted copy of the same model (e.g. Xenova/opus-mt-en-fr for Helsinki-NLP/opus-mt-en-fr) in the folder and import again');
    }
    return { config, weights: out, notes };
  },
};
