#!/usr/bin/env node
// Where a data-parallel step's CPU time goes (issue 18 §1): the baby GPT of bench:train (default
// config, constant lr) and of bench:shakespeare (learned positions, unscaled embedding, AdamW
// β2 0.99 and weight decay 0.1, cosine schedule), each on 1 and 2 workers. Per step: wall time,
// the main thread's CPU time and the whole process's (every thread: workers, GC, compilers); per
// worker and phase (weights in, forward + backward, gradients out, tidy exit, first barrier wait,
// shard sum, second barrier wait, AdamW shard), wall and thread CPU time (/proc/thread-self/schedstat).
// The phases are timed in an instrumented copy of the build's worker (node_modules/.worker-phases/
// under this package, so that its imports resolve; removed at the end); the package has no timing code.
// Linux only. Run after building; each run is its own child process:
// Also the wall and process CPU time per step over windows of --window steps, and the CPU cap:
// 2 × (1 thread's process CPU per step) / (2 workers'), what 2 cores allow 2 workers at most.
// --compare DIR times another build of the package (e.g. the previous commit's dist) in the same
// rounds, alternating with this one (--dist DIR: the build to time; default the package's dist).
//   node packages/transformer/bench/worker-phases.mjs [--steps 40] [--from 5] [--window 50] [--shapes train,shakespeare] [--rounds 1] [--compare DIR] [--out worker-phases]

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, flag, here, repoRoot, shakespearePath, strFlag, writeAtomic } from './common.mjs';

const builds = { this: resolve(strFlag('dist', join(here, '../dist'))), ...(strFlag('compare') ? { compare: resolve(strFlag('compare')) } : {}) };
const rounds = flag('rounds', 1);
const steps = flag('steps', 40);
/** The first step timed: the first steps compile (step 1 costs about 6 steps' CPU). */
const from = flag('from', 5);
const window = flag('window', 50);

/** Milliseconds of CPU this thread has run. */
const threadCpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

/** A copy of build `dist` at `copy` with its worker's step timed phase by phase (each worker appends a line per step to `$PHASES_LOG.w<index>`). */
function instrumentedBuild(dist, copy) {
  cpSync(dist, join(copy, 'dist'), { recursive: true });
  const file = join(copy, 'dist/data-parallel-worker.js');
  let code = readFileSync(file, 'utf8');
  const after = (anchor, insert) => {
    if (!code.includes(anchor)) throw new Error(`worker-phases: ${file} has no '${anchor.trim().split('\n')[0]}'; the worker changed, update this bench's anchors`);
    code = code.replace(anchor, anchor + insert);
  };
  after('const setup = workerData;', `
const { readFileSync: __read, appendFileSync: __append } = await import('node:fs');
const __thread = () => Number(__read('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
let __last = [0, 0];
const __phases = {};
const __mark = (name) => { const now = [performance.now(), __thread()]; if (name) __phases[name] = [now[0] - __last[0], now[1] - __last[1]]; __last = now; };`);
  after('v.assign(tf.tensor(weights.subarray(offset, offset + size), v.shape));\n            });', `\n            __mark('weightsIn');`);
  after('request.step, request.total);', `\n            __mark('forwardBackward');`);
  after("ownFlags[i] = g ? 1 : 0;\n            });", `\n            __mark('gradsOut');`);
  after('const step = (request) => {', `\n        __mark();`);
  after('ownFlags.fill(0);\n        }', `\n        __mark('tidyExit');`);
  after('barrier.wait();\n        const loss = inOrder(losses);', `\n        __mark('wait1');`);
  after('squares[setup.index] = shardGradient(params, shard, { grads, present }, sum);', `\n        __mark('shardSum');`);
  after("__mark('shardSum');\n        barrier.wait();", `\n        __mark('wait2');`);
  after('setup.optimizer);', `\n        __mark('adamw');\n        __append(process.env.PHASES_LOG + '.w' + setup.index, JSON.stringify({ step: request.step, ...__phases }) + '\\n');`);
  writeFileSync(file, code);
}

