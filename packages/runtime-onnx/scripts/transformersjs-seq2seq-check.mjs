// Manual check that transformers.js loads an attend encoder–decoder export folder (marian
// layout: onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx) offline and decodes like
// attend's own runtime. @huggingface/transformers is not a dependency; install it anywhere with
// scripts off and point TRANSFORMERS_JS_DIR there (see transformersjs-check.mjs):
//
//   npm install --prefix /tmp/tjs --ignore-scripts @huggingface/transformers@4.3.1
//   node scripts/pnpm.mjs --filter @attend/runtime-onnx build   # (from the repo root)
//   TRANSFORMERS_JS_DIR=/tmp/tjs node packages/runtime-onnx/scripts/transformersjs-seq2seq-check.mjs [positional]
//
// Trains a small encoder–decoder on the copy task for a few seconds (so the outputs are not
// degenerate), exports it with exportFolder, greedy-decodes 40 held-out sources with
// transformers.js (AutoModelForSeq2SeqLM.generate) and with attend's `translate`, and exits 1
// when any output string differs.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CharTokenizer, copyTask, createModelConfig } from '@attend/core';
import { seq2seqTask, serializeCheckpoint, setupBackend, train, TransformerModel } from '@attend/transformer';
import { exportFolder, loadSeq2SeqFolder, translate } from '@attend/runtime-onnx/node';

const where = process.env.TRANSFORMERS_JS_DIR;
if (!where) {
  console.error('set TRANSFORMERS_JS_DIR to a folder where @huggingface/transformers is installed');
  process.exit(2);
}
const { AutoModelForSeq2SeqLM, AutoTokenizer, env, Tensor } = await import(pathToFileURL(join(where, 'node_modules/@huggingface/transformers/dist/transformers.node.mjs')).href);

const positional = process.argv[2] ?? 'rope';
await setupBackend();
const dir = await mkdtemp(join(tmpdir(), 'attend-tjs-s2s-'));
try {
  const tokenizer = CharTokenizer.fromAlphabet('abcdef');
  const pairs = copyTask({ count: 2000, seed: 7, minLength: 2, maxLength: 6, alphabet: 'abcdef' });
  const dev = pairs.slice(0, 40);
  const config = createModelConfig({ preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 32, numHeads: 4, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 64, maxSeqLen: 10, dropout: 0, positional });
  const task = seq2seqTask(pairs.slice(40), dev, tokenizer, { batchSize: 32, seed: 7, maxSrcLen: 6, maxTgtLen: 6 });
  const model = new TransformerModel(config, { seed: 7 });
  await train(model, task.nextBatch, { steps: 250, learningRate: 5e-3 });
  await mkdir(join(dir, 'ckpt'));
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }))) await writeFile(join(dir, 'ckpt', name), bytes);
  model.dispose();
  await exportFolder(join(dir, 'ckpt'), join(dir, 'export'));
  const { model: onnx } = await loadSeq2SeqFolder(join(dir, 'export'));
  env.allowRemoteModels = false;
  env.localModelPath = dir;
  const tok = await AutoTokenizer.from_pretrained('export');
  const s2s = await AutoModelForSeq2SeqLM.from_pretrained('export', { dtype: 'fp32', device: 'cpu' });
  let same = 0;
  let correct = 0;
  for (const pair of dev) {
    const src = tokenizer.encode(pair.source);
    const ours = tokenizer.decode((await translate(onnx, { ids: src, batchSize: 1, seqLen: src.length }, { maxNewTokens: 7 }))[0]);
    const ids = new Tensor('int64', BigInt64Array.from(src.map(BigInt)), [1, src.length]);
    const mask = new Tensor('int64', new BigInt64Array(src.length).fill(1n), [1, src.length]);
    const out = await s2s.generate({ inputs: ids, attention_mask: mask, max_new_tokens: 8, do_sample: false, num_beams: 1 });
    const theirs = tok.decode(Array.from(out.data, Number), { skip_special_tokens: true }).replace(/ /g, '');
    if (theirs === ours) same++;
    else console.log(`differs on '${pair.source}': attend '${ours}', transformers.js '${theirs}'`);
    if (theirs === pair.target) correct++;
  }
  await onnx.encoder.release();
  await onnx.decoder.release();
  console.log(`transformers.js == attend on ${same}/${dev.length} sources; exact match ${(correct / dev.length).toFixed(3)}`);
  process.exitCode = same === dev.length ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
