// Canvases of digits8x8.csv digits, built in code, for the seeds' visual attention tasks.
//
// Cluttered, translated (and optionally scaled and rotated) digits: the task of the seeds'
// "where to look" models. Mnih et al. (2014, recurrent models of visual attention) place one
// digit at a random position of a larger canvas and scatter fragments of other digits over it;
// Jaderberg et al. (2015, spatial transformer networks) also rotate and scale it. Here the
// digits are the 8 × 8 images of digits8x8.csv (values 0–16), so every canvas is built in code
// from rows the caller picks — train and test canvases from disjoint rows.

import { ConfigError, DataError } from '../errors.js';
import { createRng } from '../random.js';
import type { LabeledFeatures } from './pairs.js';

/** Side of the source digit images (digits8x8.csv). */
export const DIGIT_SIZE = 8;
/** Largest value of a digits8x8.csv pixel; canvases are scaled to [0, 1] by it. */
export const DIGIT_MAX_VALUE = 16;

export interface ClutteredDigitsOptions {
  /** Canvases to make. */
  count: number;
  seed: number;
  /** Canvas side in pixels; default 32. */
  size?: number;
  /** Digit side on the canvas: 8 (as stored) or a larger size by bilinear scaling; default 8. */
  digitSize?: number;
  /** Largest rotation in degrees (uniform in ±rotate); default 0. */
  rotate?: number;
  /** Fragments of other digits scattered over the canvas; default 0. */
  clutter?: number;
  /** Side of a clutter fragment in canvas pixels; default digitSize / 2. */
  fragmentSize?: number;
}

export interface ClutteredDigit {
  /** size × size pixels in [0, 1], row-major. */
  pixels: Float32Array;
  label: number;
  /** Where the digit's (unrotated) square lies: top-left corner and side, in pixels. */
  box: { x: number; y: number; size: number };
  /** The rotation applied, in degrees. */
  angle: number;
}

/** Canvases of one digit each from `digits` (rows of digits8x8.csv: 64 features and a label). */
export function clutteredDigits(digits: readonly LabeledFeatures[], options: ClutteredDigitsOptions): ClutteredDigit[] {
  const size = options.size ?? 32;
  const digitSize = options.digitSize ?? DIGIT_SIZE;
  const rotate = options.rotate ?? 0;
  const clutter = options.clutter ?? 0;
  const fragmentSize = options.fragmentSize ?? Math.max(1, Math.floor(digitSize / 2));
  checkInt('count', options.count, 0);
  checkInt('size', size, 1);
  checkInt('digitSize', digitSize, 1);
  checkInt('clutter', clutter, 0);
  checkInt('fragmentSize', fragmentSize, 1);
  if (digitSize > size) throw new ConfigError('digitSize', `${digitSize} does not fit a canvas of ${size}`);
  if (fragmentSize > digitSize) throw new ConfigError('fragmentSize', `${fragmentSize} is larger than the digit (${digitSize})`);
  if (!(rotate >= 0 && rotate <= 180)) throw new ConfigError('rotate', `${rotate} is not allowed; expected degrees in [0, 180]`);
  const images = digitImages(digits, digitSize, clutter);
  const rng = createRng(options.seed);
  const out: ClutteredDigit[] = [];
  for (let n = 0; n < options.count; n++) {
    const index = rng.int(digits.length);
    const pixels = new Float32Array(size * size);
    for (let f = 0; f < clutter; f++) {
      let other = rng.int(digits.length - 1);
      if (other >= index) other += 1;
      const sx = rng.int(digitSize - fragmentSize + 1);
      const sy = rng.int(digitSize - fragmentSize + 1);
      draw(pixels, size, images[other]!, digitSize, rng.int(size - fragmentSize + 1), rng.int(size - fragmentSize + 1), { x: sx, y: sy, size: fragmentSize });
    }
    const angle = rotate > 0 ? (2 * rng.next() - 1) * rotate : 0;
    const digit = angle === 0 ? images[index]! : rotated(images[index]!, digitSize, angle);
    const x = rng.int(size - digitSize + 1);
    const y = rng.int(size - digitSize + 1);
    draw(pixels, size, digit, digitSize, x, y);
    out.push({ pixels, label: digits[index]!.label, box: { x, y, size: digitSize }, angle });
  }
  return out;
}

