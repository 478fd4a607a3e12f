// The playground's text classifier: classifyText gives runtime-onnx's classify result on the
// same export, and keeps each layer's self-attention [H, T, T] over the input for the heatmaps.

import { describe, expect, it } from 'vitest';
import { CharTokenizer } from '@attend/core';
import { classify, createOnnxModel } from '@attend/runtime-onnx/node';
import { classifyText } from './classify-text.js';
import { memoryFolderFiles, readModelFolder } from './model-folder.js';
import { ALPHABET, tinyExport } from './test-utils/fixtures.js';

describe('encoder-classifier in the playground', () => {
  it('is read like any export and classifies as runtime-onnx classify does, with the attention of every layer', async () => {
    const folder = await readModelFolder(memoryFolderFiles(await tinyExport('encoder-classifier')), 'c/');
    expect(folder.config.preset).toBe('encoder-classifier');
    expect(folder.hasAttention).toBe(true);
    const model = await createOnnxModel(folder.graphs['onnx/model.onnx']!);
    const ids = CharTokenizer.fromAlphabet(ALPHABET).encode('cafe');
    const r = await classifyText(model, ids);
    const [expected] = await classify(model, { ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length });
    expect(r.label).toBe(expected!.label);
    expect(Array.from(r.probabilities)).toEqual(Array.from(expected!.probabilities).map((p) => expect.closeTo(p, 6)));
    expect(r.result.input).toEqual(ids);
    expect(r.result.encoder).toHaveLength(2);
    for (const layer of r.result.encoder) {
      expect(layer).toMatchObject({ heads: 2, size: 4 });
      expect(layer.data).toHaveLength(2 * 4 * 4);
      // Each query's weights over the input sum to 1.
      for (let q = 0; q < 2 * 4; q++) expect(layer.data.slice(q * 4, q * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    await model.release();
  });
});
