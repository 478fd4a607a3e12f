// `attend attention` for an stn-classifier: where the spatial transformer looked. The input
// canvas with the sampling grid's outline — the output image's edges (±1, ±1) mapped by θ
// into the canvas, a quadrilateral (a square when θ only zooms and shifts) — and beside it the
// image the sampler read, which the classifier saw. Pixel values in core's attention colours.

import { ATTENTION_COLOR_RANGE, rgbHex, samplingQuadrilateral } from '@attend/core';
import { render } from './plots.js';

export interface StnView {
  /** The input canvas [S, S] (first channel), values as the model saw them (times pixelScale). */
  input: Float32Array;
  inputSize: number;
  /** θ, row-major [[a, b, tx], [c, d, ty]]. */
  theta: ArrayLike<number>;
  /** The sampled image [So, So] (first channel). */
  output: Float32Array;
  outputSize: number;
  title: string;
}

/** The pixels to draw: those above 0 (a 0 is the scale's white, the background's colour). */
function pixels(values: Float32Array, size: number): { col: number; row: number; col2: number; row2: number; value: number }[] {
  return Array.from({ length: size * size }, (_, i) => ({ col: i % size, row: Math.floor(i / size), col2: (i % size) + 1, row2: Math.floor(i / size) + 1, value: values[i]! })).filter((p) => p.value > 0);
}

/** The figure: the canvas with the sampling quadrilateral, and the transformed image beside it. */
export function stnFigureSvg(v: StnView): Promise<string> {
  const max = Math.max(1e-6, ...v.input, ...v.output);
  const color = { field: 'value', type: 'quantitative', title: 'pixel', scale: { domain: [0, max], range: ATTENTION_COLOR_RANGE.map(rgbHex), interpolate: 'rgb' } } as const;
  const axis = (size: number, title: string) => ({ type: 'quantitative', scale: { domain: [0, size], nice: false }, title }) as const;
  const panel = (values: Float32Array, size: number) => ({
    data: { values: pixels(values, size) },
    // No ARIA label per pixel: it would triple the SVG (a thousand pixels per canvas).
    mark: { type: 'rect', aria: false },
    encoding: {
      x: { field: 'col', ...axis(size, 'column') },
      x2: { field: 'col2' },
      y: { field: 'row', ...axis(size, 'row'), scale: { domain: [0, size], nice: false, reverse: true } },
      y2: { field: 'row2' },
      color,
    },
  });
  const side = 256;
  const quad = samplingQuadrilateral(v.theta, v.inputSize).map((p, order) => ({ ...p, order }));
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: v.title,
    hconcat: [
      {
        title: `input ${v.inputSize}×${v.inputSize} and the sampling grid (θ)`,
        width: side,
        height: side,
        layer: [
          panel(v.input, v.inputSize),
          {
            data: { values: quad },
            mark: { type: 'line', color: '#e4572e', strokeWidth: 2, clip: true },
            encoding: {
              x: { field: 'x', ...axis(v.inputSize, 'column') },
              y: { field: 'y', ...axis(v.inputSize, 'row'), scale: { domain: [0, v.inputSize], nice: false, reverse: true } },
              order: { field: 'order' },
            },
          },
        ],
      },
      { title: `what the classifier saw (${v.outputSize}×${v.outputSize})`, width: side, height: side, ...panel(v.output, v.outputSize) },
    ],
  } as never);
}
