import { describe, expect, it } from 'vitest';
import { createModelConfig, parseModelConfig, type ModelConfigInput } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { captionSourceLength, hfConfig, imageToTextConfig, modelTask } from '../registry.js';
import { captionDecoderConfig, patchEncoderStack, type VisionEncoderDecoderConfig } from './config.js';

const make = (fields: Record<string, unknown> = {}) => createModelConfig({ preset: 'vision-encoder-decoder', vocabSize: 14, ...fields } as ModelConfigInput) as VisionEncoderDecoderConfig;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('vision-encoder-decoder config', () => {
  it('defaults: a 24 × 48 scene in 4 × 4 patches is 72 patches + CLS; task image-to-text; parse round trip', () => {
    const config = make();
    expect(modelTask(config)).toBe('image-to-text');
    expect(patchEncoderStack(config).maxSeqLen).toBe(73);
    expect(captionSourceLength(config)).toBe(73);
    expect(imageToTextConfig(config, 'test')).toBe(config);
    expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
  });

  it('its decoder is an encoder-decoder config with the caption length and the shared stack fields, no image fields', () => {
    const config = make({ dModel: 32, numHeads: 2, maxSeqLen: 6, positional: 'rope', tieEmbeddings: false });
    const decoder = captionDecoderConfig(config);
    expect(decoder).toMatchObject({ preset: 'encoder-decoder', dModel: 32, numHeads: 2, maxSeqLen: 6, positional: 'rope', tieEmbeddings: false, vocabSize: 14 });
    expect(decoder).not.toHaveProperty('imageHeight');
    expect(decoder).not.toHaveProperty('patchSize');
    // The encoder keeps learned positions over its patches whatever the decoder's encoding.
    expect(patchEncoderStack(config)).toMatchObject({ positional: 'learned', localWindow: null });
  });

  it('a patch size that does not divide both sides, or a caption with no room for a word, is a ConfigError naming the field', () => {
    const patch = errorOf(() => make({ patchSize: 5 }));
    expect(patch.field).toBe('patchSize');
    expect(patch.message).toContain('does not divide the image of 24 × 48');
    expect(errorOf(() => make({ imageWidth: 50 })).field).toBe('patchSize');
    expect(errorOf(() => make({ maxSeqLen: 1 })).field).toBe('maxSeqLen');
    expect(errorOf(() => make({ visualAttention: 'soft' })).field).toBe('visualAttention');
  });

  it('config.json: vision-encoder-decoder with vit and trocr sub-configs and the attend config', () => {
    const config = make({ numEncoderLayers: 3, numDecoderLayers: 1 });
    const hf = hfConfig(config);
    expect(hf).toMatchObject({
      model_type: 'vision-encoder-decoder',
      decoder_start_token_id: config.bosTokenId,
      encoder: { model_type: 'vit', num_hidden_layers: 3, image_size: [24, 48], patch_size: 4, num_channels: 1 },
      decoder: { model_type: 'trocr', decoder_layers: 1, d_model: config.dModel, vocab_size: 14 },
    });
    expect(hf.attend).toEqual(config);
  });
});
