// The captioner's page beyond painting: a scene drawn from the digit-scenes test set, stepping
// through a caption word by word, and a vision-encoder-decoder's layer and head. The page has no
// digits of its own (the browser cannot read ../shared/data, and the playground ships no data):
// the user gives it digits8x8.csv, and the scenes come from that file's test rows — core's
// digitRowsOf split, digits no training run saw — drawn by core's digitScenes on the model's
// canvas, scene n being the first scene `attend eval --seed n` scores on that canvas. A hard-attention
// export also offers its two test-time readings (arg-max location or expectation).

import { digitRowsOf, digitScenes, hardReading, parseCsvClassification, type DigitScene, type HardInference, type LabeledFeatures, type ModelConfig } from '@attend/core';
import { USE_EXPECTATION } from '@attend/runtime-onnx';

/** The side of a digits8x8.csv digit, and its values per row. */
const DIGIT_SIDE = 8;

/** The test digits of a digits8x8.csv file's text (64 pixel values 0–16 and the label per row); an Error naming `name` and the problem. */
export function testDigits(text: string, name: string): LabeledFeatures[] {
  const rows = parseCsvClassification(text, { source: name });
  if (rows.length < 10) throw new Error(`${name}: ${rows.length} rows are too few to split into train, dev and test digits; give at least 10`);
  const bad = rows.findIndex((r) => r.features.length !== DIGIT_SIDE * DIGIT_SIDE);
  if (bad >= 0) throw new Error(`${name}: row ${bad + 1} has ${rows[bad]!.features.length} pixel values, expected 64 (8 × 8)`);
  return digitRowsOf(rows, 'test');
}

/**
 * Test scene `n` for a model's canvas: 1–4 test digits (as many as fit side by side), no clutter,
 * seeded as `attend eval --seed n` seeds its first batch (caption-eval.ts), so it is the first
 * scene that command scores. Pixels in [0, 1]; the caption is the digits' names left to right.
 */
export function testScene(digits: readonly LabeledFeatures[], canvas: { imageHeight: number; imageWidth: number }, n: number): DigitScene {
  if (!Number.isInteger(n) || n < 0) throw new Error(`scene number: ${n} is not a whole number ≥ 0`);
  if (canvas.imageHeight < DIGIT_SIDE || canvas.imageWidth < DIGIT_SIDE) throw new Error(`a ${canvas.imageHeight} × ${canvas.imageWidth} canvas cannot hold an 8 × 8 digit`);
  const maxDigits = Math.min(4, Math.floor(canvas.imageWidth / DIGIT_SIDE));
  return digitScenes(digits, { count: 1, seed: n * 1_000_003, height: canvas.imageHeight, width: canvas.imageWidth, minDigits: 1, maxDigits, clutter: 0 })[0]!;
}

/** Which word of a caption's `count` panels is shown: `at` moved by `by` and kept within 0 … count − 1. */
export function stepWord(at: number, by: number, count: number): number {
  return count === 0 ? 0 : Math.min(count - 1, Math.max(0, at + by));
}

/** The label of word `at` of `words`: "word 2 of 3: one". */
export function wordLabel(words: readonly string[], at: number): string {
  return words.length === 0 ? 'no words' : `word ${at + 1} of ${words.length}: ${words[at]}`;
}

/**
 * The choices of the layer and head a captioner's panels show: one option per cross-attention
 * layer (the last one first selected) and per head after "mean of the heads"; none for the LSTM
 * captioner (one attention, no heads). `value` '' stands for the default.
 */
export function attentionChoices(layers: number, heads: number): { layers: { value: string; label: string }[]; heads: { value: string; label: string }[] } {
  if (layers <= 1 && heads <= 1) return { layers: [], heads: [] };
  return {
    layers: Array.from({ length: layers }, (_, l) => ({ value: l === layers - 1 ? '' : String(l), label: `layer ${l}${l === layers - 1 ? ' (last)' : ''}` })),
    heads: [{ value: '', label: 'mean of the heads' }, ...Array.from({ length: heads }, (_, h) => ({ value: String(h), label: `head ${h}` }))],
  };
}

/** A layer/head select's value as the pick captionScene takes (undefined: the default). */
export function pickedIndex(value: string): number | undefined {
  return value === '' ? undefined : Number(value);
}

/**
 * The test-time readings a captioner export offers (hard attention: the arg-max location, the
 * expected context), given its decoder step's input names; undefined for any other captioner (no
 * choice to show). A hard export made before its decoder step took `use_expectation` reads the
 * arg-max only, and `note` says why.
 */
export function readingChoices(config: ModelConfig, decoderInputs: readonly string[]): { readings: HardInference[]; note?: string } | undefined {
  if (!hardReading(config)) return undefined;
  if (decoderInputs.includes(USE_EXPECTATION)) return { readings: ['argmax', 'expectation'] };
  return { readings: ['argmax'], note: `arg-max only: this export's decoder step has no '${USE_EXPECTATION}' input (export the checkpoint again to read the expectation)` };
}
