// The bert-layout export folder of an encoder-classifier: its files, loading it back, and
// classify() giving the tfjs model's softmax probabilities and argmax.

import * as tf from '@tensorflow/tfjs-core';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, createRng } from '@attend/core';
import { serializeCheckpoint, setupBackend, type TransformerModel } from '@attend/transformer';
import { classifications, classify } from './classify.js';
import { exportFolder, loadExportFolder } from './node.js';
import { makeModel, maxAbsDiff, randomBatch, VOCAB } from './test-utils/models.js';

let dir: string;
let model: TransformerModel;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-classify-'));
  model = makeModel({ preset: 'encoder-classifier', pooling: 'mean' }, 5);
  const tokenizer = CharTokenizer.fromAlphabet('abcdefghi');
  expect(tokenizer.vocabSize).toBe(VOCAB);
  await mkdir(join(dir, 'ckpt'));
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }))) await writeFile(join(dir, 'ckpt', name), bytes);
});
afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('encoder-classifier export folder', () => {
  it('writes the bert layout and classifies as the tfjs model does', async () => {
    const out = join(dir, 'export');
    await exportFolder(join(dir, 'ckpt'), out);
    expect((await readdir(out)).sort()).toEqual(['config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'bert', architectures: ['BertForSequenceClassification'], num_labels: 3, hidden_size: 8, id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' } });

    const { model: onnx } = await loadExportFolder(out);
    const batch = randomBatch(createRng(3), [5, 2, 7], 7);
    const got = await classify(onnx, batch);
    await onnx.release();
    const want = tf.tidy(() => tf.softmax(model.forward(batch).logits).arraySync() as number[][]);
    expect(got).toHaveLength(3);
    got.forEach((row, b) => {
      expect(maxAbsDiff(row.probabilities, want[b]!)).toBeLessThan(1e-5);
      expect(row.label).toBe(want[b]!.indexOf(Math.max(...want[b]!)));
    });
  });

  it('refuses a model that is not a classifier', async () => {
    const lmDir = join(dir, 'lm');
    const lm = makeModel({ preset: 'decoder-lm' }, 2);
    await mkdir(lmDir);
    for (const [name, bytes] of Object.entries(serializeCheckpoint({ model: lm, tokenizer: CharTokenizer.fromAlphabet('abcdefghi').toJSON() }))) await writeFile(join(lmDir, name), bytes);
    lm.dispose();
    await exportFolder(lmDir, join(dir, 'lm-export'));
    const { model: onnx } = await loadExportFolder(join(dir, 'lm-export'));
    await expect(classify(onnx, { ids: [3, 4], batchSize: 1, seqLen: 2 })).rejects.toThrow(/classify needs an encoder-classifier export; this model is a 'decoder-lm'/);
    await onnx.release();
  });
});

describe('classifications', () => {
  it('a row of 200,000 logits (no spread over the row): softmax and the largest', () => {
    const K = 200_000;
    const logits = new Float32Array(2 * K).map((_, i) => Math.sin(i));
    logits[K + 12_345] = 50;
    const [first, second] = classifications(logits, 2, K);
    expect(second!.label).toBe(12_345);
    expect(second!.probabilities[12_345]).toBeGreaterThan(0.99);
    expect(first!.probabilities.reduce((a, p) => a + p, 0)).toBeCloseTo(1, 3);
  });
});
