#!/usr/bin/env node
// The KV cache that stays put (issue 19 §2), on nanoGPT's CPU "baby GPT" (decoder-lm, 4 layers,
// 4 heads, dModel 128, maxSeqLen 520, a 65-character vocabulary + attend's 4 specials; random
// weights, seed 1), in one process, contestants in interleaved rounds (medians), with the load
// average at the start and the end:
//   1. per-token decode latency (batch 1) at positions 32, 128 and 512: one generation step
//      (input checks included) on the standard KV-cache graph (the export folder's
//      onnx/model.onnx: the whole past in, the extended cache out, as `runCached`) and on the
//      shared-cache graph (kvCache: 'shared': GroupQueryAttention over buffers updated in place,
//      with the capacity generation has there, as `runSharedCache`), onnxruntime-node 1 and 2 threads, and both
//      on onnxruntime-web (WASM, 1 thread), where the shared graph's present outputs come back as the next cache;
//   2. generation of N tokens after a short prompt, greedy and sampling (temperature 0.8,
//      top-k 50), ms per generated token, all from one export folder written with
//      kvCache 'shared': attend `generate` on the folder as loadExportFolder opens it (which
//      generates with onnx/model_shared_cache.onnx on onnxruntime-node's CPU), attend on the
//      folder's standard graph (onnx/model.onnx alone), and transformers.js
//      (AutoModelForCausalLM.generate, which reads onnx/model.onnx), 1 and 2 intra-op threads.
// Each figure is given as wall time and as process CPU time (user + system, all threads), which
// other processes on a loaded machine inflate far less; with 2 threads CPU time sums both.
// Prints the ratios and writes bench/results/kv-cache.json at the repo root.
//   node e2e/bench/kv-cache.mjs [--tokens N] [--rounds R] [--quick] [--per-token-only] (part 1 alone; writes no file)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '@attend/core';
import { createOnnxModel, exportCheckpointFiles, exportFolder, generate, loadExportFolder } from '@attend/runtime-onnx/node';
import { createOnnxModel as createWebModel } from '@attend/runtime-onnx/web';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { babyGpt } from './baby-gpt.mjs';
import { positionStep } from '../../packages/runtime-onnx/bench/position-step.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const quick = process.argv.includes('--quick');
const perTokenOnly = process.argv.includes('--per-token-only');
const tokens = arg('--tokens', quick ? 60 : 200);
const rounds = arg('--rounds', quick ? 3 : 5);
const line = (s = '') => process.stdout.write(s + '\n');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Process CPU ms (user + system). */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const loadAtStart = loadavg();
line(`KV-cache benchmark, ${cpus()[0]?.model.trim()} (${cpus().length} cores), load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`);

const { tokenizer, config, files } = await babyGpt();
const H = config.numHeads;
const D = config.dModel / H;
const L = config.numDecoderLayers;
const root = mkdtempSync(join(tmpdir(), 'attend-kv-cache-'));
const result = { date: new Date().toISOString(), cpuModel: cpus()[0]?.model.trim(), cores: cpus().length, loadAverageAtStart: loadAtStart, model: { ...config, weights: 'random (seed 1)' } };

