import type { EncoderDecoderConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** The Transformer encoder–decoder: cross-attention, encoder and decoder self-attention (each in the head view too). */
export const ENCODER_DECODER: PlaygroundKind<EncoderDecoderConfig> = {
  summary: (c) => ({ attention: `${c.numHeads} heads`, layers: `${c.numEncoderLayers}+${c.numDecoderLayers} layers` }),
  panels: { cross: true, encoder: true, self: 'Decoder self-attention' },
  headView: true,
};
