import type { EncoderClassifierConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** A text classifier: one call, the label and its self-attention as the encoder maps. */
export const ENCODER_CLASSIFIER: PlaygroundKind<EncoderClassifierConfig> = {
  summary: (c) => ({ attention: `${c.numHeads} heads`, layers: `${c.numEncoderLayers} layers, ${c.numClasses} classes` }),
  headView: true,
};
