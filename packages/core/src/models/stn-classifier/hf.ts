// The config.json of an stn-classifier export folder (attend's own model_type).

import { imageModelConfig } from '../canvas-classifier/hf.js';
import type { StnClassifierConfig } from './config.js';

/** config.json of an stn-classifier folder. */
export function stnConfig(config: StnClassifierConfig): Record<string, unknown> {
  return imageModelConfig('attend-stn-classifier', config);
}
