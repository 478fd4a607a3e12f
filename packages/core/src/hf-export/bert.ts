// encoder-classifier → BertForSequenceClassification: learned positions, an embedding
// LayerNorm, post-norm layers, CLS pooling through the pooler. The token-type table is the
// checkpoint's (typeVocabSize > 0); a model without one gets a table of zeros (2 types, as BERT's
// default), which adds nothing and which the importer leaves out again.

import { BERT_TOKEN_TYPES } from '../hf-import/bert.js';
import { TOKEN_TYPES_WEIGHT, type EncoderClassifierConfig } from '../models/encoder-classifier/config.js';
import { f32Tensor } from '../safetensors.js';
import type { HfExporter } from './exporter.js';

const TOKEN_TYPES = 2;

export const bertExporter: HfExporter = {
  className: 'BertForSequenceClassification',
  kind: 'encoder-classifier',
  fixed: { norm: 'post', positional: 'learned', attention: 'scaled_dot', localWindow: null, scaleEmbedding: false, embeddingNorm: true, pooling: 'cls', pooler: true },
  config: (c) => {
    const config = c as EncoderClassifierConfig;
    return {
      hidden_dropout_prob: config.dropout,
      attention_probs_dropout_prob: config.dropout,
      type_vocab_size: config.typeVocabSize || TOKEN_TYPES,
      position_embedding_type: 'absolute',
      // BERT's config has no [CLS]/[SEP] ids of its own; the importer reads them back from these.
      bos_token_id: config.bosTokenId,
      eos_token_id: config.eosTokenId,
      initializer_range: 0.02,
    };
  },
  optional: [TOKEN_TYPES_WEIGHT],
  extraTensors: (config, name) =>
    (config as EncoderClassifierConfig).typeVocabSize > 0 ? {} : { [name(BERT_TOKEN_TYPES)]: f32Tensor([TOKEN_TYPES, config.dModel], new Float32Array(TOKEN_TYPES * config.dModel)) },
};