export interface DigitScenesOptions {
  /** Scenes to make. */
  count: number;
  seed: number;
  /** Canvas height and width; default 24 × 48. */
  height?: number;
  width?: number;
  /** Digits per scene, drawn uniformly from [minDigits, maxDigits]; default 1–4. */
  minDigits?: number;
  maxDigits?: number;
  /** Digit side on the canvas (8, or larger by bilinear scaling); default 8. */
  digitSize?: number;
  /** Fragments of other digits scattered over the canvas; default 0. */
  clutter?: number;
}

export interface DigitScene {
  /** height × width pixels in [0, 1], row-major. */
  pixels: Float32Array;
  /** The digits' labels, left to right. */
  labels: number[];
  /** The caption: the labels as English words, left to right ("three one four"). */
  caption: string;
  /** Each digit's square, left to right. */
  boxes: { x: number; y: number; size: number }[];
}

/** English words of the digits 0–9, as captions spell them. */
export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

/**
 * Scenes of 1–4 digits side by side at random, non-overlapping horizontal positions with
 * vertical jitter, captioned by the digits' names left to right: the image-captioning task of
 * the seeds (Show, Attend and Tell), where attention should follow the digits as the words go.
 */
export function digitScenes(digits: readonly LabeledFeatures[], options: DigitScenesOptions): DigitScene[] {
  const height = options.height ?? 24;
  const width = options.width ?? 48;
  const minDigits = options.minDigits ?? 1;
  const maxDigits = options.maxDigits ?? 4;
  const digitSize = options.digitSize ?? DIGIT_SIZE;
  const clutter = options.clutter ?? 0;
  const fragmentSize = Math.max(1, Math.floor(digitSize / 2));
  checkInt('count', options.count, 0);
  checkInt('minDigits', minDigits, 1);
  checkInt('maxDigits', maxDigits, minDigits);
  checkInt('clutter', clutter, 0);
  checkInt('digitSize', digitSize, 1);
  if (digitSize > height) throw new ConfigError('digitSize', `${digitSize} does not fit a canvas ${height} high`);
  if (maxDigits * digitSize > width) throw new ConfigError('maxDigits', `${maxDigits} digits of ${digitSize} px do not fit side by side in a canvas ${width} wide`);
  const images = digitImages(digits, digitSize, clutter);
  const rng = createRng(options.seed);
  const scenes: DigitScene[] = [];
  for (let n = 0; n < options.count; n++) {
    const pixels = new Float32Array(height * width);
    const count = minDigits + rng.int(maxDigits - minDigits + 1);
    const chosen = Array.from({ length: count }, () => rng.int(digits.length));
    for (let f = 0; f < clutter; f++) {
      const from = images[rng.int(images.length)]!;
      const sx = rng.int(digitSize - fragmentSize + 1);
      const sy = rng.int(digitSize - fragmentSize + 1);
      draw(pixels, width, from, digitSize, rng.int(width - fragmentSize + 1), rng.int(height - fragmentSize + 1), { x: sx, y: sy, size: fragmentSize });
    }
    // Gaps: `count` sorted offsets in [0, free] spread the digits without overlap.
    const free = width - count * digitSize;
    const offsets = Array.from({ length: count }, () => rng.int(free + 1)).sort((a, b) => a - b);
    const boxes = offsets.map((g, i) => ({ x: g + i * digitSize, y: rng.int(height - digitSize + 1), size: digitSize }));
    boxes.forEach((box, i) => draw(pixels, width, images[chosen[i]!]!, digitSize, box.x, box.y));
    const labels = chosen.map((i) => digits[i]!.label);
    scenes.push({ pixels, labels, caption: labels.map((l) => DIGIT_WORDS[l] ?? String(l)).join(' '), boxes });
  }
  return scenes;
}

