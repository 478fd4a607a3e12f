// Where an image model looked at the painted canvas, drawn from its graph's outputs (issue 17's
// pictures, as `attend attention` draws them): the spatial transformer's sampling quadrilateral
// (θ mapped onto the canvas) beside the image it sampled, the recurrent attention model's
// glimpse boxes step by step, and a vision Transformer's attention rollout laid over the canvas.
// The geometry is @attend/core's (samplingQuadrilateral, glimpseBoxes, the rollout); each canvas
// keeps what it drew in data attributes.

import { attentionColor, glimpseBoxes, samplingQuadrilateral, type GlimpseClassifierConfig, type ImageClassifierConfig, type StnClassifierConfig, type VitClassifierConfig } from '@attend/core';
import { drawHeatmap, mapFigure } from './heatmap.js';
import { clsMatrix, imageMatrix, rolloutMatrix, type ImageResult } from './image.js';

/** CSS pixels per image pixel in these pictures. */
const ZOOM = 224;
/** Box colours from the finest scale to the coarsest (as the CLI's glimpse figure). */
const SCALE_COLOURS = ['#d62728', '#ff7f0e', '#2ca02c', '#1f77b4'];
const QUAD_COLOUR = '#e4572e';

/** The sampling quadrilateral of an STN run, in canvas pixels (0 … S), closed; from the graph's `theta` output. */
export function stnQuadrilateral(config: StnClassifierConfig, result: ImageResult): { x: number; y: number }[] {
  const theta = result.outputs.theta;
  if (!theta) throw new Error('this export has no theta output; export it with --with-attention to see where the spatial transformer looked');
  return samplingQuadrilateral(theta.data, config.imageSize);
}

/** The glimpse locations (x, y in [−1, 1]) of a glimpse-classifier run, from the graph's `locations` output [1, T, 2]. */
export function glimpseLocations(result: ImageResult): [number, number][] {
  const t = result.outputs.locations;
  if (!t) throw new Error('this export has no locations output');
  return Array.from({ length: t.dims[1]! }, (_, i) => [t.data[2 * i]!, t.data[2 * i + 1]!]);
}

/** A figure holding the painted image at ZOOM, and a 2-D context scaled to image pixels for drawing over it. */
function imageFigure(box: HTMLElement, config: Pick<ImageClassifierConfig, 'imageSize' | 'numChannels' | 'pixelScale'>, pixels: Float32Array, title: string): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D | null } {
  const { figure, canvas } = mapFigure(title);
  box.append(figure);
  const cell = Math.floor(ZOOM / config.imageSize);
  drawHeatmap(canvas, imageMatrix(config, pixels), { cell, minLabelCell: Infinity, legend: false });
  const ctx = canvas.getContext('2d');
  const dpr = globalThis.devicePixelRatio || 1;
  ctx?.setTransform(dpr * cell, 0, 0, dpr * cell, 0, 0);
  return { canvas, ctx };
}

/** The note that replaces a picture the export cannot give. */
function note(box: HTMLElement, error: unknown): void {
  const p = document.createElement('p');
  p.className = 'info';
  p.textContent = error instanceof Error ? error.message : String(error);
  box.append(p);
}

/** The STN: the canvas with the sampling quadrilateral (`data-quad`), and the transformed image the classifier saw. */
export function drawStnPicture(box: HTMLElement, config: StnClassifierConfig, pixels: Float32Array, result: ImageResult): void {
  let quad: { x: number; y: number }[];
  try {
    quad = stnQuadrilateral(config, result);
  } catch (error) {
    note(box, error);
    return;
  }
  const S = config.imageSize;
  const outside = quad.some((p) => p.x < 0 || p.y < 0 || p.x > S || p.y > S);
  const { canvas, ctx } = imageFigure(box, config, pixels, `input ${S}×${S} and the sampling grid (θ)${outside ? ', partly outside the canvas (read as zeros)' : ''}`);
  if (ctx) {
    ctx.strokeStyle = QUAD_COLOUR;
    ctx.lineWidth = 2 / Math.floor(ZOOM / config.imageSize);
    ctx.beginPath();
    quad.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    ctx.stroke();
  }
  canvas.dataset.quad = JSON.stringify(quad);
  const out = result.outputs.transformed;
  if (!out) return;
  const [, C = 1, So = 1] = out.dims;
  const { figure, canvas: sampled } = mapFigure(`what the classifier saw (${So}×${So})`);
  box.append(figure);
  drawHeatmap(sampled, imageMatrix({ imageSize: So, numChannels: C, pixelScale: 1 }, out.data.subarray(0, C * So * So)), { cell: Math.floor(ZOOM / So), minLabelCell: Infinity, legend: false, scale: 'relative' });
}

