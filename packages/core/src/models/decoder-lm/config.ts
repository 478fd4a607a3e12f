// The decoder-only language model (GPT): causal self-attention layers and a vocabulary head.

import type { ModelKind } from '../kind.js';
import { gpt2Config } from './hf.js';
import {
  BASE_FIELDS, EMBEDDING_FIELDS, EMBEDDING_LATER_FIELDS, embeddingFields, STACK_FIELDS, TOKEN_FIELDS, baseFields, bool, layers, stackFields, tokenFields,
  type BaseFields, type EmbeddingFields, type StackFields, type TiedFields, type TokenFields,
} from '../fields.js';
import { logitActivations, stackActivations, stackFlops, stackSizedWeights } from '../stack.js';
import { TRANSFORMER_DEFAULTS } from '../encoder-classifier/config.js';

export interface DecoderLmConfig extends BaseFields, TokenFields, StackFields, EmbeddingFields, TiedFields {
  preset: 'decoder-lm';
  numDecoderLayers: number;
}

export const decoderLm: ModelKind<DecoderLmConfig> = {
  preset: 'decoder-lm',
  task: 'text-generation',
  description: 'decoder-only Transformer language model (GPT)',
  fields: ['preset', ...TOKEN_FIELDS, ...BASE_FIELDS, ...STACK_FIELDS, 'numDecoderLayers', ...EMBEDDING_FIELDS, 'tieEmbeddings'],
  laterFields: EMBEDDING_LATER_FIELDS,
  defaults: () => ({ preset: 'decoder-lm', ...TRANSFORMER_DEFAULTS, numDecoderLayers: 2, tieEmbeddings: true }),
  hfConfig: gpt2Config,
  validate(v) {
    const base = baseFields(v);
    return {
      preset: 'decoder-lm',
      ...tokenFields(v),
      ...base,
      ...stackFields(v, base),
      numDecoderLayers: layers(v, 'numDecoderLayers'),
      ...embeddingFields(v),
      tieEmbeddings: bool(v, 'tieEmbeddings'),
    };
  },
  flops: (config, { context }) => [
    ...stackFlops(config, 'decoder', config.numDecoderLayers, context),
    { module: 'lm_head', flops: 2 * config.dModel * config.vocabSize },
  ],
  sizedWeights: (config) => ({
    'embed_tokens.weight': [config.vocabSize, config.dModel],
    ...stackSizedWeights(config, 'decoder', config.numDecoderLayers),
  }),
  activations: (config, { context }) =>
    context * config.dModel + stackActivations(config, config.numDecoderLayers, context, context) + logitActivations(context, config.vocabSize),
};
