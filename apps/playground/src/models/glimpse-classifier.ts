import type { GlimpseClassifierConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';
import { drawGlimpsePicture } from '../where-view.js';

/** The recurrent attention model: hard attention over a few glimpses, drawn step by step. */
export const GLIMPSE_CLASSIFIER: PlaygroundKind<GlimpseClassifierConfig> = {
  summary: (c) => ({ attention: 'hard attention', layers: `${c.numGlimpses} glimpses of ${c.numScales} scales, ${c.imageSize}×${c.imageSize} images, ${c.numClasses} classes` }),
  where: drawGlimpsePicture,
};