try {
  const standardBytes = exportCheckpointFiles(files, { kvCache: true });
  const sharedBytes = exportCheckpointFiles(files, { kvCache: 'shared' });

  // ---- 1. per-token latency at fixed positions ---------------------------------------------
  const positions = [32, 128, 512];
  const rng = createRng(3);
  const seq = Array.from({ length: 520 }, () => 4 + Math.floor(rng.next() * (config.vocabSize - 4)));
  const steps = {};
  const shape = { numHeads: H, headDim: D, numLayers: L, maxSeqLen: config.maxSeqLen };
  const stepsFor = async (name, model, shared) => {
    for (const p of positions) steps[`${name}@${p}`] = { run: await positionStep(model, seq, p, shared, shape), samples: [], cpu: [] };
  };
  const sessions = [];
  for (const threads of [1, 2]) {
    const standard = await createOnnxModel(standardBytes, { numThreads: threads });
    const shared = await createOnnxModel(sharedBytes, { numThreads: threads });
    sessions.push(standard, shared);
    await stepsFor(`node ${threads}T standard`, standard, false);
    await stepsFor(`node ${threads}T shared`, shared, true);
  }
  const web = await createWebModel(standardBytes, { numThreads: 1 });
  const webShared = await createWebModel(sharedBytes, { numThreads: 1 });
  sessions.push(web, webShared);
  await stepsFor('web 1T standard', web, false);
  await stepsFor('web 1T shared', webShared, true);
  for (const s of Object.values(steps)) for (let i = 0; i < 10; i++) await s.run();
  const reps = quick ? 60 : 300;
  for (let r = 0; r < reps; r++) {
    for (const s of Object.values(steps)) {
      // One untimed call first: the timed one then finds its session's weights and cache in the
      // processor's caches, as a generation's consecutive steps do, instead of paying for the
      // other contestants' runs in between (which made position 32, timed first, the slowest).
      await s.run();
      const c0 = cpuMs();
      const t0 = performance.now();
      await s.run();
      s.samples.push(performance.now() - t0);
      s.cpu.push(cpuMs() - c0);
    }
  }
  for (const m of sessions) await m.release();
  result.perToken = {};
  for (const name of new Set(Object.keys(steps).map((k) => k.split('@')[0]))) {
    const ms = Object.fromEntries(positions.map((p) => [p, median(steps[`${name}@${p}`].samples)]));
    const cpu = Object.fromEntries(positions.map((p) => [p, median(steps[`${name}@${p}`].cpu)]));
    result.perToken[name] = { msPerToken: ms, cpuMsPerToken: cpu, ratio512over32: ms[512] / ms[32], cpuRatio512over32: cpu[512] / cpu[32], reps };
  }
  line();
  line(`Per-token decode latency (batch 1), ms, median of ${reps} interleaved steps (wall | CPU):`);
  line(`${'graph'.padEnd(22)}${positions.map((p) => `@${p}`.padStart(9)).join('')}${'512/32'.padStart(9)} |${positions.map((p) => `@${p}`.padStart(9)).join('')}${'512/32'.padStart(9)}`);
  for (const [name, r] of Object.entries(result.perToken)) {
    line(`${name.padEnd(22)}${positions.map((p) => r.msPerToken[p].toFixed(3).padStart(9)).join('')}${r.ratio512over32.toFixed(2).padStart(9)} |${positions.map((p) => r.cpuMsPerToken[p].toFixed(3).padStart(9)).join('')}${r.cpuRatio512over32.toFixed(2).padStart(9)}`);
  }
  for (const host of ['node 1T', 'node 2T', 'web 1T']) {
    const s = result.perToken[`${host} standard`];
    const x = result.perToken[`${host} shared`];
    line(`${host}: shared-cache step ${positions.map((p) => `${(s.msPerToken[p] / x.msPerToken[p]).toFixed(2)}×`).join(' / ')} as fast as the standard one at ${positions.join(' / ')} (CPU: ${positions.map((p) => `${(s.cpuMsPerToken[p] / x.cpuMsPerToken[p]).toFixed(2)}×`).join(' / ')})`);
  }

  if (perTokenOnly) {
    line(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    rmSync(root, { recursive: true, force: true });
    process.exit(0);
  }

  // ---- 2. generation: attend (standard folder, shared graph) vs transformers.js --------------
  const ckpt = join(root, 'ckpt');
  await mkdir(ckpt);
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(ckpt, name), bytes);
  await exportFolder(ckpt, join(root, 'models', 'baby'), { kvCache: 'shared' });
  env.allowRemoteModels = false;
  env.localModelPath = join(root, 'models');
  const prompt = [config.bosTokenId, ...tokenizer.encode('First Citizen:\nBefore we proceed')];
  const strategies = {
    greedy: { ours: { kind: 'greedy' }, theirs: { do_sample: false } },
    sampling: { ours: { kind: 'sample', seed: 1, temperature: 0.8, topK: 50 }, theirs: { do_sample: true, temperature: 0.8, top_k: 50 } },
  };
  const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
  const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
  result.generation = { tokens, rounds, promptTokens: prompt.length, threads: {} };
  for (const threads of [1, 2]) {
    const { model: folder, release } = await loadExportFolder(join(root, 'models', 'baby'), { numThreads: threads });
    if (!folder.inPlaceCache) throw new Error('the folder did not open its in-place cache graph');
    const standard = await createOnnxModel(standardBytes, { numThreads: threads });
    result.generation.folderGraph = folder.inPlaceCache.source.slice(join(root, 'models', 'baby').length + 1);
    const theirs = await AutoModelForCausalLM.from_pretrained('baby', { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } });
    // eos is the config's; min_new_tokens keeps transformers.js going as long as attend, which is told the same count.
    const runs = {
      'attend (folder)': async (s) => (await generate(folder, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))[0].length,
      'attend (standard graph)': async (s) => (await generate(standard, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))[0].length,
      'transformers.js': async (s) => {
        const out = await theirs.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: tokens, ...strategies[s].theirs });
        return out.dims[1] - prompt.length;
      },
    };
    const samples = {};
    const cpu = {};
    const counts = {};
    for (const s of Object.keys(strategies)) for (const who of Object.keys(runs)) await runs[who](s); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const s of Object.keys(strategies)) {
        const order = r % 2 === 0 ? Object.keys(runs) : Object.keys(runs).reverse();
        for (const who of order) {
          const c0 = cpuMs();
          const t0 = performance.now();
          const n = await runs[who](s);
          ((samples[s] ??= {})[who] ??= []).push((performance.now() - t0) / Math.max(n, 1));
          ((cpu[s] ??= {})[who] ??= []).push((cpuMs() - c0) / Math.max(n, 1));
          ((counts[s] ??= {})[who] ??= []).push(n);
        }
      }
    }
    await release();
    await standard.release();
    await theirs.dispose();
    result.generation.threads[threads] = Object.fromEntries(Object.entries(samples).map(([s, by]) => {
      const ms = Object.fromEntries(Object.entries(by).map(([who, xs]) => [who, median(xs)]));
      const c = Object.fromEntries(Object.entries(cpu[s]).map(([who, xs]) => [who, median(xs)]));
      const t = ms['transformers.js'];
      const tc = c['transformers.js'];
      return [s, {
        msPerToken: ms, cpuMsPerToken: c, generatedTokens: counts[s],
        speedupFolder: t / ms['attend (folder)'], speedupStandard: t / ms['attend (standard graph)'],
        cpuSpeedupFolder: tc / c['attend (folder)'], cpuSpeedupStandard: tc / c['attend (standard graph)'],
      }];
    }));
  }
  line();
  line(`Generation, ${tokens} new tokens at most after a ${prompt.length}-token prompt, ms per generated token, median of ${rounds} interleaved rounds; attend (folder) generates with ${result.generation.folderGraph}:`);
  for (const [threads, byStrategy] of Object.entries(result.generation.threads)) {
    for (const [s, g] of Object.entries(byStrategy)) {
      line(`${threads}T ${s.padEnd(9)} wall ${Object.entries(g.msPerToken).map(([who, ms]) => `${who} ${ms.toFixed(3)}`).join(', ')} → vs transformers.js: folder ${g.speedupFolder.toFixed(2)}×, standard graph ${g.speedupStandard.toFixed(2)}× (tokens generated: ${[...new Set(Object.values(g.generatedTokens).flat())].join('/')})`);
      line(`${' '.repeat(threads.length + 11)} CPU  ${Object.entries(g.cpuMsPerToken).map(([who, ms]) => `${who} ${ms.toFixed(3)}`).join(', ')} → vs transformers.js: folder ${g.cpuSpeedupFolder.toFixed(2)}×, standard graph ${g.cpuSpeedupStandard.toFixed(2)}×`);
    }
  }
  result.loadAverageAtEnd = loadavg();
  line(`load average at the end ${result.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' ')}`);
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(join(repoRoot, 'bench/results/kv-cache.json'), JSON.stringify(result, null, 2) + '\n');
  line('wrote bench/results/kv-cache.json');
} finally {
  rmSync(root, { recursive: true, force: true });
}
