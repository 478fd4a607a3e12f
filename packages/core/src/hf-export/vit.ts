// vit-classifier → ViTForImageClassification: the patch map [d, C·p·p] as the convolution
// kernel [d, C, p, p], the CLS token [1, 1, d] and the positions [1, patches + 1, d]; pixelScale
// as the image processor's rescale_factor (no resizing or normalising), which the importer reads back.

import { ConfigError } from '../errors.js';
import { numPatches, type VitClassifierConfig } from '../models/vit-classifier/config.js';
import type { HfExporter } from './exporter.js';

export const vitExporter: HfExporter = {
  className: 'ViTForImageClassification',
  kind: 'vit-classifier',
  fixed: { norm: 'pre', attention: 'scaled_dot' },
  check(c) {
    const config = c as VitClassifierConfig;
    const positions = numPatches(config) + 1;
    if (config.maxSeqLen !== positions) throw new ConfigError('maxSeqLen', `${config.maxSeqLen} has no equivalent in Hugging Face ViTForImageClassification (it has ${positions} positions: the patches and CLS)`);
  },
  config: (c) => {
    const config = c as VitClassifierConfig;
    return { hidden_dropout_prob: config.dropout, attention_probs_dropout_prob: config.dropout, qkv_bias: true, encoder_stride: config.patchSize, initializer_range: 0.02 };
  },
  shapes: (c) => {
    const { dModel: d, numChannels, patchSize } = c as VitClassifierConfig;
    return {
      'embeddings.patch_embeddings.weight': [d, numChannels, patchSize, patchSize],
      'embeddings.cls_token': [1, 1, d],
      'encoder.embed_positions.weight': [1, numPatches(c as VitClassifierConfig) + 1, d],
    };
  },
  preprocessorConfig: (c) => {
    const config = c as VitClassifierConfig;
    return {
      image_processor_type: 'ViTImageProcessor',
      do_resize: false,
      size: { height: config.imageSize, width: config.imageSize },
      do_rescale: true,
      rescale_factor: config.pixelScale,
      do_normalize: false,
    };
  },
};