/** The glimpse model: one panel per glimpse, the sensor's squares at that step (`data-boxes`) and the path so far. */
export function drawGlimpsePicture(box: HTMLElement, config: GlimpseClassifierConfig, pixels: Float32Array, result: ImageResult): void {
  let locations: [number, number][];
  try {
    locations = glimpseLocations(result);
  } catch (error) {
    note(box, error);
    return;
  }
  const S = config.imageSize;
  const cell = Math.floor(ZOOM / S);
  const centre = ([x, y]: readonly [number, number]): [number, number] => [((x + 1) / 2) * S, ((y + 1) / 2) * S];
  locations.forEach((location, t) => {
    const { canvas, ctx } = imageFigure(box, config, pixels, `glimpse ${t + 1} at (${location[0].toFixed(2)}, ${location[1].toFixed(2)})`);
    const boxes = glimpseBoxes(config, location);
    if (ctx) {
      ctx.lineWidth = 2 / cell;
      boxes.forEach((b, s) => {
        ctx.strokeStyle = SCALE_COLOURS[s % SCALE_COLOURS.length]!;
        ctx.strokeRect(b.x, b.y, b.size, b.size);
      });
      ctx.strokeStyle = '#9467bd';
      ctx.beginPath();
      locations.slice(0, t + 1).map(centre).forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
      ctx.stroke();
    }
    canvas.dataset.location = location.join(' ');
    canvas.dataset.boxes = JSON.stringify(boxes);
  });
}

/** The ViT: attention rollout of the CLS token over the patch grid, shaded over the canvas (`data-rollout`, row-major). */
export function drawRolloutPicture(box: HTMLElement, config: VitClassifierConfig, pixels: Float32Array, result: ImageResult): void {
  if (result.layers.length === 0) {
    note(box, new Error('this export has no attention outputs; export it with --with-attention to see the rollout'));
    return;
  }
  const rollout = rolloutMatrix(config, result);
  const { canvas, ctx } = imageFigure(box, config, pixels, `attention rollout over the canvas (${result.layers.length} layers)`);
  const top = Math.max(...rollout.values) || 1;
  if (ctx) {
    rollout.values.forEach((v, i) => {
      const [red, green, blue] = attentionColor(v, top);
      ctx.fillStyle = `rgba(${red},${green},${blue},${(0.7 * v) / top})`;
      ctx.fillRect((i % rollout.cols) * config.patchSize, Math.floor(i / rollout.cols) * config.patchSize, config.patchSize, config.patchSize);
    });
  }
  canvas.dataset.rollout = Array.from(rollout.values).join(' ');
}

/** The ViT's attention panels: the CLS token's attention over the patch grid per layer and head (into `cls`), and the rollout through every layer (into `rollout`), each shaded up to its largest weight. */
export function drawPatchAttention(boxes: { cls: HTMLElement; rollout: HTMLElement }, config: VitClassifierConfig, result: ImageResult): void {
  result.layers.forEach((_, layer) => {
    for (let head = 0; head < config.numHeads; head++) {
      const { figure, canvas } = mapFigure(`layer ${layer} · head ${head}`);
      boxes.cls.append(figure);
      drawHeatmap(canvas, clsMatrix(config, result, layer, head), { scale: 'relative', cell: 22 });
    }
  });
  const { figure, canvas } = mapFigure(`all ${result.layers.length} layers`);
  boxes.rollout.append(figure);
  drawHeatmap(canvas, rolloutMatrix(config, result), { scale: 'relative', cell: 22 });
}
