import type { VisionEncoderDecoderConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';

/** The Transformer captioner: its status line only (the page does not run captioner folders yet). */
export const VISION_ENCODER_DECODER: PlaygroundKind<VisionEncoderDecoderConfig> = {
  summary: (c) => ({ attention: `${c.numHeads} heads`, layers: `${c.numEncoderLayers} + ${c.numDecoderLayers} layers over ${c.patchSize}×${c.patchSize} patches of ${c.imageHeight}×${c.imageWidth} images` }),
};
