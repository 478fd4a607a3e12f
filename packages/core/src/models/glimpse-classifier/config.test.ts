import { describe, expect, it } from 'vitest';
import { createModelConfig, parseModelConfig, type ModelConfigInput } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { flopsPerToken } from '../../flops.js';
import { hasTokens, modelTask, MODEL_KINDS } from '../registry.js';
import { sensorValues, type GlimpseClassifierConfig } from './config.js';

/** The ConfigError `input` raises. */
function configError(input: Record<string, unknown>): ConfigError {
  try {
    createModelConfig({ preset: 'glimpse-classifier', numClasses: 10, ...input } as ModelConfigInput);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('glimpse-classifier config', () => {
  it('defaults: 32×32 canvas, 6 glimpses of 3 scales of 8×8; an image classifier without tokens; parse round trip', () => {
    const config = createModelConfig({ preset: 'glimpse-classifier', numClasses: 10 }) as GlimpseClassifierConfig;
    expect(config).toMatchObject({ imageSize: 32, numGlimpses: 6, glimpsePatch: 8, numScales: 3, maxSeqLen: 6 });
    expect(modelTask(config)).toBe('image-classification');
    expect(hasTokens(config)).toBe(false);
    expect(sensorValues(config)).toBe(3 * 64);
    expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
  });

  it('bad values name the field', () => {
    expect(configError({ numGlimpses: 8 }).field).toBe('maxSeqLen');
    expect(configError({ numGlimpses: 8 }).message).toContain('below numGlimpses=8');
    expect(configError({ glimpsePatch: 40 }).field).toBe('glimpsePatch');
    expect(configError({ numScales: 17 }).field).toBe('numScales');
    expect(configError({ locationStd: 0 }).field).toBe('locationStd');
    expect(configError({ numGlimpses: 0 }).field).toBe('numGlimpses');
    expect(configError({ patchSize: 4 }).field).toBe('patchSize');
  });

  it('FLOPs: per glimpse, the classifier shared over the glimpses; times numGlimpses is one image by hand', () => {
    const config = createModelConfig({ preset: 'glimpse-classifier', numClasses: 10 }) as GlimpseClassifierConfig;
    const { total } = flopsPerToken(config);
    const read = 3 * 64; // values a glimpse reads
    const perGlimpse = 8 * read + 2 * read * 64 + 2 * 2 * 32 + 2 * (64 + 32) * 128 + 2 * (128 + 128) * 128 + 2 * 128 * 2;
    expect(total * 6).toBeCloseTo(6 * perGlimpse + 2 * 128 * 10, 6);
  });

  it('sizedWeights pins every size field', () => {
    const config = createModelConfig({ preset: 'glimpse-classifier', numClasses: 7, dModel: 20, glimpseHidden: 11, locationHidden: 5, glimpseSize: 13, glimpsePatch: 4, numScales: 2 }) as GlimpseClassifierConfig;
    const sized = MODEL_KINDS['glimpse-classifier'].sizedWeights(config);
    expect(sized['glimpse.what.weight']).toEqual([11, 2 * 16]);
    expect(sized['glimpse.where.weight']).toEqual([5, 2]);
    expect(sized['glimpse.out_what.weight']).toEqual([13, 11]);
    expect(sized['core.hidden.weight']).toEqual([20, 20]);
    expect(sized['classifier.weight']).toEqual([7, 20]);
  });
});
