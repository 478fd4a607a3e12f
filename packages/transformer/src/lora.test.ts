import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CharTokenizer, copyTask, createModelConfig, mergeLora, parseCheckpointFiles, serializeSafetensors, type LoraConfig, type ModelConfig } from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { deserializeCheckpoint, loadCheckpoint, serializeCheckpoint } from './checkpoint.js';
import { LoraModel, withLora } from './lora.js';
import { createModel, type AttendModel } from './models.js';
import type { TokenBatch } from './model.js';
import { seq2seqTask, type Seq2SeqTask } from './seq2seq-task.js';
import { train } from './trainer.js';

const ALPHABET = 'abcdef';
const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
const pairs = copyTask({ count: 16, seed: 1, minLength: 3, maxLength: 5, alphabet: ALPHABET });
const config: ModelConfig = createModelConfig({
  preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2,
  numEncoderLayers: 1, numDecoderLayers: 1, dFf: 32, maxSeqLen: 16, dropout: 0,
});
const lora: LoraConfig = { rank: 2, alpha: 4, targets: ['q', 'v'] };

let task: Seq2SeqTask;
let root: string;
beforeAll(async () => {
  await setupBackend();
  task = seq2seqTask(pairs, pairs.slice(0, 4), tokenizer, { batchSize: 8, seed: 1, maxSrcLen: 8, maxTgtLen: 8 });
  root = await mkdtemp(join(tmpdir(), 'attend-lora-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function values(model: AttendModel): Record<string, Float32Array> {
  return Object.fromEntries(model.namedParams().map((p) => [p.name, Float32Array.from(p.variable.dataSync() as Float32Array)]));
}

const tokenBatch = (rows: number[][]): TokenBatch => ({ ids: Int32Array.from(rows.flat()), batchSize: rows.length, seqLen: rows[0]!.length });
const source = tokenBatch([[4, 5, 6, 2], [7, 8, 2, 0]]);
const target = tokenBatch([[1, 4, 5], [1, 7, 8]]);
function logits(model: AttendModel): Float32Array {
  return tf.tidy(() => model.forward(source, target).logits.dataSync() as Float32Array);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

/** A LoRA model on the seed-1 base, trained `steps` steps at lr 1e-2. */
async function trained(steps: number, dir?: string, resume = false): Promise<LoraModel> {
  const model = withLora(createModel(config, { seed: 1 }), lora, 3);
  await train(model, task.nextBatch, { learningRate: 1e-2, steps, logEvery: 5, ...(dir ? { checkpoint: { dir, every: 5 }, resume } : {}) });
  return model;
}

describe('LoRA', () => {
  it('adds A [in, r] and B [r, out] to every q and v projection; B = 0 leaves the outputs as they were', () => {
    const base = createModel(config, { seed: 1 });
    const before = logits(base);
    const model = withLora(base, lora, 3);
    const adapters = model.namedParams().filter((p) => p.name.includes('.lora_'));
    // q and v of the encoder's self-attention, the decoder's self- and cross-attention: 3 × 2 modules × (A, B).
    expect(adapters.map((p) => p.name)).toContain('decoder.layers.0.encoder_attn.q_proj.lora_A.weight');
    expect(adapters).toHaveLength(12);
    expect(adapters.every((p) => p.name.match(/(q|v)_proj\.lora_[AB]\.weight$/))).toBe(true);
    const a = adapters.find((p) => p.name.endsWith('lora_A.weight'))!;
    expect(a.variable.shape).toEqual([16, 2]);
    expect(Math.max(...(a.variable.dataSync() as Float32Array).map(Math.abs))).toBeGreaterThan(0);
    expect(model.trainableVariables()).toHaveLength(12);
    expect(logits(model)).toEqual(before);
    model.dispose();
  });

  it('trains only the adapters: every base weight is bitwise unchanged, and the loss falls', async () => {
    const base = values(createModel(config, { seed: 1 }));
    const model = withLora(createModel(config, { seed: 1 }), lora, 3);
    const result = await train(model, task.nextBatch, { learningRate: 1e-2, steps: 30, logEvery: 10, optimizer: { weightDecay: 0.05 } });
    const after = values(model);
    for (const [name, x] of Object.entries(base)) expect(after[name], name).toEqual(x);
    const b = Object.entries(after).filter(([name]) => name.endsWith('lora_B.weight'));
    expect(b.every(([, x]) => x.some((v) => v !== 0))).toBe(true);
    const losses = result.state.losses.map((l) => l.loss);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    model.dispose();
  });

  it('a checkpoint stores the adapters and says so in config.json; loading it gives the same model', async () => {
    const model = await trained(10);
    const files = serializeCheckpoint({ model });
    const parsed = parseCheckpointFiles(files);
    expect(parsed.config.lora).toEqual(lora);
    expect(Object.keys(parsed.weights).filter((n) => n.includes('lora_'))).toHaveLength(12);
    expect(parsed.weights['encoder.layers.0.self_attn.q_proj.lora_A.weight']!.shape).toEqual([2, 16]);
    expect(parsed.weights['encoder.layers.0.self_attn.q_proj.lora_B.weight']!.shape).toEqual([16, 2]);
    const loaded = deserializeCheckpoint(files).model;
    expect(loaded).toBeInstanceOf(LoraModel);
    expect(logits(loaded)).toEqual(logits(model));
    // mergeLora folds the adapters into plain weights that compute the same function.
    const merged = createModel(config);
    const { config: mergedConfig, weights } = mergeLora(parsed.config, parsed.weights);
    expect(mergedConfig).toEqual(config);
    expect(Object.keys(weights).some((n) => n.includes('lora_'))).toBe(false);
    const plain = deserializeCheckpoint({ ...serializeCheckpoint({ model: merged }), 'model.safetensors': serializeSafetensors(weights) }).model;
    expect(maxDiff(logits(plain), logits(model))).toBeLessThan(1e-5);
    for (const m of [model, loaded, merged, plain]) m.dispose();
  });

  it('resumes: 10 + 10 steps from a checkpoint equal 20 steps straight', async () => {
    const dir = join(root, 'resume');
    (await trained(10, dir)).dispose();
    const resumed = await trained(20, dir, true);
    const straight = await trained(20);
    const a = values(resumed);
    const b = values(straight);
    for (const [name, x] of Object.entries(b)) expect(maxDiff(a[name]!, x), name).toBeLessThanOrEqual(1e-6);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.trainerState?.step).toBe(20);
    for (const m of [resumed, straight, loaded.model]) m.dispose();
  });
});
