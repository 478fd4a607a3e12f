// The Hugging Face config.json of this kind's export folder, as transformers.js's
// VisionEncoderDecoderModel reads it: model_type "vision-encoder-decoder" with a vit `encoder`
// sub-config and a trocr `decoder` sub-config (TrOCR's decoder is the one whose cross-attention
// cache transformers.js sizes from decoder_layers, decoder_attention_heads and d_model), plus the
// full attend config under `attend` (read back by the export-folder loader).

import type { VisionEncoderDecoderConfig } from './config.js';

/** config.json's model_type of a vision-encoder-decoder folder. */
export const VISION_ENCODER_DECODER_MODEL_TYPE = 'vision-encoder-decoder';

/** config.json of a vision-encoder-decoder folder, with the full config under `attend`. */
export function visionEncoderDecoderConfig(config: VisionEncoderDecoderConfig): Record<string, unknown> {
  const tokens = { bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId, pad_token_id: config.padTokenId, decoder_start_token_id: config.bosTokenId };
  return {
    model_type: VISION_ENCODER_DECODER_MODEL_TYPE,
    architectures: ['VisionEncoderDecoderModel'],
    is_encoder_decoder: true,
    tie_word_embeddings: false,
    vocab_size: config.vocabSize,
    ...tokens,
    encoder: {
      model_type: 'vit',
      hidden_size: config.dModel,
      num_hidden_layers: config.numEncoderLayers,
      num_attention_heads: config.numHeads,
      intermediate_size: config.dFf,
      hidden_act: config.activation,
      layer_norm_eps: config.layerNormEps,
      image_size: [config.imageHeight, config.imageWidth],
      patch_size: config.patchSize,
      num_channels: 1,
    },
    decoder: {
      model_type: 'trocr',
      architectures: ['TrOCRForCausalLM'],
      is_decoder: true,
      add_cross_attention: true,
      vocab_size: config.vocabSize,
      d_model: config.dModel,
      cross_attention_hidden_size: config.dModel,
      decoder_layers: config.numDecoderLayers,
      decoder_attention_heads: config.numHeads,
      decoder_ffn_dim: config.dFf,
      max_position_embeddings: config.maxSeqLen,
      activation_function: config.activation,
      scale_embedding: config.scaleEmbedding,
      layernorm_embedding: config.embeddingNorm,
      tie_word_embeddings: config.tieEmbeddings,
      use_cache: true,
      ...tokens,
    },
    attend: config,
  };
}

/**
 * preprocessor_config.json of a vision-encoder-decoder folder: images to one grey channel (so
 * transformers.js's image-to-text pipeline feeds pixel_values [1, 1, H, W]), no resizing,
 * rescaling or normalising outside the graph (pixelScale is in it).
 */
export function visionEncoderDecoderPreprocessorConfig(config: VisionEncoderDecoderConfig): Record<string, unknown> {
  return {
    image_processor_type: 'ViTImageProcessor',
    do_resize: false,
    size: { height: config.imageHeight, width: config.imageWidth },
    do_rescale: false,
    do_normalize: false,
    do_convert_rgb: false,
    do_convert_grayscale: true,
  };
}
