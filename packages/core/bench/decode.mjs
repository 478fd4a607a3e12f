#!/usr/bin/env node
// Decoding benchmark (issue 13): per-token time of @attend/core's greedy search, sampling
// (temperature 0.8, top-k 50, top-p 0.9) and beam search (4 beams) on precomputed random
// logits — no model, so the numbers are the decoding loop's own cost — at V = 69 (the
// character vocabulary of the demos) and V = 50,257 (GPT-2's), batch 1 and 8, and the ratios
// sampling/greedy and beam/greedy. Logits are N(0, 2²) with eos at −∞, so every row runs the
// full number of steps. Each cell runs a decode of n tokens, n grown until the run takes
// about a third of a second (at least 2 tokens); per-token time = run time / n, the run time
// being the process's CPU time (user + system). The machine may be shared, so each cell then
// times greedy, sampling and beam search in turn for ROUNDS rounds and reports the medians, and
// as ratios the medians of each round's own ratios.
// Prints a table and writes bench/results/decode.json at the repo root (builds core first):
//   npm run bench:decode [-- --out path.json] [-- --core dir]
// --core times another build of @attend/core's dist (a baseline built from an older commit).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const outArg = process.argv.indexOf('--out');
const outFile = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(repoRoot, 'bench/results/decode.json');
const coreArg = process.argv.indexOf('--core');
const coreDir = coreArg > 0 ? resolve(process.argv[coreArg + 1]) : join(here, '../dist');
const { beamSearch, createRng, greedyDecode, sampleDecode } = await import(pathToFileURL(join(coreDir, 'index.js')).href);

const loadAtStart = loadavg();
const VOCABS = [69, 50257];
const BATCHES = [1, 8];
const BEAMS = 4;
const SAMPLING = { temperature: 0.8, topK: 50, topP: 0.9 };
const TARGET_MS = 300;
const ROUNDS = 5;
const BUFFERS = 4; // distinct logits matrices, cycled through the steps

/** A step function returning precomputed logits for up to `rows` rows, a different matrix each call. */
function randomLogits(V, rows, seed) {
  const rng = createRng(seed);
  const eos = V - 1;
  const buffers = Array.from({ length: BUFFERS }, () => {
    const data = new Float32Array(rows * V);
    for (let i = 0; i < data.length; i++) data[i] = i % V === eos ? -Infinity : 2 * rng.normal();
    return data;
  });
  let call = 0;
  return (_tokens, batchSize) => buffers[call++ % BUFFERS].subarray(0, batchSize * V);
}

/** Tokens n for which one run of `run(n)` takes about TARGET_MS (n grown from 2, at most 256). */
async function calibrate(run) {
  let n = 2;
  for (;;) {
    const ms = await timed(run, n);
    if (ms >= TARGET_MS || n >= 256) return n;
    n = Math.min(256, Math.max(n * 2, Math.ceil((n * TARGET_MS) / Math.max(ms, 1))));
  }
}

/** Milliseconds of this process's CPU time (user + system) that `run(n)` takes: unlike the wall clock, it leaves out the time a shared machine gives to other processes. */
async function timed(run, n) {
  const started = process.cpuUsage();
  await run(n);
  const { user, system } = process.cpuUsage(started);
  return (user + system) / 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [];
for (const V of VOCABS) {
  for (const B of BATCHES) {
    const step = randomLogits(V, B * BEAMS, V + B);
    const base = (n) => ({ batchSize: B, vocabSize: V, bosTokenId: 0, eosTokenId: V - 1, maxNewTokens: n });
    const runs = {
      greedy: (n) => greedyDecode(step, base(n)),
      sample: (n) => sampleDecode(step, { ...base(n), ...SAMPLING, seed: 1 }),
      beam: (n) => beamSearch(step, { ...base(n), beamSize: BEAMS }),
    };
    const tokens = {};
    for (const [name, run] of Object.entries(runs)) tokens[name] = await calibrate(run);
    const ms = { greedy: [], sample: [], beam: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of Object.entries(runs)) ms[name].push((await timed(run, tokens[name])) / tokens[name]);
    }
    const ratio = (name) => +median(ms[name].map((x, i) => x / ms.greedy[i])).toFixed(2);
    rows.push({
      vocabSize: V,
      batchSize: B,
      greedyMs: +median(ms.greedy).toFixed(4),
      sampleMs: +median(ms.sample).toFixed(4),
      beamMs: +median(ms.beam).toFixed(4),
      sampleOverGreedy: ratio('sample'),
      beamOverGreedy: ratio('beam'),
      tokens,
    });
    const r = rows.at(-1);
    console.error(`V ${V} B ${B}: greedy ${r.greedyMs} ms, sampling ${r.sampleMs} ms, beam ${r.beamMs} ms per token`);
  }
}

const pad = (s, n) => String(s).padStart(n);
console.log(`\nper-token CPU time (ms), sampling = T ${SAMPLING.temperature} / top-k ${SAMPLING.topK} / top-p ${SAMPLING.topP}, beam = ${BEAMS} beams`);
console.log(`${pad('V', 7)} ${pad('batch', 5)} ${pad('greedy', 10)} ${pad('sampling', 10)} ${pad('beam', 10)} ${pad('samp/gr', 8)} ${pad('beam/gr', 8)}`);
for (const r of rows) {
  console.log(`${pad(r.vocabSize, 7)} ${pad(r.batchSize, 5)} ${pad(r.greedyMs.toFixed(3), 10)} ${pad(r.sampleMs.toFixed(3), 10)} ${pad(r.beamMs.toFixed(3), 10)} ${pad(r.sampleOverGreedy, 8)} ${pad(r.beamOverGreedy, 8)}`);
}

const result = {
  benchmark: 'decode',
  core: coreArg > 0 ? coreDir : 'packages/core/dist',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model,
  loadAverageAtStart: loadAtStart.map((x) => +x.toFixed(2)),
  loadAverage: loadavg().map((x) => +x.toFixed(2)),
  rounds: ROUNDS,
  timing: 'process CPU time (user + system) per token, median of the rounds',
  sampling: SAMPLING,
  beamSize: BEAMS,
  targets: { sampleOverGreedy: 3, beamOverGreedy: 8, atVocabSize: 50257 },
  rows,
};
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nload average (1, 5, 15 min): ${result.loadAverageAtStart.join(' ')} at start, ${result.loadAverage.join(' ')} at the end`);
console.log(`wrote ${outFile}`);
