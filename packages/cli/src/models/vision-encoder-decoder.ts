// The CLI's vision-encoder-decoder (the Transformer captioner): trains on the digit-scenes task
// as the LSTM captioner does (its CAPTION_TRAINING: `--task digit-scenes --captioner transformer`
// or `--preset vision-encoder-decoder`); `attend export --check` runs the folder's two graphs
// one word at a time through the decoder's caches. `attend attention` and `attend bench` do
// not take it yet (one line each).

import type { VisionEncoderDecoderConfig } from '@attend/core';
import { CliError } from '../errors.js';
import { CAPTION_TRAINING, captionParity } from './image-captioner.js';
import type { CliKind, KindAttention } from './kind.js';

const notYet = (what: string) => async (): Promise<never> => {
  throw new CliError(`attend ${what} does not take a vision-encoder-decoder yet`);
};

export const VISION_ENCODER_DECODER: CliKind<VisionEncoderDecoderConfig> = {
  train: CAPTION_TRAINING,
  attention: { checkpoint: notYet('attention') as () => Promise<KindAttention>, export: notYet('attention') as () => Promise<KindAttention> },
  parity: captionParity,
  bench: {
    export: notYet('bench'),
    trainBatch: () => {
      throw new CliError('attend bench does not take a vision-encoder-decoder yet');
    },
  },
  flopsLength: 'source',
};
