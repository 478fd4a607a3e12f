import type { VitClassifierConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';
import { drawPatchAttention, drawRolloutPicture } from '../where-view.js';

/** The vision Transformer: a painted image in, the CLS attention over the patch grid and the rollout laid over the canvas. */
export const VIT_CLASSIFIER: PlaygroundKind<VitClassifierConfig> = {
  summary: (c) => ({ attention: `${c.numHeads} heads`, layers: `${c.numEncoderLayers} layers, ${c.imageSize}×${c.imageSize} images in ${c.patchSize}×${c.patchSize} patches, ${c.numClasses} classes` }),
  where: drawRolloutPicture,
  patchAttention: drawPatchAttention,
};
