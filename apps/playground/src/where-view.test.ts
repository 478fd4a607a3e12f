import { describe, expect, it } from 'vitest';
import { createModelConfig, samplingQuadrilateral, type StnClassifierConfig } from '@attend/core';
import { glimpseLocations, stnQuadrilateral } from './where-view.js';
import type { ImageResult } from './image.js';

const result = (outputs: ImageResult['outputs']): ImageResult => ({ label: 0, probabilities: new Float32Array(3), ms: 0, layers: [], outputs });

describe('where-to-look geometry from a run’s outputs', () => {
  it("the STN's quadrilateral is core's, of the graph's θ on the model's canvas size; no θ is a one-line hint", () => {
    const config = createModelConfig({ preset: 'stn-classifier', numClasses: 3, imageSize: 20 } as never) as StnClassifierConfig;
    const theta = Float32Array.from([0.5, 0.1, 0.2, -0.1, 0.5, -0.3]);
    expect(stnQuadrilateral(config, result({ theta: { data: theta, dims: [1, 2, 3] } }))).toEqual(samplingQuadrilateral(theta, 20));
    expect(() => stnQuadrilateral(config, result({}))).toThrow('this export has no theta output; export it with --with-attention to see where the spatial transformer looked');
  });

  it("the glimpse locations are the graph's [1, T, 2] output as (x, y) pairs in order", () => {
    const locations = { data: Float32Array.from([0, 0, 0.5, -0.25, -1, 1]), dims: [1, 3, 2] };
    expect(glimpseLocations(result({ locations }))).toEqual([[0, 0], [0.5, -0.25], [-1, 1]]);
    expect(() => glimpseLocations(result({}))).toThrow('no locations output');
  });
});
