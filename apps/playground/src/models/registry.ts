// The playground registry: one PlaygroundKind per model kind (models/<kind>.ts).

import type { ConfigOf, ModelConfig, Preset } from '@attend/core';
import { DECODER_LM } from './decoder-lm.js';
import { ENCODER_CLASSIFIER } from './encoder-classifier.js';
import { ENCODER_DECODER } from './encoder-decoder.js';
import type { PlaygroundKind } from './kind.js';
import { RNN_SEQ2SEQ } from './rnn-seq2seq.js';
import { VIT_CLASSIFIER } from './vit-classifier.js';
import { CANVAS_CLASSIFIER, STN_CLASSIFIER } from './canvas-classifier.js';
import { IMAGE_CAPTIONER } from './image-captioner.js';
import { GLIMPSE_CLASSIFIER } from './glimpse-classifier.js';
import { VISION_ENCODER_DECODER } from './vision-encoder-decoder.js';

export const PLAYGROUND_KINDS: { readonly [P in Preset]: PlaygroundKind<ConfigOf<P>> } = Object.freeze({
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
export function playgroundKind<C extends ModelConfig>(config: C): PlaygroundKind<C> {
  return PLAYGROUND_KINDS[config.preset] as unknown as PlaygroundKind<C>;
}
