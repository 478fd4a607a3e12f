// The export folder's config.json of the recurrent attention model: no Hugging Face
// architecture has this interface, so attend's own model_type, the sizes a reader needs, the
// label fields, and the full config under `attend`.

import { labelFields } from '../hf-labels.js';
import type { GlimpseClassifierConfig } from './config.js';

/** model_type of the glimpse-classifier's export folder. */
export const GLIMPSE_CLASSIFIER_MODEL_TYPE = 'attend-glimpse-classifier';

/** config.json fields for an attend glimpse-classifier, plus the full config under `attend`. */
export function glimpseClassifierHfConfig(config: GlimpseClassifierConfig): Record<string, unknown> {
  return {
    model_type: GLIMPSE_CLASSIFIER_MODEL_TYPE,
    architectures: ['AttendGlimpseClassifier'],
    hidden_size: config.dModel,
    image_size: config.imageSize,
    num_channels: config.numChannels,
    num_glimpses: config.numGlimpses,
    ...labelFields(config),
    attend: config,
  };
}
