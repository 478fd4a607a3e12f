// The encoder–decoder export folder (marian layout for transformers.js) and accuracy
// preservation: a small model trained for a few seconds on the copy task, exported to a folder
// and loaded back, decodes the dev set under ORT exactly as tfjs does (same strings, same
// exact match), with greedy and with beam search.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, CheckpointError, copyTask, createModelConfig, exactMatch, makeSeq2SeqBatch, trainDevSplit, type TextPair } from '@attend/core';
import { seq2seqTask, serializeCheckpoint, setupBackend, train, translate as tfjsTranslate, TransformerModel } from '@attend/transformer';
import { exportFolder, loadExportFolder, loadSeq2SeqFolder } from '../../node.js';
import { type OnnxSeq2SeqModel } from './session.js';
import { translate } from '../../translate.js';

const MAX_SRC = 6;
let dir: string;
let ckpt: string;
let model: TransformerModel;
let tokenizer: CharTokenizer;
let dev: TextPair[];
let tfjsOutputs: string[];
let tfjsExactMatch: number;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-s2s-folder-'));
  ckpt = join(dir, 'ckpt');
  const pairs = copyTask({ count: 2000, seed: 7, minLength: 2, maxLength: MAX_SRC, alphabet: 'abcdef' });
  const split = trainDevSplit(pairs, { devFraction: 0.05, seed: 7, key: (p) => p.source });
  dev = split.dev;
  tokenizer = CharTokenizer.fromAlphabet('abcdef');
  const config = createModelConfig({
    preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 32, numHeads: 4,
    numEncoderLayers: 1, numDecoderLayers: 1, dFf: 64, maxSeqLen: 10, dropout: 0, positional: 'sinusoidal',
  });
  const task = seq2seqTask(split.train, dev, tokenizer, { batchSize: 32, seed: 7, maxSrcLen: MAX_SRC, maxTgtLen: MAX_SRC });
  model = new TransformerModel(config, { seed: 7 });
  await train(model, task.nextBatch, { steps: 150, learningRate: 5e-3, schedule: { kind: 'cosine', warmupSteps: 20, totalSteps: 150, minLr: 5e-4 } });
  const evaluated = await task.evaluate(model);
  tfjsOutputs = evaluated.outputs;
  tfjsExactMatch = evaluated.exactMatch;
  if (process.env.PARITY_REPORT) console.log(`copy task after 150 steps: tfjs dev exact match ${tfjsExactMatch} (${dev.length} pairs)`);
  await mkdir(ckpt);
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }))) await writeFile(join(ckpt, name), bytes);
}, 60_000);
afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Greedy (or beam) decoding of `pairs` over ORT, batched like the tfjs task's evaluation. */
async function decodeOnnx(onnx: OnnxSeq2SeqModel, pairs: readonly TextPair[], beamSize = 0): Promise<string[]> {
  const ids = tokenizer.specialTokenIds;
  const batch = makeSeq2SeqBatch(pairs.map((p) => ({ source: tokenizer.encode(p.source), target: tokenizer.encode(p.target) })), ids, { maxSrcLen: MAX_SRC, maxTgtLen: MAX_SRC + 1 });
  const source = { ids: batch.srcIds, batchSize: batch.batchSize, seqLen: batch.srcLen, lengths: batch.srcLengths };
  const strategy = beamSize > 0 ? { kind: 'beam' as const, beamSize } : { kind: 'greedy' as const };
  return (await translate(onnx, source, { maxNewTokens: MAX_SRC + 1, strategy })).map((d) => tokenizer.decode(d));
}

const readJson = async (file: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

describe('encoder-decoder export folder', () => {
  it('writes the marian layout; a trained model keeps its exact match under ORT (string by string)', async () => {
    const out = join(dir, 'export');
    await exportFolder(ckpt, out);
    expect((await readdir(out)).sort()).toEqual(['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect((await readdir(join(out, 'onnx'))).sort()).toEqual(['decoder_model_merged.onnx', 'encoder_model.onnx']);
    const c = model.config;
    const config = await readJson(join(out, 'config.json'));
    expect(config).toMatchObject({
      model_type: 'marian', is_encoder_decoder: true, d_model: 32, encoder_layers: 1, decoder_layers: 1, encoder_attention_heads: 4, decoder_attention_heads: 4,
      encoder_ffn_dim: 64, vocab_size: c.vocabSize, max_position_embeddings: 10, decoder_start_token_id: c.bosTokenId, bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId, pad_token_id: c.padTokenId,
    });
    expect(config.attend).toEqual(await readJson(join(ckpt, 'config.json')));
    expect(await readJson(join(out, 'generation_config.json'))).toMatchObject({ decoder_start_token_id: c.bosTokenId, eos_token_id: c.eosTokenId, max_length: 10 });
    expect(await readJson(join(out, 'tokenizer_config.json'))).toMatchObject({ tokenizer_class: 'PreTrainedTokenizer', eos_token: '</s>', pad_token: '<pad>' });

    const loaded = await loadSeq2SeqFolder(out);
    try {
      expect(loaded.tokenizer.kind).toBe('char');
      // The trained model is neither hopeless nor perfect, so the comparison means something.
      expect(tfjsExactMatch).toBeGreaterThan(0.2);
      const onnxOutputs = await decodeOnnx(loaded.model, dev);
      expect(onnxOutputs).toEqual(tfjsOutputs);
      expect(exactMatch(onnxOutputs, dev.map((p) => p.target))).toBe(tfjsExactMatch);
      // Beam search too, on part of the dev set: same strings as tfjs beam search.
      const part = dev.slice(0, 24);
      const batch = makeSeq2SeqBatch(part.map((p) => ({ source: tokenizer.encode(p.source), target: tokenizer.encode(p.target) })), tokenizer.specialTokenIds, { maxSrcLen: MAX_SRC, maxTgtLen: MAX_SRC + 1 });
      const tfjsBeam = await tfjsTranslate(model, { ids: batch.srcIds, batchSize: batch.batchSize, seqLen: batch.srcLen, lengths: batch.srcLengths }, MAX_SRC + 1, { kind: 'beam', beamSize: 3 });
      expect(await decodeOnnx(loaded.model, part, 3)).toEqual(tfjsBeam.map((d) => tokenizer.decode(d)));
    } finally {
      await loaded.model.encoder.release();
      await loaded.model.decoder.release();
    }

    await expect(loadExportFolder(out)).rejects.toThrow(`${join(out, 'config.json')}: an encoder-decoder export (onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx); load it with loadSeq2SeqFolder`);
    await rm(join(out, 'onnx', 'decoder_model_merged.onnx'));
    await expect(loadSeq2SeqFolder(out)).rejects.toThrow(`${join(out, 'onnx', 'decoder_model_merged.onnx')}: missing (an encoder-decoder export needs onnx/encoder_model.onnx and onnx/decoder_model_merged.onnx)`);
    await expect(loadSeq2SeqFolder(join(dir, 'nope'))).rejects.toBeInstanceOf(CheckpointError);
  });
});
