import type { DecoderLmConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** A language model: continues a prompt; its panel is the causal self-attention over prompt and output. */
export const DECODER_LM: PlaygroundKind<DecoderLmConfig> = {
  summary: (c) => ({ attention: `${c.numHeads} heads`, layers: `${c.numDecoderLayers} layers` }),
  panels: { cross: false, encoder: false, self: 'Self-attention (prompt and generated tokens)' },
  headView: true,
};
