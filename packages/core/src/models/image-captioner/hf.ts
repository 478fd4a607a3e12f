// The Hugging Face config.json of this kind's export folder: attend's own model_type (no
// transformers.js architecture has an LSTM captioner), the sizes under Hugging Face names, and the
// full attend config under `attend` (read back by the export-folder loader).

import type { ImageCaptionerConfig } from './config.js';

/** config.json's model_type of an image-captioner folder. */
export const IMAGE_CAPTIONER_MODEL_TYPE = 'attend-image-captioner';

/** config.json of an image-captioner folder, with the full config under `attend`. */
export function captionerConfig(config: ImageCaptionerConfig): Record<string, unknown> {
  return {
    model_type: IMAGE_CAPTIONER_MODEL_TYPE,
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    hidden_size: config.dModel,
    num_channels: 1,
    image_size: [config.imageHeight, config.imageWidth],
    patch_size: config.patchSize,
    visual_attention: config.visualAttention,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    decoder_start_token_id: config.bosTokenId,
    attend: config,
  };
}
