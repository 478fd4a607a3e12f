import { describe, expect, it } from 'vitest';
import { attentionColor, rgbHex } from '@attend/core';
import { attentionHeatmapSvg } from './plots.js';

describe('attentionHeatmapSvg', () => {
  it('shades cells with core’s attention scale and draws its legend with the stops', async () => {
    const svg = await attentionHeatmapSvg({
      title: 't',
      keyTokens: ['a', 'b'],
      queryTokens: ['x', 'y'],
      keyAxis: 'key',
      queryAxis: 'query',
      panels: [{ title: 'layer 0 · head 0', weights: Float32Array.of(1, 0, 0.5, 0.5) }],
    });
    expect(svg).toContain('role-legend');
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const stop of ['0.00', '0.25', '0.50', '0.75', '1.00', 'weight']) expect(labels).toContain(stop);
    const fills = new Set([...svg.matchAll(/fill="(rgb\([^)]*\)|#[0-9a-f]{6})"/g)].map((m) => m[1]));
    const [r, g, b] = attentionColor(1);
    expect(fills.has(`rgb(${r}, ${g}, ${b})`) || fills.has(rgbHex([r, g, b]))).toBe(true);
  });
});
