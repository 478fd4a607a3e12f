// Figures as SVG, drawn by Vega-Lite specs compiled to Vega and rendered headless in Node
// (renderer 'none' + toSVG: no canvas, no browser): the training loss curve, and attention
// heatmaps (one panel per layer and head, key tokens on x, query tokens on y), in the manner
// of the alignment figures of Bahdanau et al. (2015).

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ATTENTION_COLOR_RANGE, attentionLegendStops, rgbHex } from '@attend/core';

/** An SVG of a Vega-Lite spec. */
export async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface LossCurve {
  title: string;
  /** Training loss at logged steps. */
  train: { step: number; loss: number }[];
  /** Dev loss at evaluations, when the task measures one. */
  dev?: { step: number; loss: number }[];
}

/**
 * The loss curve: training loss (line) and dev loss (points and line) against the step, on a
 * log-scale y axis (a loss that falls by orders of magnitude stays readable). Losses that are
 * not positive and finite cannot be placed on it and are left out.
 */
export function lossCurveSvg(curve: LossCurve): Promise<string> {
  const drawable = (p: { loss: number }) => Number.isFinite(p.loss) && p.loss > 0;
  const values = [
    ...curve.train.filter(drawable).map((p) => ({ ...p, series: 'train' })),
    ...(curve.dev ?? []).filter(drawable).map((p) => ({ ...p, series: 'dev' })),
  ];
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: curve.title,
    width: 520,
    height: 280,
    data: { values },
    mark: { type: 'line', point: values.length <= 60 || undefined },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'loss', type: 'quantitative', title: 'cross-entropy loss (log scale)', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, sort: ['train', 'dev'] },
    },
  });
}

/** One attention map: weights [queries, keys] row-major, with its panel title. */
export interface AttentionPanel {
  title: string;
  weights: ArrayLike<number>;
}

export interface Heatmap {
  title: string;
  /** Labels of the keys (x axis) and queries (y axis), in order. */
  keyTokens: readonly string[];
  queryTokens: readonly string[];
  keyAxis: string;
  queryAxis: string;
  panels: readonly AttentionPanel[];
  /** Panels per row; default all in one row. */
  columns?: number;
  /** The weight shaded darkest; default 1 (a map whose weights are all small may set its largest). */
  maxWeight?: number;
}

/** Attention heatmaps: one panel per map, cells shaded by weight, tokens labelled on both axes. */
export function attentionHeatmapSvg(h: Heatmap): Promise<string> {
  const K = h.keyTokens.length;
  const Q = h.queryTokens.length;
  const values = h.panels.flatMap((panel, p) =>
    Array.from({ length: Q * K }, (_, i) => ({ panel: p, title: panel.title, q: Math.floor(i / K), k: i % K, weight: panel.weights[i]! })),
  );
  // Axis fields are positions (tokens may repeat); labelExpr shows each position's token.
  const labels = (tokens: readonly string[]) => `${JSON.stringify(tokens.map(displayToken))}[datum.value]`;
  const cell = 16;
  const max = h.maxWeight ?? 1;
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: h.title,
    data: { values },
    facet: { field: 'title', type: 'nominal', title: null, sort: { field: 'panel' } },
    columns: h.columns ?? h.panels.length,
    spec: {
      width: K * cell,
      height: Q * cell,
      mark: 'rect',
      encoding: {
        x: { field: 'k', type: 'ordinal', title: h.keyAxis, axis: { labelExpr: labels(h.keyTokens), labelAngle: 0 } },
        y: { field: 'q', type: 'ordinal', title: h.queryAxis, axis: { labelExpr: labels(h.queryTokens) } },
        // @attend/core's attention scale (linear in RGB between its two end colours), with its legend stops.
        color: {
          field: 'weight',
          type: 'quantitative',
          title: 'weight',
          scale: { domain: [0, max], range: ATTENTION_COLOR_RANGE.map(rgbHex), interpolate: 'rgb' },
          legend: { values: attentionLegendStops(max).map((s) => s.weight), format: '.2f', gradientLength: Math.max(60, Math.min(200, Q * cell)) },
        },
        tooltip: [{ field: 'weight', type: 'quantitative', format: '.3f' }],
      },
    },
    resolve: { axis: { x: 'independent', y: 'independent' } },
  });
}

/** A token as an axis label: spaces made visible. */
export function displayToken(token: string): string {
  return token === ' ' ? '␣' : token.replace(/ /g, '␣');
}

/** One measured training configuration of a scaling benchmark. */
export interface ScalingPoint {
  /** Trainable parameters of the model. */
  parameters: number;
  tokensPerSecond: number;
  peakRssMiB: number;
  /** The series the point belongs to, e.g. `ctx 64, 2 workers`. */
  series: string;
}

/**
 * Training cost against model size: tokens/s (top) and peak RSS (bottom) against the
 * parameters, both axes log-scale, one line per series.
 */
export function scalingSvg(title: string, points: ScalingPoint[]): Promise<string> {
  const panel = (field: 'tokensPerSecond' | 'peakRssMiB', axis: string) => ({
    width: 520,
    height: 220,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'parameters', type: 'quantitative' as const, title: 'parameters (log scale)', scale: { type: 'log' as const } },
      y: { field, type: 'quantitative' as const, title: axis, scale: { type: 'log' as const } },
      color: { field: 'series', type: 'nominal' as const, title: null, legend: { labelLimit: 0 } },
    },
  });
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    vconcat: [panel('tokensPerSecond', 'training tokens/s (log scale)'), panel('peakRssMiB', 'peak RSS, MiB (log scale)')],
  });
}
