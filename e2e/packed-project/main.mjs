// @ts-check
// What a user of the published packages writes: train a tiny encoder–decoder on the copy task
// for 20 steps, save the checkpoint, export it to ONNX and translate with onnxruntime-node.
// Run as `node main.mjs OUT_DIR`; prints one JSON object. packed.test.ts installs the packed
// tarballs next to this file, outside the monorepo, then typechecks and runs it.

import { join } from 'node:path';
import { CharTokenizer, copyTask, createModelConfig } from '@attend/core';
import { saveCheckpoint, seq2seqTask, setupBackend, train, TransformerModel } from '@attend/transformer';
import { exportFolder, loadSeq2SeqFolder, translate } from '@attend/runtime-onnx/node';

const out = process.argv[2];
if (!out) throw new Error('usage: node main.mjs OUT_DIR');
const backend = await setupBackend();

const alphabet = 'abcde';
const pairs = copyTask({ count: 500, seed: 1, minLength: 2, maxLength: 5, alphabet });
const tokenizer = CharTokenizer.fromAlphabet(alphabet);
const config = createModelConfig({
  preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2,
  numEncoderLayers: 1, numDecoderLayers: 1, dFf: 32, maxSeqLen: 8, dropout: 0,
});
const task = seq2seqTask(pairs.slice(20), pairs.slice(0, 20), tokenizer, { batchSize: 16, seed: 1, maxSrcLen: 5, maxTgtLen: 5 });
const model = new TransformerModel(config, { seed: 1 });
const { state, reason } = await train(model, task.nextBatch, { steps: 20, learningRate: 1e-2, logEvery: 1 });

const checkpoint = join(out, 'checkpoint');
await saveCheckpoint(checkpoint, { model, tokenizer: tokenizer.toJSON() });
model.dispose();
const exported = join(out, 'onnx');
await exportFolder(checkpoint, exported);

const { model: onnx, tokenizer: loaded } = await loadSeq2SeqFolder(exported);
const translations = [];
for (const source of ['abc', 'edcba', 'ba']) {
  const ids = loaded.encode(source);
  const [output = []] = await translate(onnx, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens: 6 });
  translations.push({ source, ids: output, text: loaded.decode(output) });
}
await onnx.encoder.release();
await onnx.decoder.release();

console.log(JSON.stringify({ backend, reason, steps: state.step, losses: state.losses.map((l) => l.loss), vocabSize: config.vocabSize, eosTokenId: config.eosTokenId, translations }));
