// `attend attention`: the attention weights of one input as heatmaps — an SVG per kind of
// attention (cross, decoder and encoder self-attention for an encoder–decoder; CLS attention over
// the patch grid, its rollout and self-attention for a vit-classifier; self-attention otherwise) with a panel per layer and head and the tokens on both axes — and a compact
// terminal view of the first kind (each layer, heads averaged, or --head). For an
// stn-classifier: its sampling grid drawn on the input and the image it read (stn-figure.ts).
// (a glimpse-classifier has no attention weights: its figure is the glimpse boxes step by step on the canvas, and the terminal lists the locations)
// A captioner: one panel per generated word with its attention over the scene (core's caption-figure.ts), read from the decoding loop's steps.

import { join } from 'node:path';
import { captionAttentionSvg, modelTask, numAttentionHeads, type AttentionPick } from '@attend/core';
import type { HardInferenceOption } from '../hard-inference.js';
import type { CaptionPick } from '../models/kind.js';
import { headWeights, inputAttention, terminalHeatmap } from '../attention-maps.js';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { attentionHeatmapSvg } from '../plots.js';
import { stnFigureSvg } from '../stn-figure.js';
import { glimpseSvg } from '../glimpse-figure.js';

export interface AttentionCommandOptions extends HardInferenceOption {
  out: string;
  head?: number;
  /** A captioner's figure: this cross-attention layer instead of the last. */
  layer?: number;
  /** Leave out the terminal view. */
  quiet: boolean;
}

/** Writes one SVG per attention kind into `out` (a captioner's: the layer and head `pick` names, read as its hardInference says); returns their paths. */
export async function writeAttentionFigures(model: string, input: string, out: string, pick: CaptionPick = {}) {
  const result = await inputAttention(model, input, pick);
  const files: string[] = [];
  if (result.stn) {
    const file = join(out, 'attention-stn.svg');
    await writeFileAtomic(file, await stnFigureSvg(result.stn));
    files.push(`${file} (the sampling grid on the ${result.stn.inputSize}×${result.stn.inputSize} input, the ${result.stn.outputSize}×${result.stn.outputSize} image read)`);
  }
  if (result.glimpses) {
    const { config, pixels, locations } = result.glimpses;
    const file = join(out, 'attention-glimpses.svg');
    await writeFileAtomic(file, glimpseSvg(config, pixels, locations, `glimpses step by step: image → ${result.output}`));
    files.push(`${file} (${locations.length} glimpses, ${config.numScales} scales)`);
  }
  if (result.caption) {
    const file = join(out, 'attention-caption.svg');
    const kind = result.caption.hard ? 'hard attention: α, and the location taken outlined' : pick.hardInference === 'expectation' ? 'hard attention read as the expectation Σ α a: α' : `soft attention: α${pickLabel(pick)}`;
    await writeFileAtomic(file, captionAttentionSvg([result.caption], `each word's attention over the image (${kind}; the window of each location coloured by its weight)`));
    files.push(`${file} (${result.caption.words.length} words over a ${result.caption.grid.rows}×${result.caption.grid.cols} grid)`);
  }
  for (const set of result.sets) {
    const Q = set.queryTokens.length;
    const K = set.keyTokens.length;
    const title = set.panelTitle ?? ((l: number, h: number) => `layer ${l} · head ${h}`);
    const panels = set.layers.flatMap((_, l) => Array.from({ length: set.numHeads }, (_, h) => ({ title: title(l, h), weights: headWeights(set, l, h) })));
    const svg = await attentionHeatmapSvg({
      title: modelTask(result.config) === 'image-classification' ? `${set.title}: image → ${result.output}` : `${set.title}: "${input}"${result.output !== undefined ? ` → "${result.output}"` : ''}`,
      keyTokens: set.keyTokens,
      queryTokens: set.queryTokens,
      keyAxis: set.keyAxis,
      queryAxis: set.queryAxis,
      panels,
      columns: set.numHeads,
      ...(set.maxWeight !== undefined ? { maxWeight: set.maxWeight } : {}),
    });
    const file = join(out, `attention-${set.name}.svg`);
    await writeFileAtomic(file, svg);
    files.push(`${file} (${set.layers.length} ${set.layers.length === 1 && set.panelTitle ? 'map' : 'layers'} × ${set.numHeads} heads, ${Q}×${K})`);
  }
  return { result, files };
}

/** How a caption figure's title names the layer and head shown, when asked for. */
function pickLabel(pick: AttentionPick): string {
  const parts = [pick.layer === undefined ? undefined : `layer ${pick.layer}`, pick.head === undefined ? undefined : `head ${pick.head}`].filter((p) => p !== undefined);
  return parts.length === 0 ? '' : ` of cross-attention ${parts.join(', ')}`;
}

export async function attentionCommand(model: string, input: string, o: AttentionCommandOptions): Promise<void> {
  const { result, files } = await writeAttentionFigures(model, input, o.out, { ...(o.layer === undefined ? {} : { layer: o.layer }), ...(o.head === undefined ? {} : { head: o.head }), ...(o.hardInference === undefined ? {} : { hardInference: o.hardInference }) });
  const heads = numAttentionHeads(result.config);
  if (o.head !== undefined && o.head >= heads) throw new CliError(`--head: ${o.head} is out of range; the model has ${heads} heads (0–${heads - 1})`, 2);
  if (o.layer !== undefined && !result.caption) throw new CliError('--layer: only a captioner\'s figure takes it (the other figures show every layer)', 2);
  if (result.output !== undefined) console.log(`output: ${result.output}`);
  if (result.stn) console.log(`θ = [${Array.from(result.stn.theta, (t) => t.toFixed(3)).join(', ')}]`);
  if (result.caption && !o.quiet) {
    const { words, alphas, grid } = result.caption;
    words.forEach((word, t) => {
      const alpha = Array.from(alphas[t]!);
      const at = alpha.indexOf(Math.max(...alpha));
      console.log(`${word.padEnd(8)} largest α ${alpha[at]!.toFixed(3)} at row ${Math.floor(at / grid.cols)}, column ${at % grid.cols} of the ${grid.rows}×${grid.cols} grid`);
    });
  }
  if (result.glimpses && !o.quiet) result.glimpses.locations.forEach(([x, y], t) => console.log(`glimpse ${t + 1}: (${x.toFixed(3)}, ${y.toFixed(3)})`));
  if (!o.quiet && result.sets.length > 0) {
    const set = result.sets[0]!;
    set.layers.forEach((_, l) => {
      const scaled = set.maxWeight !== undefined ? `; darkest = ${set.maxWeight.toFixed(3)}` : '';
      console.log(`\n${set.title}, layer ${l}, ${o.head === undefined ? 'mean of the heads' : `head ${o.head}`} (rows: ${set.queryAxis}; columns: ${set.keyAxis}${scaled})`);
      console.log(terminalHeatmap(set, headWeights(set, l, o.head)));
    });
    console.log('');
  }
  for (const file of files) console.log(`wrote ${file}`);
}
