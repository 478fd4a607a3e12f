// The Hugging Face config.json of this kind's export folder: the field names transformers.js
// reads for the architecture whose interface the graphs follow, plus the full attend config
// under `attend` (read back by the export-folder loader).

import { labelFields } from '../hf-labels.js';
import type { VitClassifierConfig } from './config.js';

/** vit-style config.json fields for an attend vit-classifier, plus the full config under `attend`. */
export function vitConfig(config: VitClassifierConfig): Record<string, unknown> {
  return {
    model_type: 'vit',
    architectures: ['ViTForImageClassification'],
    hidden_size: config.dModel,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numEncoderLayers,
    intermediate_size: config.dFf,
    hidden_act: config.activation,
    layer_norm_eps: config.layerNormEps,
    image_size: config.imageSize,
    patch_size: config.patchSize,
    num_channels: config.numChannels,
    ...labelFields(config),
    attend: config,
  };
}


/** preprocessor_config.json of a vit folder: no resizing, rescaling or normalising outside the graph. */
export function vitPreprocessorConfig(config: VitClassifierConfig): Record<string, unknown> {
  return {
    image_processor_type: 'ViTImageProcessor',
    do_resize: false,
    size: { height: config.imageSize, width: config.imageSize },
    do_rescale: false,
    do_normalize: false,
  };
}
