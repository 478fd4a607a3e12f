import { patchAttentionLayout, type VisionEncoderDecoderConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** The Transformer captioner: its status line, and each word's cross-attention over the patch grid (caption-view.ts). */
export const VISION_ENCODER_DECODER: PlaygroundKind<VisionEncoderDecoderConfig> = {
  summary: (c) => ({ attention: `${c.numHeads} heads`, layers: `${c.numEncoderLayers} + ${c.numDecoderLayers} layers over ${c.patchSize}×${c.patchSize} patches of ${c.imageHeight}×${c.imageWidth} images` }),
  caption: patchAttentionLayout,
};
