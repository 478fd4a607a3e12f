// The CLI's vision-encoder-decoder (the Transformer captioner): trains on the digit-scenes task
// as the LSTM captioner does (its CAPTION_TRAINING: `--task digit-scenes --captioner transformer`
// or `--preset vision-encoder-decoder`); the parity check of `attend export` runs the folder's two graphs
// one word at a time through the decoder's caches; `attend attention` draws each generated
// word's cross-attention over the patch grid and `attend bench` times its export, both as the
// LSTM captioner's (models/caption.ts).

import { patchAttentionLayout, type VisionEncoderDecoderConfig } from '@attend/core';
import { CAPTION_BENCH, captionAttentionOf } from './caption.js';
import { CAPTION_TRAINING, captionParity } from './image-captioner.js';
import type { CliKind } from './kind.js';

export const VISION_ENCODER_DECODER: CliKind<VisionEncoderDecoderConfig> = {
  train: CAPTION_TRAINING,
  attention: captionAttentionOf(patchAttentionLayout),
  parity: captionParity,
  bench: CAPTION_BENCH,
  flopsLength: 'source',
};
