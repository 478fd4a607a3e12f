#!/usr/bin/env node
// Where each generated token's time goes (issues 15 and 19 §2): attend's `generate` and
// transformers.js's `generate` on the same export folder, each onnxruntime-node session's `run`
// wrapped so that a generation splits into the time inside ONNX Runtime (the prompt's call and
// the decode steps apart) and everything around it (feed building, cache hand-over, logits,
// sampling or argmax, the decoding loop). Wall time and process CPU time (user + system, all
// threads; others' load inflates it less), interleaved rounds, medians, the load average.
//   node e2e/bench/generate-profile.mjs [--folder DIR] [--tokens N] [--rounds R] [--threads T] [--compare DIST]… [--bound | --bound-only]
// Without --folder it builds nanoGPT's baby GPT (as kv-cache.mjs, random weights, seed 1) and
// exports it with kvCache 'shared'. With --folder (an export folder, e.g. the GPT-2-small-shaped
// one bench:hf writes) it profiles that. --bound (with --folder) also times what streaming the
// weights once costs: a plain scan of as many bytes as the graph's MatMul and Gather weights, and
// one ONNX Runtime graph of single-row MatMuls against weights of the model's Linear and LM-head
// shapes (12 × 768 GPT-2: 124 M floats), interleaved with one decode step of the folder's
// onnx/model.onnx. --compare DIST adds attend as another build's runtime-onnx dist folder runs
// it (the code before a change, built with tsc --outDir), in the same rounds.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { generate, loadExportFolder } from '@attend/runtime-onnx/node';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const line = (s = '') => process.stdout.write(s + '\n');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const threads = Number(arg('--threads', 1));
const rounds = Number(arg('--rounds', 5));
let folder = arg('--folder', undefined);
const tokens = Number(arg('--tokens', folder ? 24 : 200));
line(`generate profile, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${threads} thread(s)`);

let root;
let prompt;
if (!folder) {
  const { babyGpt } = await import('./baby-gpt.mjs');
  const { exportFolder } = await import('@attend/runtime-onnx/node');
  const { tokenizer, config, files } = await babyGpt();
  root = mkdtempSync(join(tmpdir(), 'attend-generate-profile-'));
  const ckpt = join(root, 'ckpt');
  await mkdir(ckpt);
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(ckpt, name), bytes);
  folder = join(root, 'models', 'baby');
  await exportFolder(ckpt, folder, { kvCache: 'shared' });
  prompt = [config.bosTokenId, ...tokenizer.encode('First Citizen:\nBefore we proceed')];
}

