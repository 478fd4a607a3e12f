import { describe, expect, it } from 'vitest';
import { attentionColor, rgbHex } from '@attend/core';
import { attentionHeatmapSvg, lossCurveSvg, scalingSvg } from './plots.js';

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

describe('lossCurveSvg', () => {
  it('draws the train and the dev curve on a log-scale y axis', async () => {
    const svg = await lossCurveSvg({
      title: 't',
      train: [
        { step: 10, loss: 3 },
        { step: 20, loss: 0.3 },
        { step: 30, loss: 0.03 },
      ],
      dev: [
        { step: 10, loss: 4 },
        { step: 30, loss: 0.5 },
      ],
    });
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toContain('train');
    expect(labels).toContain('dev');
    expect(labels).toContain('cross-entropy loss (log scale)');
    // Two line paths, one per series (each a path with an SVG line command).
    const lines = [...svg.matchAll(/<path[^>]*aria-roledescription="line mark"[^>]*>/g)];
    expect(lines.length).toBe(2);
    // Log ticks: powers of ten label the axis, not the linear 0.5, 1.0, 1.5, … of a linear scale.
    expect(labels).toContain('0.1');
    expect(labels).toContain('1');
    expect(labels).not.toContain('0.5');
  });

  it('leaves out losses a log axis cannot place', async () => {
    const svg = await lossCurveSvg({ title: 't', train: [{ step: 1, loss: 2 }, { step: 2, loss: 0 }, { step: 3, loss: Number.NaN }, { step: 4, loss: 1 }] });
    expect(svg).toMatch(/^<svg /);
  });
});

describe('scalingSvg', () => {
  it('draws tokens/s and peak RSS against parameters, one line per series in each panel, labels whole', async () => {
    const series = 'a long series name: 6 layers, ctx 256, 2 workers';
    const svg = await scalingSvg('t', [
      { parameters: 1e5, tokensPerSecond: 900, peakRssMiB: 200, series },
      { parameters: 1e6, tokensPerSecond: 300, peakRssMiB: 400, series },
      { parameters: 1e5, tokensPerSecond: 500, peakRssMiB: 150, series: 'b' },
      { parameters: 1e6, tokensPerSecond: 150, peakRssMiB: 300, series: 'b' },
    ]);
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toContain(series);
    expect(labels).toContain('training tokens/s (log scale)');
    expect(labels).toContain('peak RSS, MiB (log scale)');
    // Two panels × two series.
    expect([...svg.matchAll(/<path[^>]*aria-roledescription="line mark"[^>]*>/g)].length).toBe(4);
  });
});
