// `attend train --task cluttered-digits --images digits8x8.csv`: the where-to-look task. The
// digit rows of the file are split first (trainDevSplit), so the dev canvases show digits the
// training canvases never do; each part then becomes canvases of one translated digit (core's
// clutteredDigits: canvas size, digit size, rotation, clutter fragments), values in [0, 1].

import { clutteredDigits, ConfigError, DIGIT_SIZE, trainDevSplit, type ClutteredDigitsOptions, type LabeledFeatures } from '@attend/core';
import { CliError } from './errors.js';
import type { ImageData } from './train-data.js';

export const CLUTTERED_DIGITS_TASK = 'cluttered-digits';

/** The task's flags (core's defaults when absent: a 32 × 32 canvas, 8-pixel digits, no rotation, no clutter). */
export interface ClutteredDigitsFlags {
  canvasSize?: number;
  digitSize?: number;
  rotate?: number;
  clutter?: number;
}

const FLAG_OF_OPTION: Record<string, string> = { size: '--canvas-size', digitSize: '--digit-size', rotate: '--rotate', clutter: '--clutter', fragmentSize: '--digit-size' };

/** Share of the digit rows whose canvases form the dev set. */
const DEV_ROWS = 0.2;

/** The canvases of one digit set, as labelled images. */
function canvases(rows: readonly LabeledFeatures[], options: ClutteredDigitsOptions): LabeledFeatures[] {
  try {
    return clutteredDigits(rows, options).map((c) => ({ features: Array.from(c.pixels), label: c.label }));
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`${FLAG_OF_OPTION[error.field] ?? error.field}: ${error.message.replace(/^[^:]*: /, '')}`, 2);
    throw error;
  }
}

/**
 * Training canvases (`examples` of them) from 80 % of the 8 × 8 digit rows in `digits`, dev
 * canvases (`devSize`) from the other 20 %; 10 classes, pixelScale 1.
 */
export function clutteredDigitsData(digits: ImageData, flags: ClutteredDigitsFlags, opts: { examples: number; devSize: number; seed: number; source: string }): ImageData & { dev: LabeledFeatures[] } {
  if (digits.numChannels !== 1 || digits.imageSize !== DIGIT_SIZE) {
    throw new CliError(`${opts.source}: --task ${CLUTTERED_DIGITS_TASK} draws 8 × 8 digits (digits8x8.csv rows of 64 values), got ${digits.numChannels} × ${digits.imageSize} × ${digits.imageSize}`, 2);
  }
  const { train, dev } = trainDevSplit(digits.images, { devFraction: DEV_ROWS, seed: opts.seed });
  if (train.length < 2 || dev.length < 2) throw new CliError(`${opts.source}: too few digits (${digits.images.length}) for disjoint train and dev digits`);
  const options = { size: flags.canvasSize, digitSize: flags.digitSize, rotate: flags.rotate, clutter: flags.clutter };
  const images = canvases(train, { ...options, count: opts.examples, seed: opts.seed });
  return {
    images,
    dev: canvases(dev, { ...options, count: opts.devSize, seed: opts.seed + 1 }),
    numClasses: digits.numClasses,
    imageSize: Math.sqrt(images[0]!.features.length),
    numChannels: 1,
    pixelScale: 1,
  };
}
