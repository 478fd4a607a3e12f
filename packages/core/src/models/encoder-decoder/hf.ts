// The Hugging Face config.json of this kind's export folder: the field names transformers.js
// reads for the architecture whose interface the graphs follow, plus the full attend config
// under `attend` (read back by the export-folder loader).

import type { EncoderDecoderConfig } from './config.js';

/** marian-style config.json fields for an attend encoder-decoder, plus the full config under `attend`. */
export function marianConfig(config: EncoderDecoderConfig): Record<string, unknown> {
  return {
    model_type: 'marian',
    architectures: ['MarianMTModel'],
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    decoder_vocab_size: config.vocabSize,
    d_model: config.dModel,
    encoder_layers: config.numEncoderLayers,
    decoder_layers: config.numDecoderLayers,
    num_hidden_layers: config.numEncoderLayers,
    encoder_attention_heads: config.numHeads,
    decoder_attention_heads: config.numHeads,
    encoder_ffn_dim: config.dFf,
    decoder_ffn_dim: config.dFf,
    max_position_embeddings: config.maxSeqLen,
    activation_function: config.activation,
    dropout: 0,
    scale_embedding: config.scaleEmbedding,
    normalize_before: config.norm === 'pre',
    share_encoder_decoder_embeddings: true,
    tie_word_embeddings: config.tieEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    decoder_start_token_id: config.bosTokenId,
    forced_eos_token_id: config.eosTokenId,
    use_cache: true,
    attend: config,
  };
}
