// The canvas- and stn-classifier configs: defaults, checks with one-line errors naming the
// field, FLOPs and the weight shapes that pin their sizes, config.json round trips.

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { createModelConfig, parseModelConfig } from '../../config.js';
import { flopsPerToken } from '../../flops.js';
import type { CanvasClassifierConfig } from '../canvas-classifier/config.js';
import { IDENTITY_THETA, identityParams, samplingQuadrilateral, thetaMatrix, type StnClassifierConfig } from './config.js';
import { hfConfig, imageConfig, imagePositions, modelKind, modelTask } from '../registry.js';

const canvas = (o: Record<string, unknown> = {}): CanvasClassifierConfig => createModelConfig({ preset: 'canvas-classifier', numClasses: 10, ...o } as never) as CanvasClassifierConfig;
const stn = (o: Record<string, unknown> = {}): StnClassifierConfig => createModelConfig({ preset: 'stn-classifier', numClasses: 10, ...o } as never) as StnClassifierConfig;

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('canvas-classifier and stn-classifier configs', () => {
  it('default to a 32 × 32 one-channel canvas for image classification, one position per image', () => {
    for (const config of [canvas(), stn()]) {
      expect(config).toMatchObject({ imageSize: 32, numChannels: 1, maxSeqLen: 1, numHiddenLayers: 2 });
      expect(modelTask(config)).toBe('image-classification');
      expect(imagePositions(imageConfig(config, 'test'))).toBe(1);
    }
    expect(stn()).toMatchObject({ outputSize: 16, locHiddenSize: 32, locConvChannels: [], stnTransform: 'affine' });
  });

  it('read an stn config.json written before stnTransform existed as the affine θ', () => {
    const { stnTransform, ...old } = stn();
    expect(stnTransform).toBe('affine');
    expect(parseModelConfig(JSON.stringify(old))).toEqual(stn());
  });

  it("map the attention transform's (s, tx, ty) to θ = [[s, 0, tx], [0, s, ty]], the identity at the start", () => {
    const attention = stn({ stnTransform: 'attention' });
    expect(identityParams(stn())).toEqual(IDENTITY_THETA);
    expect(thetaMatrix(stn())).toBeUndefined();
    const times = (p: readonly number[]) => thetaMatrix(attention)!.reduce((theta, row, i) => theta.map((t, j) => t + p[i]! * row[j]!), [0, 0, 0, 0, 0, 0]);
    expect(times(identityParams(attention))).toEqual(IDENTITY_THETA);
    expect(times([0.5, 0.25, -0.75])).toEqual([0.5, 0, 0.25, 0, 0.5, -0.75]);
  });

  it('read an stn config.json written before locConvChannels existed as an MLP localisation network', () => {
    const { locConvChannels, ...old } = stn();
    expect(locConvChannels).toEqual([]);
    expect(parseModelConfig(JSON.stringify(old))).toEqual(stn());
  });

  it('refuse bad fields with one line naming the field', () => {
    expect(message(() => stn({ outputSize: 40 }))).toBe('outputSize: 40 is larger than imageSize=32; the sampler reads a smaller image');
    expect(message(() => canvas({ maxSeqLen: 17 }))).toBe('maxSeqLen: 17 is not allowed; an image classifier reads one image, use 1');
    expect(message(() => canvas({ numHiddenLayers: 0 }))).toBe('numHiddenLayers: 0 is not allowed; expected an integer >= 1');
    expect(message(() => stn({ locHiddenSize: 2.5 }))).toBe('locHiddenSize: 2.5 is not allowed; expected an integer >= 1');
    expect(message(() => canvas({ pixelScale: 0 }))).toMatch(/^pixelScale: 0 is not allowed/);
    expect(message(() => canvas({ patchSize: 4 }))).toMatch(/patchSize/);
    expect(message(() => canvas({ outputSize: 8 }))).toMatch(/outputSize/);
    expect(message(() => stn({ locConvChannels: [4, 0] }))).toBe('locConvChannels: an array is not allowed; expected a list of at most 4 integers >= 1 (channels of each convolution block)');
    expect(message(() => stn({ imageSize: 8, outputSize: 4, locConvChannels: [2, 2, 2, 2] }))).toBe('locConvChannels: 4 blocks halve imageSize=8 below 2 pixels at block 4; use fewer blocks');
    expect(message(() => canvas({ locConvChannels: [4] }))).toMatch(/locConvChannels/);
    expect(message(() => stn({ stnTransform: 'projective' }))).toBe('stnTransform: "projective" is not allowed; expected one of affine, attention');
    expect(message(() => canvas({ stnTransform: 'attention' }))).toMatch(/stnTransform/);
  });

  it('count FLOPs per image and pin their sizes by weight shapes', () => {
    const c = canvas({ imageSize: 8, dModel: 16, numHiddenLayers: 2 });
    expect(flopsPerToken(c).total).toBe(2 * (64 * 16 + 16 * 16 + 16 * 10));
    expect(modelKind('canvas-classifier').sizedWeights(c)).toEqual({
      'classifier.layers.0.weight': [16, 64],
      'classifier.layers.1.weight': [16, 16],
      'classifier.out.weight': [10, 16],
    });
    const s = stn({ imageSize: 8, outputSize: 4, dModel: 16, numHiddenLayers: 1, locHiddenSize: 5 });
    const modules = Object.fromEntries(flopsPerToken(s).modules.map((m) => [m.module, m.flops]));
    expect(modules).toEqual({
      'localization.layers.0': 2 * 64 * 5,
      'localization.out': 2 * 5 * 6,
      sampler: 16 * (12 + 12),
      'classifier.layers.0': 2 * 16 * 16,
      'classifier.out': 2 * 16 * 10,
    });
    expect(modelKind('stn-classifier').sizedWeights(s)).toMatchObject({ 'localization.out.weight': [6, 5], 'classifier.layers.0.weight': [16, 16] });
    // A CNN localisation network: 3 × 3 conv of 1 → 4 channels on the 8 × 8 canvas, pooled to 4 × 4 × 4 for its MLP.
    const cnn = stn({ imageSize: 8, outputSize: 4, dModel: 16, numHiddenLayers: 1, locHiddenSize: 5, locConvChannels: [4] });
    const cnnModules = Object.fromEntries(flopsPerToken(cnn).modules.map((m) => [m.module, m.flops]));
    expect(cnnModules).toMatchObject({ 'localization.convs.0': 2 * 9 * 1 * 4 * 64, 'localization.layers.0': 2 * 64 * 5 });
    expect(modelKind('stn-classifier').sizedWeights(cnn)).toMatchObject({ 'localization.convs.0.weight': [4, 1, 3, 3], 'localization.layers.0.weight': [5, 64], 'localization.out.weight': [6, 5] });
    // The attention transform: 3 outputs, then their [1, 3] × [3, 6] product to θ.
    const attention = stn({ imageSize: 8, outputSize: 4, dModel: 16, numHiddenLayers: 1, locHiddenSize: 5, stnTransform: 'attention' });
    expect(Object.fromEntries(flopsPerToken(attention).modules.map((m) => [m.module, m.flops]))).toMatchObject({ 'localization.out': 2 * 5 * 3, sampler: 2 * 3 * 6 + 16 * (12 + 12) });
    expect(modelKind('stn-classifier').sizedWeights(attention)).toMatchObject({ 'localization.out.weight': [3, 5] });
  });

  it("round-trip through config.json; the export folder's config.json has attend's model_type", () => {
    const s = stn({ imageSize: 28, outputSize: 14 });
    expect(parseModelConfig(JSON.stringify(s))).toEqual(s);
    expect(hfConfig(s)).toMatchObject({ model_type: 'attend-stn-classifier', image_size: 28, num_channels: 1, num_labels: 10, attend: s });
    expect(hfConfig(canvas())).toMatchObject({ model_type: 'attend-canvas-classifier' });
  });

  it("maps the sampler's output corners through θ onto the canvas: the whole canvas for the identity, a shifted half for zoom 0.5", () => {
    expect(samplingQuadrilateral(IDENTITY_THETA, 32)).toEqual([{ x: 0, y: 0 }, { x: 32, y: 0 }, { x: 32, y: 32 }, { x: 0, y: 32 }, { x: 0, y: 0 }]);
    // x' = 0.5 u + 0.25, y' = 0.5 v − 0.5: the square [0.625, 0.875] × [0, 0.5] of the canvas, times 32.
    expect(samplingQuadrilateral([0.5, 0, 0.25, 0, 0.5, -0.5], 32)).toEqual([{ x: 12, y: 0 }, { x: 28, y: 0 }, { x: 28, y: 16 }, { x: 12, y: 16 }, { x: 12, y: 0 }]);
    // A shear moves the corners off the square: the quadrilateral is a parallelogram.
    const [a, b, c, d] = samplingQuadrilateral([1, 0.5, 0, 0, 1, 0], 8);
    expect([a, b, c, d]).toEqual([{ x: -2, y: 0 }, { x: 6, y: 0 }, { x: 10, y: 8 }, { x: 2, y: 8 }]);
  });
});