try {
  folder = resolve(folder);
  if (process.argv.includes('--bound-only')) {
    await weightBound(folder);
    process.exit(0);
  }
  // attend as built here, and each --compare DIST (another build's runtime-onnx dist folder,
  // e.g. the code before a change) on the same folder.
  const builds = { attend: { loadExportFolder, generate } };
  for (let i = process.argv.indexOf('--compare'); i >= 0; i = process.argv.indexOf('--compare', i + 1)) {
    const dist = resolve(process.argv[i + 1]);
    builds[`attend (${basename(dist)})`] = await import(join(dist, 'node.js'));
  }
  const opened = {};
  for (const [who, build] of Object.entries(builds)) opened[who] = await build.loadExportFolder(folder, { numThreads: threads });
  prompt ??= opened.attend.tokenizer.encode('The quick brown fox jumps over the lazy dog, and then');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(folder);
  const theirs = await AutoModelForCausalLM.from_pretrained(basename(folder), { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } });

  /** Wraps `session.run`: each call's wall and CPU ms go to `log.calls`. */
  const wrap = (session, log) => {
    const run = session.run.bind(session);
    session.run = async (...a) => {
      const c0 = cpuMs();
      const t0 = performance.now();
      const out = await run(...a);
      log.calls.push({ ms: performance.now() - t0, cpu: cpuMs() - c0 });
      return out;
    };
  };
  const logs = { 'transformers.js': { calls: [] } };
  for (const [who, { model }] of Object.entries(opened)) wrap((model.inPlaceCache ?? model).ortSession.session, (logs[who] = { calls: [] }));
  wrap(theirs.sessions.model, logs['transformers.js']);
  line(`attend generates with ${opened.attend.model.inPlaceCache ? 'the in-place cache graph' : 'onnx/model.onnx'}; transformers.js with onnx/model.onnx`);

  const strategies = {
    greedy: { ours: { kind: 'greedy' }, theirs: { do_sample: false } },
    sampling: { ours: { kind: 'sample', seed: 1, temperature: 0.8, topK: 50, topP: 0.9 }, theirs: { do_sample: true, temperature: 0.8, top_k: 50, top_p: 0.9 } },
  };
  const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
  const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
  const runs = {
    ...Object.fromEntries(Object.entries(builds).map(([who, build]) => [who, async (s) => (await build.generate(opened[who].model, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))[0].length])),
    'transformers.js': async (s) => {
      const out = await theirs.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: tokens, min_new_tokens: tokens, ...strategies[s].theirs });
      return out.dims[1] - prompt.length;
    },
  };
  // The attend builds must generate the same tokens (greedy and seeded sampling).
  for (const s of Object.keys(strategies)) {
    const outs = await Promise.all(Object.entries(builds).map(async ([who, build]) => JSON.stringify(await build.generate(opened[who].model, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))));
    if (outs.some((o) => o !== outs[0])) throw new Error(`${s}: the attend builds generate different tokens`);
  }
  const samples = {};
  for (const s of Object.keys(strategies)) for (const who of Object.keys(runs)) await runs[who](s); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const s of Object.keys(strategies)) {
      for (const who of r % 2 === 0 ? Object.keys(runs) : Object.keys(runs).reverse()) {
        logs[who].calls = [];
        const c0 = cpuMs();
        const t0 = performance.now();
        const n = await runs[who](s);
        const ms = performance.now() - t0;
        const cpu = cpuMs() - c0;
        const calls = logs[who].calls;
        const sum = (xs, k) => xs.reduce((a, c) => a + c[k], 0);
        const steps = calls.slice(1);
        ((samples[s] ??= {})[who] ??= []).push({
          n, calls: calls.length, ms: ms / n, cpu: cpu / n,
          promptRunMs: calls[0].ms, promptRunCpu: calls[0].cpu,
          stepRunMs: sum(steps, 'ms') / steps.length, stepRunCpu: sum(steps, 'cpu') / steps.length,
          outsideMs: (ms - sum(calls, 'ms')) / n, outsideCpu: (cpu - sum(calls, 'cpu')) / n,
        });
      }
    }
  }
  const keys = ['ms', 'cpu', 'stepRunMs', 'stepRunCpu', 'outsideMs', 'outsideCpu', 'promptRunMs', 'promptRunCpu'];
  line(`${tokens} new tokens after a ${prompt.length}-token prompt, median of ${rounds} interleaved rounds, ms (per generated token unless said):`);
  line(`${''.padEnd(34)}${['total', 'total CPU', 'step run', 'step run CPU', 'outside run', 'outside CPU', 'prompt run', 'prompt CPU'].map((k) => k.padStart(13)).join('')}`);
  const result = {};
  for (const [s, by] of Object.entries(samples)) {
    for (const [who, xs] of Object.entries(by)) {
      const m = Object.fromEntries(keys.map((k) => [k, median(xs.map((x) => x[k]))]));
      (result[s] ??= {})[who] = m;
      line(`${`${s} ${who}`.padEnd(34)}${keys.map((k) => m[k].toFixed(3).padStart(13)).join('')}  (${xs[0].n} tokens, ${xs[0].calls} runs)`);
    }
    const t = result[s]['transformers.js'];
    for (const who of Object.keys(builds)) {
      const a = result[s][who];
      line(`${s}: transformers.js / ${who} = ${(t.ms / a.ms).toFixed(2)}× wall, ${(t.cpu / a.cpu).toFixed(2)}× CPU; step run ${(t.stepRunCpu / a.stepRunCpu).toFixed(2)}× CPU`);
    }
  }
  for (const o of Object.values(opened)) await o.release();
  await theirs.dispose();

  if (process.argv.includes('--bound')) await weightBound(folder);
  line(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  if (root) rmSync(root, { recursive: true, force: true });
}

