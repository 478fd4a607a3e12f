import { describe, expect, it } from 'vitest';
import { createModelConfig, parseModelConfig, type ModelConfigInput } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { hfConfig, modelTask } from '../registry.js';
import { captionerAttentionLayout, featureGrid, featureLocations, hardCaptionerConfig, hardReading, type ImageCaptionerConfig } from './config.js';

const make = (fields: Record<string, unknown> = {}) => createModelConfig({ preset: 'image-captioner', vocabSize: 14, ...fields } as ModelConfigInput) as ImageCaptionerConfig;

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

describe('image-captioner config', () => {
  it('defaults: a 24 × 48 scene in 8 × 8 windows at stride 4 is a 5 × 11 grid; task image-to-text', () => {
    const config = make();
    expect(config.visualAttention).toBe('soft');
    expect(featureGrid(config)).toEqual({ rows: 5, cols: 11 });
    expect(featureLocations(config)).toBe(55);
    expect(modelTask(config)).toBe('image-to-text');
  });

  it('the grid floors as a convolution without padding does', () => {
    expect(featureGrid({ imageHeight: 10, imageWidth: 9, patchSize: 4, patchStride: 3 })).toEqual({ rows: 3, cols: 2 });
    expect(featureGrid({ imageHeight: 8, imageWidth: 8, patchSize: 8, patchStride: 8 })).toEqual({ rows: 1, cols: 1 });
  });

  it('each bad field is a ConfigError naming it', () => {
    expect(fieldOf(() => make({ visualAttention: 'local' }))).toBe('visualAttention');
    expect(fieldOf(() => make({ patchSize: 30 }))).toBe('patchSize');
    expect(fieldOf(() => make({ patchStride: 0 }))).toBe('patchStride');
    expect(fieldOf(() => make({ attentionPenalty: -1 }))).toBe('attentionPenalty');
    expect(fieldOf(() => make({ baselineDecay: 1 }))).toBe('baselineDecay');
    expect(fieldOf(() => make({ maxSeqLen: 1 }))).toBe('maxSeqLen');
    expect(fieldOf(() => make({ eosTokenId: 14 }))).toBe('eosTokenId');
    // A field of another kind.
    expect(fieldOf(() => make({ numHeads: 4 }))).toBe('numHeads');
  });

  it('config.json round-trips; the export config names attend\'s model type and holds the config', () => {
    const config = make({ visualAttention: 'hard' });
    expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
    expect(hfConfig(config)).toMatchObject({ model_type: 'attend-image-captioner', visual_attention: 'hard', attend: config });
  });

  it("hard attention's test-time choice: only a hard captioner takes it, and the expectation outlines no location", () => {
    const hard = make({ visualAttention: 'hard' });
    expect(hardCaptionerConfig(hard, 'expectation')).toBe(hard);
    expect(() => hardCaptionerConfig(make(), 'expectation')).toThrow(/^hardInference: expectation needs an image-captioner with hard attention; this one has soft attention$/);
    const other = createModelConfig({ preset: 'encoder-decoder', vocabSize: 14 });
    expect(() => hardCaptionerConfig(other, 'argmax')).toThrow(/^hardInference: argmax needs an image-captioner with hard attention; this model is a encoder-decoder$/);
    expect(captionerAttentionLayout(hard).hard).toBe(true);
    expect(captionerAttentionLayout(hard, 'expectation').hard).toBe(false);
  });

  it('the reading a run takes: the arg-max unless asked, for a hard captioner only', () => {
    const hard = make({ visualAttention: 'hard' });
    expect(hardReading(hard)).toBe('argmax');
    expect(hardReading(hard, 'expectation')).toBe('expectation');
    expect(hardReading(make())).toBeUndefined();
    expect(hardReading(make({ visualAttention: 'none' }))).toBeUndefined();
    expect(hardReading(createModelConfig({ preset: 'encoder-decoder', vocabSize: 14 }))).toBeUndefined();
  });
});
