import type { ImageCaptionerConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** The image captioner: its status line only (the page does not run captioner folders yet). */
export const IMAGE_CAPTIONER: PlaygroundKind<ImageCaptionerConfig> = {
  summary: (c) => ({ attention: `${c.visualAttention} visual attention`, layers: `CNN + LSTM, ${c.imageHeight}×${c.imageWidth} images` }),
};
