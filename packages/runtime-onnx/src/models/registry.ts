// The runtime registry: one RuntimeKind per model kind (models/<kind>/export.ts). exportForward,
// exportFolderFiles and the export-folder loader look a kind up here and never compare names.

import type { ConfigOf, ModelConfig, Preset } from '@attend/core';
import { DECODER_LM } from './decoder-lm/export.js';
import { ENCODER_CLASSIFIER } from './encoder-classifier/export.js';
import { ENCODER_DECODER } from './encoder-decoder/export.js';
import type { RuntimeKind } from './kind.js';
import { RNN_SEQ2SEQ } from './rnn-seq2seq/export.js';
import { VIT_CLASSIFIER } from './vit-classifier/export.js';
import { CANVAS_CLASSIFIER } from './canvas-classifier/export.js';
import { STN_CLASSIFIER } from './stn-classifier/export.js';
import { IMAGE_CAPTIONER } from './image-captioner/export.js';
import { GLIMPSE_CLASSIFIER } from './glimpse-classifier/export.js';
import { VISION_ENCODER_DECODER } from './vision-encoder-decoder/export.js';

export const RUNTIME_KINDS: { readonly [P in Preset]: RuntimeKind<ConfigOf<P>> } = Object.freeze({
  'encoder-classifier': ENCODER_CLASSIFIER,
  'decoder-lm': DECODER_LM,
  'encoder-decoder': ENCODER_DECODER,
  'rnn-seq2seq': RNN_SEQ2SEQ,
  'vit-classifier': VIT_CLASSIFIER,
  'canvas-classifier': CANVAS_CLASSIFIER,
  'stn-classifier': STN_CLASSIFIER,
  'image-captioner': IMAGE_CAPTIONER,
  'glimpse-classifier': GLIMPSE_CLASSIFIER,
  'vision-encoder-decoder': VISION_ENCODER_DECODER,
});

/** The registry entry of `config`'s kind, typed to its config. */
export function runtimeKind<C extends ModelConfig>(config: C): RuntimeKind<C> {
  return RUNTIME_KINDS[config.preset] as unknown as RuntimeKind<C>;
}
