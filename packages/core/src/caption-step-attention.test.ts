import { describe, expect, it } from 'vitest';
import { captionStepAttention } from './caption-figure.js';
import { ConfigError } from './errors.js';

// One row's step outputs of a 2-layer, 2-head captioner over CLS + 3 locations.
const outputs = {
  'cross_attentions.1': { data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.4, 0.3, 0.2, 0.1]), dims: [2, 4] },
  'cross_attentions.0': { data: Float32Array.from([0.7, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1]), dims: [2, 4] },
  'decoder_attentions.1': { data: Float32Array.from([1, 0, 1, 0]), dims: [2, 2] },
};

describe('captionStepAttention', () => {
  it('takes the last cross-attention layer with the heads averaged, or the picked layer and head, without the leading positions', () => {
    expect(Array.from(captionStepAttention(outputs, {}, {})!)).toEqual([0.25, 0.25, 0.25, 0.25].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(captionStepAttention(outputs, {}, { leading: 1 })!)).toEqual([0.25, 0.25, 0.25].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(captionStepAttention(outputs, { layer: 0, head: 1 }, { leading: 1 })!)).toEqual([0.7, 0.1, 0.1].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(captionStepAttention(outputs, { head: 0 }, {})!)).toEqual([0.1, 0.2, 0.3, 0.4].map((x) => expect.closeTo(x, 6)));
  });

  it('is undefined for a step without cross-attention, and a ConfigError naming layer or head out of range', () => {
    expect(captionStepAttention({ logits: { data: new Float32Array(3), dims: [3] } }, {}, {})).toBeUndefined();
    expect(() => captionStepAttention(outputs, { layer: 2 }, {})).toThrow(new ConfigError('layer', '2 is out of range; the model has 2 cross-attention layers (0–1)'));
    expect(() => captionStepAttention(outputs, { head: 2 }, {})).toThrow(new ConfigError('head', '2 is out of range; the model has 2 heads (0–1)'));
  });
});
