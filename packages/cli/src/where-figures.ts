// The figures of bench:where (issue 17, "Where to look"): the test accuracy of every model on
// the translated and the cluttered canvases side by side, and what each model looked at on the
// same few test canvases — the STN's sampling grid and the image it read (stn-figure.ts), the
// RAM's glimpses step by step (glimpse-figure.ts), the ViT's attention rollout over its patches
// (core's caption figure, one panel per canvas), the plain classifier's canvas alone — each
// drawn from the maps `attend attention` shows (the kind's `attention.checkpoint`) and all of
// them for one sheet (figure-sheet.ts), a row per model.

import { captionAttentionSvg, imageConfig, type CaptionAttentionRow } from '@attend/core';
import type { AttendModel } from '@attend/transformer';
import { NothingToDrawError } from './errors.js';
import { glimpseSvg } from './glimpse-figure.js';
import type { Transformer } from './models/kind.js';
import { cliKind } from './models/registry.js';
import { render } from './plots.js';
import { stnFigureSvg } from './stn-figure.js';

/** One row of bench:where's results, as much of it as the accuracy chart reads. */
export interface WhereResult {
  /** The data set: 'translated' or 'cluttered'. */
  data: string;
  model: string;
  /** Held-out accuracy in [0, 1]. */
  accuracy: number;
}

/** The order of the data sets in the chart; others follow in the order of the results. */
const DATA_ORDER = ['translated', 'cluttered'];

/** The letter of a model named after the parts, `(a) canvas MLP` → 'a'; '' for other names. */
const part = (model: string): string => /^\((\w)\)/.exec(model)?.[1] ?? '';

/**
 * Grouped bars of the test accuracy: one group per model (in the order of `results`, those
 * named `(a) …` to `(d) …` in the order of their letters), one bar per data set, and the accuracy
 * of guessing (`chance`, 1 / classes) as a dashed rule labelled at its right end.
 */
export function accuracyChartSvg(results: readonly WhereResult[], title: string, chance: number): Promise<string> {
  const models = [...new Set(results.map((r) => r.model))].sort((a, b) => part(a).localeCompare(part(b)));
  const data = [...new Set([...DATA_ORDER.filter((d) => results.some((r) => r.data === d)), ...results.map((r) => r.data)])];
  const values = results.map((r) => ({ model: r.model, data: r.data, accuracy: r.accuracy }));
  const x = { field: 'model', type: 'nominal', sort: models, title: null, axis: { labelAngle: -25, labelLimit: 0 } } as const;
  const xOffset = { field: 'data', type: 'nominal', sort: data } as const;
  const y = { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } } as const;
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: { step: 28, for: 'offset' },
    height: 260,
    layer: [
      {
        data: { values },
        mark: 'bar',
        encoding: { x, xOffset, y, color: { field: 'data', type: 'nominal', sort: data, title: 'canvases' } },
      },
      {
        data: { values },
        mark: { type: 'text', dy: -5, fontSize: 9 },
        encoding: { x, xOffset, y, text: { field: 'accuracy', type: 'quantitative', format: '.1%' } },
      },
      {
        data: { values: [{ chance, label: `chance ${+(100 * chance).toFixed(1)} %` }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [5, 4], color: '#555' }, encoding: { y: { field: 'chance', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, x: { expr: 'width' }, color: '#555' }, encoding: { y: { field: 'chance', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  } as never);
}

/** A test canvas: its pixels [S, S] (values in [0, 1]) and its true class. */
export interface WhereCanvas {
  pixels: Float32Array;
  label: number;
}

/**
 * What `model` (trained, in memory) looked at on each of `canvases`: its figures, one per
 * canvas (STN, RAM) or one for all of them (ViT, plain classifier), each panel titled with
 * `name`, the canvas's true class and the class predicted.
 */
export async function whereFigures(t: Transformer, model: AttendModel, name: string, canvases: readonly WhereCanvas[]): Promise<string[]> {
  const config = imageConfig(model.config, name);
  const S = config.imageSize;
  const pixels = new Float32Array(canvases.length * S * S);
  canvases.forEach((c, i) => pixels.set(c.pixels, i * S * S));
  const predictions = await t.classify(model, t.imageTrainBatch(pixels, new Int32Array(canvases.length), config).input);
  const titles = canvases.map((c, i) => {
    const { label, probabilities } = predictions[i]!;
    return `${name} · canvas ${i + 1} · true ${c.label} · predicted ${label} (p = ${probabilities[label]!.toFixed(2)})`;
  });
  const row = (c: WhereCanvas, i: number): CaptionAttentionRow => ({ pixels: c.pixels, height: S, width: S, grid: { rows: 1, cols: 1, window: S, stride: S }, label: titles[i]!, words: [], alphas: [], hard: false });
  const figures: string[] = [];
  const rollouts: CaptionAttentionRow[] = [];
  let grid = 0;
  for (const [i, c] of canvases.entries()) {
    const drawn = await cliKind(config)
      .attention.checkpoint(t, model, config, undefined, Array.from(c.pixels).join(','))
      .catch((e: unknown) => {
        if (e instanceof NothingToDrawError) return undefined;
        throw e;
      });
    // A kind with nothing to draw (the plain classifier reads every pixel): the canvases alone.
    if (drawn === undefined) return [captionAttentionSvg(canvases.map(row), `${name}: reads the whole canvas`, { px: 4 })];
    const rollout = drawn.sets.find((s) => s.name === 'rollout');
    if (drawn.stn) {
      figures.push(await stnFigureSvg({ ...drawn.stn, title: titles[i]! }));
    } else if (drawn.glimpses) {
      figures.push(glimpseSvg(drawn.glimpses.config, drawn.glimpses.pixels, drawn.glimpses.locations, titles[i]!));
    } else if (rollout) {
      // The rollout is over the G × G patch grid (its key tokens are the grid's columns): each patch S / G pixels wide.
      grid = rollout.keyTokens.length;
      const patch = S / grid;
      rollouts.push({ ...row(c, i), grid: { rows: grid, cols: grid, window: patch, stride: patch }, words: ['rollout'], alphas: [rollout.layers[0]!] });
    } else {
      throw new Error(`${name}: a ${config.preset} has no map bench:where can draw`);
    }
  }
  if (rollouts.length > 0) figures.push(captionAttentionSvg(rollouts, `${name}: the CLS token's attention rollout over ${grid}×${grid} patches`, { px: 4 }));
  return figures;
}