/**
 * What one pass over the weights costs: a scan of the model's weight bytes (Buffer.indexOf of a
 * byte that is not there) and a graph of single-row MatMuls with the model's Linear and LM-head
 * shapes, against its step's ORT run.
 */
async function weightBound(dir) {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const d = config.n_embd;
  const L = config.n_layer;
  const V = config.vocab_size;
  const ff = config.n_inner ?? 4 * d;
  const shapes = [...Array.from({ length: L }, () => [[d, 3 * d], [d, d], [d, ff], [ff, d]]).flat(), [d, V]];
  const floats = shapes.reduce((a, [k, n]) => a + k * n, 0);
  const { GraphBuilder } = await import('../../packages/runtime-onnx/dist/onnx/graph.js');
  const { encodeModel } = await import('../../packages/runtime-onnx/dist/onnx/proto.js');
  const ort = createRequire(fileURLToPath(new URL('../../packages/runtime-onnx/package.json', import.meta.url)))('onnxruntime-node');
  const g = new GraphBuilder('weights');
  const xs = new Map();
  shapes.forEach(([k, n], i) => {
    if (!xs.has(k)) xs.set(k, g.input(`x${k}`, 'float32', [1, k]));
    const w = new Float32Array(k * n);
    for (let j = 0; j < w.length; j++) w[j] = ((j * 2654435761) % 1000) / 1000 - 0.5;
    g.output(`y${i}`, g.reduceSum(g.matMul(xs.get(k), g.initializer(`w${i}`, 'float32', [k, n], w)), [1], false), 'float32', [1]);
  });
  const session = await ort.InferenceSession.create(encodeModel(g.toModel({ producerName: 'attend-bench', producerVersion: '0' })), { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
  const feeds = Object.fromEntries([...xs.keys()].map((k) => [`x${k}`, new ort.Tensor('float32', new Float32Array(k).fill(0.01), [1, k])]));
  const bytes = Buffer.alloc(floats * 4, 7);
  // The folder's own graph, one decode step after 24 cached positions, as generation runs it.
  const model = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
  const P = 24;
  const H = config.n_head;
  const int64 = (xs) => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), [1, xs.length]);
  const stepFeeds = { input_ids: int64([5]), attention_mask: int64(new Array(P + 1).fill(1)), position_ids: int64([P]) };
  for (let i = 0; i < L; i++) for (const part of ['key', 'value']) stepFeeds[`past_key_values.${i}.${part}`] = new ort.Tensor('float32', new Float32Array(H * P * (d / H)), [1, H, P, d / H]);
  const contestants = { scan: async () => bytes.indexOf(1), matmuls: () => session.run(feeds), step: () => model.run(stepFeeds) };
  const times = Object.fromEntries(Object.keys(contestants).map((k) => [k, { ms: [], cpu: [] }]));
  for (let i = 0; i < 2; i++) for (const f of Object.values(contestants)) await f();
  for (let r = 0; r < 15; r++) {
    for (const [k, f] of Object.entries(contestants)) {
      const c0 = cpuMs();
      const t0 = performance.now();
      await f();
      times[k].ms.push(performance.now() - t0);
      times[k].cpu.push(cpuMs() - c0);
    }
  }
  await session.release();
  await model.release();
  const mb = (floats * 4) / 1e6;
  const show = (k, what) => line(`  ${what}: ${median(times[k].ms).toFixed(2)} ms wall, ${median(times[k].cpu).toFixed(2)} ms CPU (${(mb / median(times[k].cpu)).toFixed(1)} GB/s of weights per CPU second), median of 15 interleaved`);
  line(`weights of the MatMuls and LM head: ${(floats / 1e6).toFixed(1)} M floats = ${mb.toFixed(0)} MB`);
  show('scan', `scan of ${mb.toFixed(0)} MB (Buffer.indexOf)`);
  show('matmuls', 'single-row MatMuls against them (one ORT run)');
  show('step', `the folder's onnx/model.onnx, one decode step after ${P} positions`);
}
