export * from './kind.js';
export * from './registry.js';
export {
  ACTIVATIONS, NORM_PLACEMENTS, POOLINGS, POSITIONAL_ENCODINGS, SCORE_FUNCTIONS,
  type Activation, type NormPlacement, type Pooling, type PositionalEncoding, type ScoreFunction, type StackFields, type TokenFields,
} from './fields.js';
export type { EncoderClassifierConfig } from './encoder-classifier/config.js';
export type { DecoderLmConfig } from './decoder-lm/config.js';
export type { EncoderDecoderConfig } from './encoder-decoder/config.js';
export { RNN_ATTENTIONS, RNN_CELLS, type RnnAttention, type RnnCell, type RnnSeq2SeqConfig } from './rnn-seq2seq/config.js';
export { numPatches, vitStack, type VitClassifierConfig } from './vit-classifier/config.js';
