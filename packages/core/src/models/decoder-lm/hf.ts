// The Hugging Face config.json of this kind's export folder: the field names transformers.js
// reads for the architecture whose interface the graphs follow, plus the full attend config
// under `attend` (read back by the export-folder loader).

import type { DecoderLmConfig } from './config.js';

/** gpt2-style config.json fields for an attend decoder-lm, plus the full config under `attend`. */
export function gpt2Config(config: DecoderLmConfig): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: config.vocabSize,
    n_embd: config.dModel,
    n_head: config.numHeads,
    n_layer: config.numDecoderLayers,
    n_positions: config.maxSeqLen,
    n_ctx: config.maxSeqLen,
    n_inner: config.dFf,
    activation_function: config.activation,
    layer_norm_epsilon: config.layerNormEps,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    tie_word_embeddings: config.tieEmbeddings,
    use_cache: true,
    attend: config,
  };
}
