// The glimpses of a glimpse-classifier (recurrent attention model) drawn step by step: one panel
// per glimpse, the canvas in grey, the squares the sensor read at that step (one per scale,
// core's `glimpseBoxes`, the same geometry as the sensor) and the path of the earlier
// locations — the picture of where the model looked, as Mnih et al. (2014) draw it.

import { escapeXml, glimpseBoxes, type GlimpseClassifierConfig } from '@attend/core';

/** Canvas pixels drawn per image pixel. */
const SCALE = 6;
const GAP = 16;
const TITLE = 28;
/** Box colours from the finest scale to the coarsest. */
const SCALE_COLOURS = ['#d62728', '#ff7f0e', '#2ca02c', '#1f77b4'];

/**
 * An SVG of the glimpses on one canvas: `pixels` [C, S, S] (the first channel is drawn, scaled
 * to its largest value) and `locations` [T, 2] (x, y in [−1, 1]), one panel per glimpse.
 */
export function glimpseSvg(config: Pick<GlimpseClassifierConfig, 'imageSize' | 'glimpsePatch' | 'numScales'>, pixels: ArrayLike<number>, locations: readonly (readonly [number, number])[], title: string): string {
  const S = config.imageSize;
  const side = S * SCALE;
  const T = locations.length;
  const width = T * side + (T + 1) * GAP;
  const height = TITLE + side + 2 * GAP;
  let top = 0;
  for (let i = 0; i < S * S; i++) top = Math.max(top, pixels[i]!);
  const canvas: string[] = [];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const v = top > 0 ? pixels[y * S + x]! / top : 0;
      if (v <= 0) continue;
      const grey = Math.round(255 * (1 - v));
      canvas.push(`<rect x="${x * SCALE}" y="${y * SCALE}" width="${SCALE}" height="${SCALE}" fill="rgb(${grey},${grey},${grey})"/>`);
    }
  }
  const centre = ([x, y]: readonly [number, number]): [number, number] => [((x + 1) / 2) * side, ((y + 1) / 2) * side];
  const panels = locations.map((location, t) => {
    const boxes = glimpseBoxes(config, location).map((b, s) =>
      `<rect x="${(b.x * SCALE).toFixed(2)}" y="${(b.y * SCALE).toFixed(2)}" width="${b.size * SCALE}" height="${b.size * SCALE}" fill="none" stroke="${SCALE_COLOURS[s % SCALE_COLOURS.length]}" stroke-width="2"/>`,
    );
    const path = locations.slice(0, t + 1).map(centre);
    const trail = path.length > 1 ? `<polyline points="${path.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ')}" fill="none" stroke="#9467bd" stroke-width="1.5" stroke-dasharray="4 3"/>` : '';
    const dots = path.map(([x, y], i) => `<circle cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="${i === t ? 3.5 : 2}" fill="#9467bd"/>`);
    const [lx, ly] = location;
    return `<g transform="translate(${GAP + t * (side + GAP)},${TITLE + GAP})">` +
      `<text x="0" y="-6" font-family="sans-serif" font-size="12">glimpse ${t + 1} at (${lx.toFixed(2)}, ${ly.toFixed(2)})</text>` +
      `<rect width="${side}" height="${side}" fill="white" stroke="#888"/>${canvas.join('')}` +
      `<svg width="${side}" height="${side}" overflow="hidden">${boxes.join('')}${trail}${dots.join('')}</svg></g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="${width}" height="${height}" fill="white"/>` +
    `<text x="${GAP}" y="${TITLE - 6}" font-family="sans-serif" font-size="14">${escapeXml(title)}</text>${panels.join('')}</svg>\n`;
}
