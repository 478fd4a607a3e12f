#!/usr/bin/env node
// A/B of two builds in one process: interleaved training steps of the same model config, so a
// shared machine's load hits both alike. node bench/ab.mjs <distA> <distB> [baby|date] [rounds]
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { shakespearePath } from './common.mjs';
import { CharTokenizer, createModelConfig, dateTask } from '@attend/core';

const [distA, distB, which = 'baby', roundsArg = '12'] = process.argv.slice(2);
const libs = [await import(resolve(distA, 'index.js')), await import(resolve(distB, 'index.js'))];
await libs[0].setupBackend(['wasm']);
await libs[1].setupBackend(['wasm']);
let config, batch;
if (which === 'baby') {
  const text = readFileSync(shakespearePath, 'utf8').slice(0, 200000);
  const tok = CharTokenizer.fromCorpus([text]);
  const ids = Int32Array.from(tok.encode(text));
  config = createModelConfig({ preset: 'decoder-lm', vocabSize: tok.vocabSize, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 64, dropout: 0 });
  batch = { input: { ids: ids.slice(0, 768), batchSize: 12, seqLen: 64 }, labels: ids.slice(1, 769) };
} else {
  const pairs = dateTask({ count: 2000, seed: 1 });
  const tok = CharTokenizer.fromCorpus(pairs.flatMap((p) => [p.source, p.target]));
  config = createModelConfig({ preset: 'encoder-decoder', vocabSize: tok.vocabSize, dModel: 64, numHeads: 4, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 256, maxSeqLen: 48, dropout: 0 });
  batch = libs[0].seq2seqTask(pairs, pairs.slice(0, 10), tok, { batchSize: 64, seed: 1, maxSrcLen: 40, maxTgtLen: 12 }).nextBatch(1);
}
const runs = libs.map((lib) => {
  const model = new lib.TransformerModel(config, { seed: 1 });
  const params = model.namedParams();
  const vars = params.map((p) => p.variable);
  const opt = new lib.AdamW();
  const times = [];
  let loss = 0;
  const step = () => {
    const t0 = performance.now();
    loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => lib.batchLoss(model, batch, { training: true }), vars);
      const clipped = lib.clipByGlobalNorm(grads, 1);
      opt.apply(params, clipped.grads, 1e-3);
      return value.dataSync()[0];
    });
    times.push(performance.now() - t0);
  };
  return { step, times, loss: () => loss };
});
const rounds = Number(roundsArg);
for (let i = 0; i < rounds + 2; i++) for (const r of runs) r.step();
const med = (xs) => { const s = xs.slice(2).sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const [a, b] = runs.map((r) => med(r.times));
console.log(`${which}: A ${a.toFixed(1)} ms/step (loss ${runs[0].loss().toFixed(5)}), B ${b.toFixed(1)} ms/step (loss ${runs[1].loss().toFixed(5)}), B/A ${(b / a).toFixed(3)}`);
