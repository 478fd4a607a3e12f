// The config.json of a canvas-classifier export folder: attend's own model_type (no
// transformers.js architecture is this MLP), the image fields, the full config under `attend`.

import { labelFields } from '../hf-labels.js';
import type { CanvasClassifierConfig } from './config.js';

/** config.json of a canvas-classifier folder. */
export function canvasConfig(config: CanvasClassifierConfig): Record<string, unknown> {
  return imageModelConfig('attend-canvas-classifier', config);
}

/** The image fields and labels of an attend image model's config.json, the full config under `attend`. */
export function imageModelConfig(modelType: string, config: Pick<CanvasClassifierConfig, 'imageSize' | 'numChannels' | 'numClasses'>): Record<string, unknown> {
  return { model_type: modelType, image_size: config.imageSize, num_channels: config.numChannels, ...labelFields(config), attend: config };
}
