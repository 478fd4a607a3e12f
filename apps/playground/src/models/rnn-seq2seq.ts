import { numDecoderLayers, type RnnSeq2SeqConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** The GRU/LSTM encoder–decoder: one attention, over the source. */
export const RNN_SEQ2SEQ: PlaygroundKind<RnnSeq2SeqConfig> = {
  summary: (c) => ({ attention: `${(c.rnnCell ?? 'gru').toUpperCase()}, ${c.rnnAttention} attention`, layers: `${c.numEncoderLayers}+${numDecoderLayers(c)} layers` }),
  panels: { cross: true, encoder: false },
};
