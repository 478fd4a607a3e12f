// The captioning data of `attend train --task digit-scenes`: scenes of digits from a
// digits8x8.csv file (--digits-csv), drawn by core's digitScenes and captioned with the digits'
// names. The rows of the file are split three ways by index (8 of every 10 for training scenes,
// 1 for dev scenes, 1 for test scenes), so dev and test digits are never seen in training.

import { digitRowsOf, digitScenes, readCsvClassification, type DigitScenesOptions, type LabeledFeatures } from '@attend/core';
import { CliError } from './errors.js';

/** Most fragments of clutter per scene. */
const MAX_CLUTTER = 100;

/** The --task name of the digit-scenes captioning task. */
export const DIGIT_SCENES_TASK = 'digit-scenes';

export interface CaptionFlags {
  /** digits8x8.csv: the digit images the scenes are drawn from. */
  digitsCsv?: string;
  /** Canvas as HEIGHTxWIDTH (default 24x48). */
  canvas?: string;
  /** Digits per scene as MIN-MAX or N (default 1-4). */
  sceneDigits?: string;
  /** Fragments of other digits per scene (default 0). */
  clutter?: number;
}

/** The scene options the flags ask for (checked; usage errors name the flag). */
export function sceneShape(o: CaptionFlags): Required<Pick<DigitScenesOptions, 'height' | 'width' | 'minDigits' | 'maxDigits' | 'clutter'>> {
  const canvas = /^(\d+)x(\d+)$/.exec(o.canvas ?? '24x48');
  if (!canvas) throw new CliError(`--canvas: ${JSON.stringify(o.canvas)} is not HEIGHTxWIDTH (e.g. 24x48)`, 2);
  const digits = /^(\d+)(?:-(\d+))?$/.exec(o.sceneDigits ?? '1-4');
  if (!digits) throw new CliError(`--scene-digits: ${JSON.stringify(o.sceneDigits)} is not N or MIN-MAX (e.g. 1-4)`, 2);
  const [height, width] = [Number(canvas[1]), Number(canvas[2])];
  const [minDigits, maxDigits] = [Number(digits[1]), Number(digits[2] ?? digits[1])];
  if (height < 8 || width < 8 || height * width > 1 << 16) throw new CliError(`--canvas: ${height}x${width} is outside 8x8 to 65,536 pixels`, 2);
  if (minDigits < 1 || maxDigits < minDigits) throw new CliError(`--scene-digits: ${o.sceneDigits} needs 1 <= MIN <= MAX`, 2);
  if (maxDigits * 8 > width) throw new CliError(`--scene-digits: ${maxDigits} digits of 8 px do not fit side by side in a canvas ${width} wide`, 2);
  const clutter = o.clutter ?? 0;
  if (clutter > MAX_CLUTTER) throw new CliError(`--clutter: ${clutter} is over the limit of ${MAX_CLUTTER} fragments per scene`, 2);
  return { height, width, minDigits, maxDigits, clutter };
}

/** Scenes of one split: pixels in [0, 1] and captions. */
export interface SceneSplit {
  images: { pixels: Float32Array; caption: string }[];
  /** Each scene's digit count, for reporting by count. */
  counts: number[];
}

/** `count` scenes of `split` with the flags' shape, seeded (train, dev and test seeds differ). */
export function sceneSplit(rows: readonly LabeledFeatures[], split: 'train' | 'dev' | 'test', count: number, seed: number, o: CaptionFlags): SceneSplit {
  const offset = { train: 0, dev: 1, test: 2 }[split];
  const scenes = digitScenes(digitRowsOf(rows, split), { count, seed: seed * 3 + offset, ...sceneShape(o) });
  return { images: scenes.map((s) => ({ pixels: s.pixels, caption: s.caption })), counts: scenes.map((s) => s.labels.length) };
}

/** Reads --digits-csv (a usage error when it is missing). */
export async function readDigits(o: CaptionFlags): Promise<LabeledFeatures[]> {
  if (o.digitsCsv === undefined) throw new CliError(`--task ${DIGIT_SCENES_TASK} needs --digits-csv FILE (digits8x8.csv: 64 pixel values 0–16 and the label per row)`, 2);
  const rows = await readCsvClassification(o.digitsCsv);
  if (rows.length < 10) throw new CliError(`${o.digitsCsv}: ${rows.length} rows are too few to split into train, dev and test digits; give at least 10`);
  const bad = rows.findIndex((r) => r.features.length !== 64);
  if (bad >= 0) throw new CliError(`${o.digitsCsv}: row ${bad + 1} has ${rows[bad]!.features.length} pixel values, expected 64 (8 × 8)`);
  return rows;
}
