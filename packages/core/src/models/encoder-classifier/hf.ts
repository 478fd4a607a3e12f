// The Hugging Face config.json of this kind's export folder: the field names transformers.js
// reads for the architecture whose interface the graphs follow, plus the full attend config
// under `attend` (read back by the export-folder loader).

import { labelFields } from '../hf-labels.js';
import type { EncoderClassifierConfig } from './config.js';

/** bert-style config.json fields for an attend encoder-classifier, plus the full config under `attend`. */
export function bertConfig(config: EncoderClassifierConfig): Record<string, unknown> {
  return {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: config.vocabSize,
    hidden_size: config.dModel,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numEncoderLayers,
    intermediate_size: config.dFf,
    max_position_embeddings: config.maxSeqLen,
    hidden_act: config.activation,
    layer_norm_eps: config.layerNormEps,
    ...(config.typeVocabSize > 0 ? { type_vocab_size: config.typeVocabSize } : {}),
    pad_token_id: config.padTokenId,
    ...labelFields(config),
    attend: config,
  };
}
