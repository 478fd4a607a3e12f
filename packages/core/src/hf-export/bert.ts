// encoder-classifier → BertForSequenceClassification: learned positions, an embedding
// LayerNorm, post-norm layers, CLS pooling through the pooler. attend reads one segment: the
// token-type table is written as zeros (2 types, as BERT's default), so segment 0 adds nothing
// to the positions that already hold it and importing gives the same positions back.

import { BERT_TOKEN_TYPES } from '../hf-import/bert.js';
import type { EncoderClassifierConfig } from '../models/encoder-classifier/config.js';
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
      type_vocab_size: TOKEN_TYPES,
      position_embedding_type: 'absolute',
      // BERT's config has no [CLS]/[SEP] ids of its own; the importer reads them back from these.
      bos_token_id: config.bosTokenId,
      eos_token_id: config.eosTokenId,
      initializer_range: 0.02,
    };
  },
  extraTensors: (config, name) => ({ [name(BERT_TOKEN_TYPES)]: f32Tensor([TOKEN_TYPES, config.dModel], new Float32Array(TOKEN_TYPES * config.dModel)) }),
};
