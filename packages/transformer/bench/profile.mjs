#!/usr/bin/env node
// Per-kernel profile of one training step (forward + backward + AdamW) of the baby-GPT or
// the date model on wasm: tf.profile's kernels grouped by name and input shapes, by total time.
//   node bench/profile.mjs [baby|date] [top N]
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { shakespearePath } from './common.mjs';
import { CharTokenizer, createModelConfig, dateTask } from '@attend/core';
const { setupBackend, TransformerModel, batchLoss, AdamW, seq2seqTask } = await import(process.env.DIST ?? '../dist/index.js');

const which = process.argv[2] ?? 'baby';
const top = Number(process.argv[3] ?? 30);
await setupBackend([process.env.BACKEND ?? 'wasm']);
let model, batch;
if (which === 'baby') {
  const text = readFileSync(shakespearePath, 'utf8').slice(0, 200000);
  const tok = CharTokenizer.fromCorpus([text]);
  const ids = Int32Array.from(tok.encode(text));
  model = new TransformerModel(createModelConfig({ preset: 'decoder-lm', vocabSize: tok.vocabSize, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 64, dropout: 0 }), { seed: 1 });
  batch = { input: { ids: ids.slice(0, 768), batchSize: 12, seqLen: 64 }, labels: ids.slice(1, 769) };
} else {
  const pairs = dateTask({ count: 2000, seed: 1 });
  const tok = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  model = new TransformerModel(createModelConfig({ preset: 'encoder-decoder', vocabSize: tok.vocabSize, dModel: 64, numHeads: 4, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 256, maxSeqLen: 48, dropout: 0 }), { seed: 1 });
  batch = seq2seqTask(pairs, pairs.slice(0, 10), tok, { batchSize: 64, seed: 1, maxSrcLen: 40, maxTgtLen: 12 }).nextBatch(1);
}
const params = model.namedParams();
const vars = params.map((p) => p.variable);
const opt = new AdamW();
const step = () => tf.tidy(() => {
  const { value, grads } = tf.variableGrads(() => batchLoss(model, batch, { training: true }), vars);
  opt.apply(params, grads, 1e-3);
  return value.dataSync()[0];
});
for (let i = 0; i < 3; i++) step();
const t0 = performance.now();
const N = 5;
for (let i = 0; i < N; i++) step();
const wall = (performance.now() - t0) / N;
const info = await tf.profile(() => { step(); });
const groups = new Map();
let total = 0;
for (const k of info.kernels) {
  const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`;
  const g = groups.get(key) ?? { ms: 0, n: 0 };
  g.ms += k.kernelTimeMs; g.n += 1; total += k.kernelTimeMs;
  groups.set(key, g);
}
const byName = new Map();
for (const k of info.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + k.kernelTimeMs);
console.log(`${which}: wall ${wall.toFixed(1)} ms/step, ${info.kernels.length} kernels, kernel time ${total.toFixed(1)} ms (profiled step)`);
console.log('by kernel:', [...byName].sort((a, b) => b[1] - a[1]).slice(0, 16).map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', '));
for (const [key, g] of [...groups].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`${g.ms.toFixed(2).padStart(8)} ms ${String(g.n).padStart(4)}×  ${key}`);