/**
 * The rows of a digits file that the scenes of `split` are drawn from: of every 10 rows, the first
 * 8 train, the 9th dev and the 10th test, so dev and test digits are never seen in training.
 */
export function digitRowsOf<T>(rows: readonly T[], split: 'train' | 'dev' | 'test'): T[] {
  const keep = (i: number) => (split === 'train' ? i % 10 < 8 : split === 'dev' ? i % 10 === 8 : i % 10 === 9);
  return rows.filter((_, i) => keep(i));
}

/** The digit rows as images of side `digitSize` in [0, 1], checked. */
function digitImages(digits: readonly LabeledFeatures[], digitSize: number, clutter: number): Float32Array[] {
  if (digits.length === 0) throw new DataError('no digit images to draw from');
  if (clutter > 0 && digits.length < 2) throw new DataError('clutter needs at least 2 digit images');
  return digits.map((d, i) => {
    if (d.features.length !== DIGIT_SIZE * DIGIT_SIZE) throw new DataError(`digit ${i} has ${d.features.length} values, expected ${DIGIT_SIZE * DIGIT_SIZE}`);
    return resize(Float32Array.from(d.features, (v) => v / DIGIT_MAX_VALUE), DIGIT_SIZE, digitSize);
  });
}

/** Draws (max) the `crop` of the `side` × `side` image (default all of it) at (x, y) of the canvas `width` wide. */
function draw(canvas: Float32Array, width: number, image: Float32Array, side: number, x: number, y: number, crop = { x: 0, y: 0, size: side }): void {
  for (let r = 0; r < crop.size; r++) {
    for (let c = 0; c < crop.size; c++) {
      const at = (y + r) * width + x + c;
      canvas[at] = Math.max(canvas[at]!, image[(crop.y + r) * side + crop.x + c]!);
    }
  }
}

function checkInt(field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new ConfigError(field, `${value} is not allowed; expected an integer >= ${min}`);
}

/** Bilinear value of the `side` × `side` image at (x, y) in pixel-centre coordinates; 0 outside. */
function bilinear(image: Float32Array, side: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  let value = 0;
  for (const [yy, wy] of [[y0, 1 - (y - y0)], [y0 + 1, y - y0]] as const) {
    for (const [xx, wx] of [[x0, 1 - (x - x0)], [x0 + 1, x - x0]] as const) {
      if (xx >= 0 && xx < side && yy >= 0 && yy < side) value += wy * wx * image[yy * side + xx]!;
    }
  }
  return value;
}

/** `image` (from × from) scaled to to × to by bilinear sampling at aligned pixel centres. */
function resize(image: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return image;
  const out = new Float32Array(to * to);
  const scale = from / to;
  for (let r = 0; r < to; r++) {
    for (let c = 0; c < to; c++) {
      // Clamped to the image, so the border keeps its value rather than fading into 0.
      const y = Math.min(Math.max((r + 0.5) * scale - 0.5, 0), from - 1);
      const x = Math.min(Math.max((c + 0.5) * scale - 0.5, 0), from - 1);
      out[r * to + c] = bilinear(image, from, x, y);
    }
  }
  return out;
}

/** `image` (side × side) rotated by `degrees` (counter-clockwise on screen) about its centre. */
function rotated(image: Float32Array, side: number, degrees: number): Float32Array {
  const out = new Float32Array(side * side);
  const a = (degrees * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const centre = (side - 1) / 2;
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      // Inverse map: the source pixel that lands on (c, r). Rows grow downwards.
      const dx = c - centre;
      const dy = r - centre;
      out[r * side + c] = bilinear(image, side, centre + cos * dx - sin * dy, centre + sin * dx + cos * dy);
    }
  }
  return out;
}
