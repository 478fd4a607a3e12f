// PNG files as image inputs of `attend infer` and `attend attention`: an input that names a
// .png file is read (pngjs) and becomes the CSV line of pixel values the image inputs take —
// luminance for a one-channel model, R, G, B for three — scaled from 0–255 to the model's raw
// range (255 ↦ 1 / pixelScale), so a digit drawn white on black reads as the training canvases do.

import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import type { ImageClassifierConfig } from '@attend/core';
import { CliError } from './errors.js';

/** Whether an input names a PNG file (by its extension). */
export const isPngPath = (input: string): boolean => /\.png$/i.test(input.trim());

/** The CSV line of pixel values (channel, row, column) of the PNG at `path`, which must be imageSize × imageSize. */
export async function pngLine(path: string, config: ImageClassifierConfig): Promise<string> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`${path}: cannot read the image (${error.code ?? error.message})`);
  });
  const S = config.imageSize;
  // The header's size first (IHDR: width and height at bytes 16–23), so that a file claiming a huge image is refused before it is decoded.
  if (bytes.length >= 24 && bytes.readUInt32BE(12) === 0x49484452) {
    const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    if (width !== S || height !== S) throw new CliError(`${path}: ${width}×${height} pixels; the model takes ${S}×${S} images`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (error) {
    throw new CliError(`${path}: not a valid PNG (${(error as Error).message})`);
  }
  if (png.width !== S || png.height !== S) throw new CliError(`${path}: ${png.width}×${png.height} pixels; the model takes ${S}×${S} images`);
  const C = config.numChannels;
  if (C !== 1 && C !== 3) throw new CliError(`${path}: a PNG gives 1 (grey) or 3 (RGB) channels; the model takes ${C}`);
  const scale = 1 / (255 * config.pixelScale);
  const values = new Array<string>(C * S * S);
  for (let i = 0; i < S * S; i++) {
    const [r, g, b, a] = [png.data[4 * i]!, png.data[4 * i + 1]!, png.data[4 * i + 2]!, png.data[4 * i + 3]! / 255];
    // Transparent pixels read as black (the canvases' background).
    if (C === 1) values[i] = String(((0.299 * r + 0.587 * g + 0.114 * b) * a * scale).toFixed(4));
    else [r, g, b].forEach((v, c) => (values[c * S * S + i] = String((v * a * scale).toFixed(4))));
  }
  return values.join(',');
}

/** `lines` with every PNG path replaced by its pixel values' CSV line. */
export async function withPngLines(lines: readonly string[], config: ImageClassifierConfig): Promise<string[]> {
  return Promise.all(lines.map((line) => (isPngPath(line) ? pngLine(line.trim(), config) : line)));
}
