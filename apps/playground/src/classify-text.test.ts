// The playground's text classifier: classifyText gives runtime-onnx's classify result on the
// same export, and keeps each layer's self-attention [H, T, T] over the input for the heatmaps;
// a sentence pair (the page's second text box, for a model with token types) goes in with its
// token types.

import { describe, expect, it } from 'vitest';
import { CharTokenizer, tokenConfig } from '@attend/core';
import { classify, createOnnxModel } from '@attend/runtime-onnx/node';
import { classifyText } from './classify-text.js';
import { encodeInput } from './decode.js';
import { memoryFolderFiles, readModelFolder, textTokenizer } from './model-folder.js';
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

  it('classifies a sentence pair with its token types, as runtime-onnx classify does; a model without token types refuses the pair', async () => {
    const folder = await readModelFolder(memoryFolderFiles(await tinyExport('encoder-classifier', { fields: { typeVocabSize: 2 } })), 'p/');
    const model = await createOnnxModel(folder.graphs['onnx/model.onnx']!);
    const { ids, typeIds } = encodeInput(textTokenizer(folder), tokenConfig(folder.config, 'test'), 'cafe', 'bed');
    expect(typeIds).toEqual([0, 0, 0, 0, 1, 1, 1]);
    const r = await classifyText(model, ids, typeIds);
    const [expected] = await classify(model, { ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length, tokenTypes: typeIds! });
    expect(Array.from(r.probabilities)).toEqual(Array.from(expected!.probabilities).map((p) => expect.closeTo(p, 6)));
    // The same ids as one text (all type 0) are another input.
    const joined = await classifyText(model, ids);
    expect(Array.from(joined.probabilities)).not.toEqual(Array.from(r.probabilities));
    await model.release();

    const plain = await readModelFolder(memoryFolderFiles(await tinyExport('encoder-classifier')), 'c/');
    expect(() => encodeInput(textTokenizer(plain), tokenConfig(plain.config, 'test'), 'cafe', 'bed')).toThrow(
      'the second text: sentence pairs need a model with token types for both segments (typeVocabSize 2 or more, as an imported BERT has); this one reads one text',
    );
  });
});
