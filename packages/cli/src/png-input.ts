// PNG files as image inputs of `attend infer` and `attend attention`: an input that names a
// .png file is read (pngjs) and becomes the CSV line of pixel values the image inputs take —
// luminance for a one-channel model, R, G, B for three — scaled from 0–255 to the model's raw
// range (255 ↦ 1 / pixelScale), so a digit drawn white on black reads as the training canvases do.
// Image classifiers take S × S images, the image-captioner H × W scenes of one channel.

import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import type { ImageClassifierConfig, ImageToTextConfig } from '@attend/core';
import { CliError } from './errors.js';

/** Whether an input names a PNG file (by its extension). */
export const isPngPath = (input: string): boolean => /\.png$/i.test(input.trim());

/** The models a PNG feeds: image classifiers (S × S, C channels) and the captioners (H × W, one channel). */
export type PngModelConfig = ImageClassifierConfig | ImageToTextConfig;

/** The image a model takes: height, width, channels. */
function pngShape(config: PngModelConfig): { height: number; width: number; channels: number } {
  return 'imageSize' in config ? { height: config.imageSize, width: config.imageSize, channels: config.numChannels } : { height: config.imageHeight, width: config.imageWidth, channels: 1 };
}

/** The CSV line of pixel values (channel, row, column) of the PNG at `path`, which must have the model's image size. */
export async function pngLine(path: string, config: PngModelConfig): Promise<string> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`${path}: cannot read the image (${error.code ?? error.message})`);
  });
  const { height, width, channels: C } = pngShape(config);
  const wrongSize = (w: number, h: number) => new CliError(`${path}: ${w}×${h} pixels; the model takes ${width}×${height} images`);
  // The header's size first (IHDR: width and height at bytes 16–23), so that a file claiming a huge image is refused before it is decoded.
  if (bytes.length >= 24 && bytes.readUInt32BE(12) === 0x49484452) {
    const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    if (w !== width || h !== height) throw wrongSize(w, h);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (error) {
    throw new CliError(`${path}: not a valid PNG (${(error as Error).message})`);
  }
  if (png.width !== width || png.height !== height) throw wrongSize(png.width, png.height);
  if (C !== 1 && C !== 3) throw new CliError(`${path}: a PNG gives 1 (grey) or 3 (RGB) channels; the model takes ${C}`);
  const scale = 1 / (255 * config.pixelScale);
  const N = width * height;
  const values = new Array<string>(C * N);
  for (let i = 0; i < N; i++) {
    const [r, g, b, a] = [png.data[4 * i]!, png.data[4 * i + 1]!, png.data[4 * i + 2]!, png.data[4 * i + 3]! / 255];
    // Transparent pixels read as black (the canvases' background).
    if (C === 1) values[i] = String(((0.299 * r + 0.587 * g + 0.114 * b) * a * scale).toFixed(4));
    else [r, g, b].forEach((v, c) => (values[c * N + i] = String((v * a * scale).toFixed(4))));
  }
  return values.join(',');
}

/** `lines` with every PNG path replaced by its pixel values' CSV line. */
export async function withPngLines(lines: readonly string[], config: PngModelConfig): Promise<string[]> {
  return Promise.all(lines.map((line) => (isPngPath(line) ? pngLine(line.trim(), config) : line)));
}
