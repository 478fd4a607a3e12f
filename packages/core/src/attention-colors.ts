// The one colour scale of attention heatmaps, shared by the CLI's SVG figures and the
// playground's canvas: a weight in [0, max] → white … deep blue, linear in each RGB channel (so
// its two end colours define it, for renderers that interpolate in RGB), and the legend stops
// both draw.

export type Rgb = readonly [number, number, number];

/** The colour of weight 0 and of the largest weight. */
export const ATTENTION_COLOR_RANGE: readonly [Rgb, Rgb] = [
  [255, 255, 255],
  [33, 75, 180],
];

/** The colour of `weight` on a scale from 0 to `max` (default 1), clamped to the ends. */
export function attentionColor(weight: number, max = 1): Rgb {
  const t = Math.min(1, Math.max(0, weight / (max || 1)));
  const [lo, hi] = ATTENTION_COLOR_RANGE;
  return [0, 1, 2].map((c) => Math.round(lo[c]! + (hi[c]! - lo[c]!) * t)) as unknown as Rgb;
}

/** `#rrggbb` of a colour. */
export function rgbHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** The labelled stops of the legend of a scale from 0 to `max`: `count` evenly spaced weights and their colours. */
export function attentionLegendStops(max = 1, count = 5): { weight: number; color: Rgb }[] {
  return Array.from({ length: count }, (_, i) => {
    const weight = (max * i) / (count - 1);
    return { weight, color: attentionColor(weight, max) };
  });
}
