// The Transformer encoder–decoder (Vaswani et al., 2017): encoder self-attention, decoder
// causal self-attention and cross-attention over the encoder states, a vocabulary head.

import type { ModelKind } from '../kind.js';
import { marianConfig } from './hf.js';
import {
  BASE_FIELDS, EMBEDDING_FIELDS, EMBEDDING_LATER_FIELDS, embeddingFields, STACK_FIELDS, TOKEN_FIELDS, baseFields, bool, layers, stackFields, tokenFields,
  type BaseFields, type EmbeddingFields, type StackFields, type TiedFields, type TokenFields,
} from '../fields.js';
import { logitActivations, stackActivations, stackFlops, stackSizedWeights } from '../stack.js';
import { TRANSFORMER_DEFAULTS } from '../encoder-classifier/config.js';

export interface EncoderDecoderConfig extends BaseFields, TokenFields, StackFields, EmbeddingFields, TiedFields {
  preset: 'encoder-decoder';
  numEncoderLayers: number;
  numDecoderLayers: number;
  /** A bias added to the vocabulary logits (`final_logits_bias`, Marian/BART), tensor `final_logits_bias` [vocabSize]. */
  logitsBias: boolean;
}

export const encoderDecoder: ModelKind<EncoderDecoderConfig> = {
  preset: 'encoder-decoder',
  task: 'translation',
  description: 'Transformer encoder–decoder (Vaswani et al.)',
  fields: ['preset', ...TOKEN_FIELDS, ...BASE_FIELDS, ...STACK_FIELDS, 'numEncoderLayers', 'numDecoderLayers', ...EMBEDDING_FIELDS, 'tieEmbeddings', 'logitsBias'],
  laterFields: { ...EMBEDDING_LATER_FIELDS, logitsBias: false },
  defaults: () => ({ preset: 'encoder-decoder', ...TRANSFORMER_DEFAULTS, numEncoderLayers: 2, numDecoderLayers: 2, tieEmbeddings: true, logitsBias: false }),
  hfConfig: marianConfig,
  validate(v) {
    const base = baseFields(v);
    return {
      preset: 'encoder-decoder',
      ...tokenFields(v),
      ...base,
      ...stackFields(v, base),
      numEncoderLayers: layers(v, 'numEncoderLayers'),
      numDecoderLayers: layers(v, 'numDecoderLayers'),
      ...embeddingFields(v),
      tieEmbeddings: bool(v, 'tieEmbeddings'),
      logitsBias: bool(v, 'logitsBias'),
    };
  },
  flops: (config, { context, source }) => [
    ...stackFlops(config, 'encoder', config.numEncoderLayers, context),
    ...stackFlops(config, 'decoder', config.numDecoderLayers, context, source),
    { module: 'lm_head', flops: 2 * config.dModel * config.vocabSize },
  ],
  sizedWeights: (config) => ({
    'embed_tokens.weight': [config.vocabSize, config.dModel],
    ...stackSizedWeights(config, 'encoder', config.numEncoderLayers),
    ...stackSizedWeights(config, 'decoder', config.numDecoderLayers),
    ...(config.logitsBias ? { final_logits_bias: [config.vocabSize] } : {}),
  }),
  activations: (config, { context, source }) =>
    (source + context) * config.dModel +
    stackActivations(config, config.numEncoderLayers, source, source) +
    stackActivations(config, config.numDecoderLayers, context, context, source) +
    logitActivations(context, config.vocabSize),
};
