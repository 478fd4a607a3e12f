// PNG inputs: pixel values in the model's raw range, the size checked from the header before
// decoding (a file that claims a huge image is refused without allocating it), one-line errors.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, type ImageClassifierConfig } from '@attend/core';
import { CliError } from './errors.js';
import { isPngPath, pngLine, withPngLines } from './png-input.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-png-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (pixelScale: number): ImageClassifierConfig => createModelConfig({ preset: 'canvas-classifier', numClasses: 10, imageSize: 2, pixelScale });

async function png(name: string, width: number, height: number, rgba: number[]): Promise<string> {
  const image = new PNG({ width, height });
  image.data.set(rgba);
  const path = join(dir, name);
  await writeFile(path, PNG.sync.write(image));
  return path;
}

describe('PNG inputs', () => {
  it('give luminance × alpha scaled to the raw range (255 ↦ 1 / pixelScale), row by row', async () => {
    const path = await png('a.png', 2, 2, [255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255, 255, 255, 255, 0]);
    expect(await pngLine(path, config(1))).toBe('1.0000,0.0000,0.2990,0.0000');
    expect(await pngLine(path, config(1 / 16))).toBe('16.0000,0.0000,4.7840,0.0000');
    expect(await withPngLines(['0,1,2,3', path], config(1))).toEqual(['0,1,2,3', '1.0000,0.0000,0.2990,0.0000']);
    expect(isPngPath(' digit.PNG ')).toBe(true);
    expect(isPngPath('0,1,2,3')).toBe(false);
  });

  it('refuse another size (from the header, before decoding), a broken file and a missing one in one line', async () => {
    const big = await png('big.png', 3, 3, new Array(36).fill(255));
    await expect(pngLine(big, config(1))).rejects.toThrow(new CliError(`${big}: 3×3 pixels; the model takes 2×2 images`));
    // A header that claims 100,000 × 100,000 pixels and no image data: refused by its header.
    const header = Buffer.from(PNG.sync.write(new PNG({ width: 2, height: 2 })).subarray(0, 33));
    header.writeUInt32BE(100_000, 16);
    header.writeUInt32BE(100_000, 20);
    const huge = join(dir, 'huge.png');
    await writeFile(huge, header);
    await expect(pngLine(huge, config(1))).rejects.toThrow(/100000×100000 pixels; the model takes 2×2 images/);
    const broken = join(dir, 'broken.png');
    await writeFile(broken, 'not a png');
    await expect(pngLine(broken, config(1))).rejects.toThrow(/broken\.png: not a valid PNG/);
    await expect(pngLine(join(dir, 'none.png'), config(1))).rejects.toThrow(/none\.png: cannot read the image \(ENOENT\)/);
  });
});
