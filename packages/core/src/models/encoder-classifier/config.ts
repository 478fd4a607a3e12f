// The encoder classifier: a Transformer encoder over tokens, pooled (mean over valid tokens or
// the first token) into a linear classifier head — BERT's sequence classification shape.

import type { ModelKind } from '../kind.js';
import { bertConfig } from './hf.js';
import {
  BASE_FIELDS, EMBEDDING_FIELDS, EMBEDDING_LATER_FIELDS, embeddingFields, POOLINGS, STACK_FIELDS, TOKEN_FIELDS, baseFields, bool, classes, int, layers, oneOf, stackFields, tokenFields,
  type BaseFields, type EmbeddingFields, type Pooling, type StackFields, type TokenFields,
} from '../fields.js';
import { logitActivations, stackActivations, stackFlops, stackSizedWeights } from '../stack.js';

export interface EncoderClassifierConfig extends BaseFields, TokenFields, StackFields, EmbeddingFields {
  preset: 'encoder-classifier';
  numEncoderLayers: number;
  /** Number of labels of the classifier head (>= 2). */
  numClasses: number;
  /** How the encoder output is pooled: mean over valid tokens, or the first token. */
  pooling: Pooling;
  /** BERT's pooler: the pooled state goes through a d×d dense layer and tanh before the classifier. */
  pooler: boolean;
  /**
   * Token types (BERT's segments A and B of a sentence pair): rows of the token-type table added
   * to the embeddings, `embed_token_types.weight` [typeVocabSize, dModel]; 0: no table, one segment.
   */
  typeVocabSize: number;
}

/** Defaults of the Transformer text kinds: a small model that trains in minutes on a CPU. */
export const TRANSFORMER_DEFAULTS = {
  dModel: 128,
  maxSeqLen: 128,
  dropout: 0.1,
  numHeads: 4,
  dFf: 512,
  norm: 'pre',
  activation: 'gelu',
  positional: 'sinusoidal',
  attention: 'scaled_dot',
  localWindow: null,
  layerNormEps: 1e-5,
  scaleEmbedding: true,
  embeddingNorm: false,
  padTokenId: 0,
  bosTokenId: 1,
  eosTokenId: 2,
} as const;

/** The token-type table's checkpoint name (typeVocabSize > 0). */
export const TOKEN_TYPES_WEIGHT = 'embed_token_types.weight';

export const encoderClassifier: ModelKind<EncoderClassifierConfig> = {
  preset: 'encoder-classifier',
  task: 'text-classification',
  description: 'Transformer encoder + classifier head over text',
  fields: ['preset', ...TOKEN_FIELDS, 'numClasses', ...BASE_FIELDS, ...STACK_FIELDS, 'numEncoderLayers', ...EMBEDDING_FIELDS, 'pooling', 'pooler', 'typeVocabSize'],
  laterFields: { ...EMBEDDING_LATER_FIELDS, pooler: false, typeVocabSize: 0 },
  defaults: () => ({ preset: 'encoder-classifier', ...TRANSFORMER_DEFAULTS, numEncoderLayers: 2, pooling: 'mean', pooler: false, typeVocabSize: 0 }),
  hfConfig: bertConfig,
  validate(v) {
    const base = baseFields(v);
    return {
      preset: 'encoder-classifier',
      ...tokenFields(v),
      numClasses: classes(v),
      ...base,
      ...stackFields(v, base),
      numEncoderLayers: layers(v, 'numEncoderLayers'),
      ...embeddingFields(v),
      pooling: oneOf(v, 'pooling', POOLINGS),
      pooler: bool(v, 'pooler'),
      typeVocabSize: int(v, 'typeVocabSize', 0),
    };
  },
  flops: (config, { context }) => [
    ...stackFlops(config, 'encoder', config.numEncoderLayers, context),
    ...(config.pooler ? [{ module: 'pooler', flops: 2 * config.dModel * config.dModel }] : []),
    { module: 'classifier', flops: 2 * config.dModel * config.numClasses },
  ],
  sizedWeights: (config) => ({
    'embed_tokens.weight': [config.vocabSize, config.dModel],
    ...(config.typeVocabSize > 0 ? { [TOKEN_TYPES_WEIGHT]: [config.typeVocabSize, config.dModel] } : {}),
    ...stackSizedWeights(config, 'encoder', config.numEncoderLayers),
    'classifier.weight': [config.numClasses, config.dModel],
  }),
  activations: (config, { context }) =>
    context * config.dModel + stackActivations(config, config.numEncoderLayers, context, context) + logitActivations(1, config.numClasses),
};
