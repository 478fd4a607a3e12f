// Training, saving and decoding with attention read tensors asynchronously: tfjs-webgpu's
// synchronous read stalls the page (and in a worker on SwiftShader reads zeros, then loses the
// device). Here every synchronous read is refused (Tensor.dataSync, which arraySync and
// bufferSync go through, throws) while those paths run on wasm; they must give what they give
// with synchronous reads allowed.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CharTokenizer, copyTask, createModelConfig, decodeRows, type DecodedRow } from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { CHECKPOINT_FILES, serializeCheckpoint, serializeCheckpointAsync } from './checkpoint.js';
import { tfjsTranslator } from './generate.js';
import { TransformerModel, type TokenBatch } from './model.js';
import { AdamW } from './optimizer.js';
import { seq2seqTask } from './seq2seq-task.js';
import { train } from './trainer.js';

const ALPHABET = 'abcdef';
const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
const config = createModelConfig({ preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0 });
const source: TokenBatch = { ids: Int32Array.from([5, 6, 7, 8, 9, 4, 3, 0]), batchSize: 2, seqLen: 4, lengths: Int32Array.from([4, 2]) };

/** Runs `fn` with every synchronous tensor read throwing. */
async function withoutSyncReads<T>(fn: () => Promise<T>): Promise<T> {
  const dataSync = Object.getOwnPropertyDescriptor(tf.Tensor.prototype, 'dataSync')!;
  Object.defineProperty(tf.Tensor.prototype, 'dataSync', {
    ...dataSync,
    value: () => {
      throw new Error('a synchronous read (dataSync)');
    },
  });
  try {
    return await fn();
  } finally {
    Object.defineProperty(tf.Tensor.prototype, 'dataSync', dataSync);
  }
}

let root: string;

beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-async-reads-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('without synchronous reads', () => {
  it('the refusal has teeth: a synchronous read throws', async () => {
    const t = tf.scalar(1);
    await expect(withoutSyncReads(async () => t.dataSync())).rejects.toThrow('a synchronous read (dataSync)');
    expect(t.dataSync()[0]).toBe(1);
    t.dispose();
  });

  it('serializeCheckpointAsync gives serializeCheckpoint\'s bytes (weights, Linear transposes, moments)', async () => {
    const model = new TransformerModel(config, { seed: 1 });
    const params = model.namedParams();
    const optimizer = new AdamW();
    tf.tidy(() => optimizer.apply(params, Object.fromEntries(params.map((p) => [p.name, tf.randomNormal(p.variable.shape, 0, 1, 'float32', 7)])), 1e-2));
    const contents = { model, tokenizer: tokenizer.toJSON(), trainerState: { step: 1, evals: [], losses: [], badEvals: 0 }, optimizer };
    const before = tf.memory().numTensors;
    const files = await withoutSyncReads(() => serializeCheckpointAsync(contents));
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(files).sort()).toContain(CHECKPOINT_FILES.optimizer);
    expect(files).toEqual(serializeCheckpoint(contents));
    optimizer.dispose();
    model.dispose();
  });

  it('the trainer trains and saves its checkpoint', async () => {
    const dir = join(root, 'run');
    const pairs = copyTask({ count: 16, seed: 1, minLength: 3, maxLength: 5, alphabet: ALPHABET });
    const task = seq2seqTask(pairs, pairs.slice(0, 4), tokenizer, { batchSize: 8, seed: 1, maxSrcLen: 8, maxTgtLen: 8 });
    const model = new TransformerModel(config, { seed: 1 });
    const { state } = await withoutSyncReads(() => train(model, task.nextBatch, { steps: 3, learningRate: 1e-2, logEvery: 1, checkpoint: { dir, tokenizer: tokenizer.toJSON() } }));
    expect(state.losses.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(state.losses.every((l) => Number.isFinite(l.loss))).toBe(true);
    expect(new Uint8Array(await readFile(join(dir, CHECKPOINT_FILES.weights)))).toEqual(serializeCheckpoint({ model })[CHECKPOINT_FILES.weights]);
    model.dispose();
  });

  it('tfjsTranslator with attention decodes with every step\'s attention rows and the encoder\'s, leaking no tensor', async () => {
    const model = new TransformerModel(config, { seed: 5 });
    for (const p of model.namedParams()) tf.tidy(() => p.variable.assign(tf.mul(p.variable, 3)));
    const decode = async (): Promise<{ rows: DecodedRow[]; encoder: unknown }> => {
      const { step, release, attentions } = await tfjsTranslator(model, { attention: true }).start(source);
      const rows = await decodeRows(step, { batchSize: 2, vocabSize: config.vocabSize, bosTokenId: config.bosTokenId, eosTokenId: config.eosTokenId, maxNewTokens: 6 });
      release?.();
      return { rows, encoder: attentions };
    };
    const want = await decode();
    const before = tf.memory().numTensors;
    const got = await withoutSyncReads(decode);
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(got.rows[0]!.steps[0]!)).toEqual(['decoder_attentions.0', 'cross_attentions.0']);
    expect(got).toEqual(want);
    model.dispose();
  });
});
