import { captionerAttentionLayout, type ImageCaptionerConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** The image captioner: its status line, and each word's α over the feature grid's windows (caption-view.ts). */
export const IMAGE_CAPTIONER: PlaygroundKind<ImageCaptionerConfig> = {
  summary: (c) => ({ attention: `${c.visualAttention} visual attention`, layers: `CNN + LSTM, ${c.imageHeight}×${c.imageWidth} images` }),
  caption: captionerAttentionLayout,
};
