// The playground's vit-classifier pieces: classifyImage gives runtime-onnx's classifyImages
// result, the CLS and rollout matrices read the attention outputs as the patch grid (rows of
// the rollout sum to what core's attentionRollout gives), and the brush paints what it says.

import { describe, expect, it } from 'vitest';
import { attentionRollout, clsAttentionGrid, configAs } from '@attend/core';
import { classifyImages, createOnnxModel } from '@attend/runtime-onnx/node';
import { classifyImage, clsMatrix, imageMatrix, paint, pixelMax, rolloutMatrix } from './image.js';
import { memoryFolderFiles, readModelFolder } from './model-folder.js';
import { tinyVitExport } from './test-utils/fixtures.js';

async function load() {
  const folder = await readModelFolder(memoryFolderFiles(await tinyVitExport()), 'v/');
  return { folder, model: await createOnnxModel(folder.graphs['onnx/model.onnx']!) };
}

describe('vit-classifier in the playground', () => {
  it('classifies like runtime-onnx classifyImages and keeps each layer’s attention [H, T, T]', async () => {
    const { folder, model } = await load();
    const c = configAs(folder.config, ['vit-classifier'], 'the vit tests');
    expect(folder.tokenizer).toBeUndefined();
    expect(folder.hasAttention).toBe(true);
    let pixels: Float32Array = new Float32Array(64);
    for (const [r, col] of [[1, 1], [2, 5], [6, 3]] as const) pixels = paint(c, pixels, r, col);
    const r = await classifyImage(model, pixels);
    const [expected] = await classifyImages(model, pixels, 1);
    expect(r.label).toBe(expected!.label);
    expect(Array.from(r.probabilities)).toEqual(Array.from(expected!.probabilities).map((p) => expect.closeTo(p, 6)));
    expect(r.layers).toHaveLength(2);
    for (const layer of r.layers) expect(layer).toHaveLength(2 * 17 * 17);
    // CLS row of layer 1, head 1, without CLS itself, as the 4×4 grid.
    const m = clsMatrix(c, r, 1, 1);
    expect([m.rows, m.cols]).toEqual([4, 4]);
    expect(Array.from(m.values)).toEqual(Array.from(r.layers[1]!.subarray(17 * 17 + 1, 17 * 17 + 17)));
    const nested = r.layers.map((a) => [0, 1].map((h) => Array.from({ length: 17 }, (_, q) => Array.from(a.subarray((h * 17 + q) * 17, (h * 17 + q + 1) * 17)))));
    expect(Array.from(rolloutMatrix(c, r).values)).toEqual(clsAttentionGrid(attentionRollout(nested)).flat().map((x) => expect.closeTo(x, 6)));
    expect(() => clsMatrix(c, r, 2, 0)).toThrow('no attention for layer 2');
    await model.release();
  });

  it('the brush paints the cell at full value and its neighbours at half, in every channel; the display scales to 0 … 1', async () => {
    const { folder, model } = await load();
    const c = configAs(folder.config, ['vit-classifier'], 'the vit tests');
    expect(pixelMax(c)).toBe(16);
    const once = paint(c, new Float32Array(64), 0, 7);
    expect(once[7]).toBe(16);
    expect([once[6], once[15]]).toEqual([8, 8]);
    expect(once.reduce((a, x) => a + x, 0)).toBe(32); // the corner has two neighbours
    expect(paint(c, once, 0, 6)[7]).toBe(16); // never lowers a painted cell
    expect(imageMatrix(c, once).values[7]).toBe(1);
    await model.release();
  });
});