/** One run in this process: `shape`'s baby GPT on `workers` workers for `steps` steps, on the instrumented build at `copy`. */
async function child(shape, workers, log, copy) {
  const { setupBackend, TransformerModel, train, lmTrainBatch } = await import(join(copy, 'dist/index.js'));
  const { CharTokenizer, createModelConfig, createRng, sampleLmBatch, splitText } = await import('@attend/core');
  process.env.PHASES_LOG = log;
  const text = readFileSync(shakespearePath, 'utf8');
  const tokenizer = CharTokenizer.fromCorpus([text]);
  await setupBackend(['wasm']);
  const base = { preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 64, dropout: 0 };
  const [B, T] = [12, 64];
  let config, nextBatch, options;
  if (shape === 'train') {
    // bench:train's batches: B random windows of the first 90%.
    const ids = Int32Array.from(tokenizer.encode(text.slice(0, Math.floor(text.length * 0.9))));
    config = createModelConfig(base);
    nextBatch = (step) => {
      const rng = createRng(step);
      const input = new Int32Array(B * T);
      const labels = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const start = Math.floor(rng.next() * (ids.length - T - 1));
        input.set(ids.subarray(start, start + T), b * T);
        labels.set(ids.subarray(start + 1, start + T + 1), b * T);
      }
      return { input: { ids: input, batchSize: B, seqLen: T }, labels };
    };
    options = { learningRate: 1e-3 };
  } else {
    const ids = Int32Array.from(tokenizer.encode(splitText(text, 0.9).train));
    config = createModelConfig({ ...base, positional: 'learned', scaleEmbedding: false });
    nextBatch = (step) => lmTrainBatch(sampleLmBatch(ids, { batchSize: B, contextLength: T, rng: createRng(1337 * 100003 + step) }));
    options = { learningRate: 1e-3, schedule: { kind: 'cosine', warmupSteps: 100, totalSteps: 2000, minLr: 1e-4 }, optimizer: { beta1: 0.9, beta2: 0.99, weightDecay: 0.1 }, clipNorm: 1 };
  }
  const model = new TransformerModel(config, { seed: 1 });
  const marks = [];
  const load = loadavg()[0];
  const onProgress = (e) => {
    if (e.type !== 'step') return;
    const u = process.cpuUsage();
    marks.push({ step: e.step, wall: performance.now(), main: threadCpu(), process: (u.user + u.system) / 1000 });
  };
  await train(model, nextBatch, { steps, logEvery: 1, workers, ...options, onProgress });
  const first = marks.find((m) => m.step === from - 1);
  const last = marks.at(-1);
  const per = (field) => (last[field] - first[field]) / (last.step - first.step);
  const out = { shape, workers, load, wallMs: per('wall'), mainCpuMs: per('main'), processCpuMs: per('process'), perWorker: [] };
  for (let w = 0; w < (workers > 1 ? workers : 0); w++) {
    const rows = readFileSync(`${log}.w${w}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.step >= from);
    const names = Object.keys(rows[0]).filter((k) => k !== 'step');
    out.perWorker.push(Object.fromEntries(names.map((k) => [k, { wallMs: rows.reduce((a, r) => a + r[k][0], 0) / rows.length, cpuMs: rows.reduce((a, r) => a + r[k][1], 0) / rows.length }])));
  }
  const workerCpu = out.perWorker.reduce((a, p) => a + Object.values(p).reduce((b, x) => b + x.cpuMs, 0), 0);
  out.otherThreadsCpuMs = out.processCpuMs - out.mainCpuMs - workerCpu;
  // Per window of `window` steps: the 2-worker step keeps getting cheaper long after its first steps.
  out.windows = [];
  for (let a = from; a + window - 1 <= steps; a += window) {
    const [x, y] = [marks.find((m) => m.step === a - 1), marks.find((m) => m.step === a + window - 1)];
    out.windows.push({ steps: `${a}-${a + window - 1}`, wallMs: (y.wall - x.wall) / window, processCpuMs: (y.process - x.process) / window });
  }
  return out;
}

if (args[0] === '--child') {
  console.log(JSON.stringify(await child(args[1], Number(args[2]), args[3], args[4])));
  process.exit(0);
}

if (!existsSync(shakespearePath)) throw new Error(`worker-phases: ${shakespearePath} not found`);
// The instrumented builds go in a folder of this run's own (under node_modules, so that their
// imports resolve as the package's do), removed at the end with the logs.
const copies = mkdtempSync(join(here, '../node_modules/.worker-phases-'));
const logs = mkdtempSync(join(tmpdir(), 'attend-worker-phases-'));
const runs = [];
const fmt = (x) => x.toFixed(1);
try {
  for (const [name, dist] of Object.entries(builds)) instrumentedBuild(dist, join(copies, name));
  for (let round = 0; round < rounds; round++) {
    for (const shape of strFlag('shapes', 'train,shakespeare').split(',')) {
      for (const build of Object.keys(builds)) {
        for (const workers of [1, 2]) {
          const log = join(logs, `${build}-${shape}-${workers}-${round}`);
          const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', shape, String(workers), log, join(copies, build), '--steps', String(steps), '--from', String(from), '--window', String(window)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
          const r = { build, round, ...JSON.parse(out.trim().split('\n').at(-1)) };
          runs.push(r);
          const phases = r.perWorker.map((p, w) => `worker ${w + 1}: ` + Object.entries(p).map(([k, x]) => `${k} ${fmt(x.cpuMs)}`).join(', ')).join(' | ');
          console.log(`${build} build, round ${round + 1}, ${shape} ${workers} worker(s), load ${fmt(r.load)}: ${fmt(r.wallMs)} ms/step, CPU ms/step main ${fmt(r.mainCpuMs)}, process ${fmt(r.processCpuMs)}, other threads ${fmt(r.otherThreadsCpuMs)}${phases ? ` | ${phases}` : ''}`);
          for (const w of r.windows) console.log(`  steps ${w.steps}: ${fmt(w.wallMs)} ms/step, process CPU ${fmt(w.processCpuMs)} ms/step`);
        }
      }
    }
  }
} finally {
  rmSync(logs, { recursive: true, force: true });
  rmSync(copies, { recursive: true, force: true });
}
// Per build and shape, over the rounds: mean process CPU per step of 1 thread and of 2 workers, and the cap they set.
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const caps = [];
for (const build of Object.keys(builds)) {
  for (const shape of new Set(runs.map((r) => r.shape))) {
    const cpu = (workers) => mean(runs.filter((r) => r.build === build && r.shape === shape && r.workers === workers).map((r) => r.processCpuMs));
    const other = (workers) => mean(runs.filter((r) => r.build === build && r.shape === shape && r.workers === workers).map((r) => r.otherThreadsCpuMs));
    caps.push({ build, shape, cpu1: cpu(1), cpu2: cpu(2), otherThreads1: other(1), otherThreads2: other(2), cpuCap: (2 * cpu(1)) / cpu(2) });
    console.log(`${build} build, ${shape}: process CPU ms/step 1 thread ${fmt(cpu(1))}, 2 workers ${fmt(cpu(2))} (other threads ${fmt(other(1))} and ${fmt(other(2))}): CPU cap ${(2 * cpu(1) / cpu(2)).toFixed(2)}×`);
  }
}
const file = join(repoRoot, 'bench/results', `${strFlag('out', 'worker-phases')}.json`);
writeAtomic(file, JSON.stringify({ time: new Date().toISOString(), command: `node packages/transformer/bench/worker-phases.mjs ${args.join(' ')}`, builds, steps, from, window, rounds, loadAverage: loadavg(), caps, runs }, null, 2) + '\n');
console.log(`wrote ${file}`);
