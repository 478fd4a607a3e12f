#!/usr/bin/env node
// Load benchmark of `attend serve` (issue 7) on loopback with autocannon. The server is the
// built CLI in a child process (`attend serve --port 0`), so that the load generator does not
// share its event loop; the model is nanoGPT's CPU "baby GPT" shape (decoder-lm, 4 layers,
// 4 heads, dModel 128, context 64, character vocabulary; random weights), exported to ONNX.
// Each request: POST /v1/generate, an 8-character prompt, 16 new tokens, greedy.
//
// Runs, each bounded by --duration seconds and --amount requests (autocannon's maxOverallRequests): 1, 8 and 64 concurrent
// clients with batching on (--max-batch 32) and off (--no-batching); then --long seconds at 64
// clients with batching on, sampling the server's RSS (from /metrics) every 5 s.
// Prints a table and writes bench/results/serve.json at the repo root:
//   npm run bench:serve [-- --duration 10 --long 60]

import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharTokenizer, createModelConfig } from '@attend/core';
import { exportFolder } from '@attend/runtime-onnx/node';
import { serializeCheckpoint, setupBackend, TransformerModel } from '@attend/transformer';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const bin = resolve(here, '../dist/bin.js');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const duration = flag('duration', 10);
const longDuration = flag('long', 60);
const amount = flag('amount', 200_000);
const NEW_TOKENS = 16;
const body = JSON.stringify({ prompt: 'to be or', maxNewTokens: NEW_TOKENS });

async function makeExport(dir) {
  await setupBackend();
  const tokenizer = CharTokenizer.fromAlphabet("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?'-\n");
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 64, dropout: 0 });
  const model = new TransformerModel(config, { seed: 1 });
  const ckpt = join(dir, 'ckpt');
  mkdirSync(ckpt);
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }))) writeFileSync(join(ckpt, name), bytes);
  model.dispose();
  await exportFolder(ckpt, join(dir, 'onnx'));
  return { folder: join(dir, 'onnx'), config };
}

/** Starts `attend serve`; resolves with its URL and a stop function (SIGTERM, waits for exit). */
function startServer(folder, extra) {
  const child = spawn(process.execPath, [bin, 'serve', folder, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        const stop = () =>
          new Promise((r) => {
            child.on('close', (code) => r(code));
            child.kill('SIGTERM');
          });
        resolvePromise({ url: m[1], stop, crashed: () => child.exitCode !== null });
      }
    });
    child.on('close', (code) => reject(new Error(`attend serve exited ${code}: ${err}`)));
  });
}

async function rssMB(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^attend_process_resident_memory_bytes (\d+)/m.exec(text)[1]) / 1e6;
}

async function batchStats(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = Number(/^attend_batch_size_sum (\d+)/m.exec(text)?.[1] ?? 0);
  const count = Number(/^attend_batch_size_count (\d+)/m.exec(text)?.[1] ?? 0);
  return { sum, count };
}

async function load(url, connections, seconds) {
  const r = await autocannon({ url: `${url}/v1/generate`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds, maxOverallRequests: Math.max(amount, connections), timeout: 60 });
  return {
    connections,
    seconds: r.duration,
    ok: r['2xx'],
    requestsPerSecond: Number((r['2xx'] / r.duration).toFixed(1)),
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'attend-bench-serve-'));
try {
  const { folder, config } = await makeExport(dir);
  const runs = [];
  for (const batching of [true, false]) {
    const server = await startServer(folder, batching ? ['--max-batch', '32'] : ['--no-batching']);
    // Warm-up: a few requests so that the first timed one does not pay ORT's first-run cost.
    await load(server.url, 4, 1);
    for (const connections of [1, 8, 64]) {
      const before = await batchStats(server.url);
      const rssBefore = await rssMB(server.url);
      const run = await load(server.url, connections, duration);
      const after = await batchStats(server.url);
      const batches = after.count - before.count;
      runs.push({ batching, ...run, meanBatch: batches ? Number(((after.sum - before.sum) / batches).toFixed(2)) : 0, rssMB: { before: Number(rssBefore.toFixed(1)), after: Number((await rssMB(server.url)).toFixed(1)) } });
      console.log(JSON.stringify(runs.at(-1)));
    }
    const code = await server.stop();
    if (code !== 0) throw new Error(`attend serve exited ${code} on SIGTERM`);
  }

  const server = await startServer(folder, ['--max-batch', '32']);
  await load(server.url, 4, 1);
  const rss = [{ at: 0, mb: Number((await rssMB(server.url)).toFixed(1)) }];
  const t0 = Date.now();
  const sampler = setInterval(async () => rss.push({ at: Math.round((Date.now() - t0) / 1000), mb: Number((await rssMB(server.url)).toFixed(1)) }), 5000);
  const long = await load(server.url, 64, longDuration);
  clearInterval(sampler);
  rss.push({ at: Math.round((Date.now() - t0) / 1000), mb: Number((await rssMB(server.url)).toFixed(1)) });
  const crashed = server.crashed();
  const exitCode = await server.stop();

  const at64 = (b) => runs.find((r) => r.batching === b && r.connections === 64).requestsPerSecond;
  const speedup = Number((at64(true) / at64(false)).toFixed(2));
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))), note: 'a 2-core machine shared with other sessions; server and load generator on the same cores' },
    model: { preset: config.preset, dModel: config.dModel, numHeads: config.numHeads, numDecoderLayers: config.numDecoderLayers, maxSeqLen: config.maxSeqLen, vocabSize: config.vocabSize, weights: 'random' },
    request: { route: '/v1/generate', prompt: 'to be or', maxNewTokens: NEW_TOKENS, strategy: 'greedy' },
    runs,
    long: { ...long, batching: true, rssMB: rss, serverCrashed: crashed, exitCodeOnSigterm: exitCode },
    targets: {
      zeroErrorsAt64For60s: { met: long.errors === 0 && long.non2xx === 0 && !crashed && longDuration >= 60, errors: long.errors, non2xx: long.non2xx, seconds: long.seconds },
      batchingSpeedupAt64: { met: speedup >= 3, speedup, target: 3 },
      rssFlat: { first: rss[0].mb, max: Math.max(...rss.map((s) => s.mb)), last: rss.at(-1).mb },
    },
  };
  console.log('\nbatching  clients   req/s    p50 ms   p99 ms  errors  non2xx  mean batch');
  for (const r of runs) console.log(`${(r.batching ? 'on' : 'off').padEnd(9)} ${String(r.connections).padStart(7)} ${String(r.requestsPerSecond).padStart(7)} ${String(r.latencyMs.p50).padStart(8)} ${String(r.latencyMs.p99).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(7)} ${String(r.meanBatch).padStart(11)}`);
  console.log(`\n${longDuration} s at 64 clients (batching on): ${long.requestsPerSecond} req/s, p99 ${long.latencyMs.p99} ms, ${long.errors} errors, ${long.non2xx} non-2xx; RSS ${rss.map((s) => s.mb).join(' → ')} MB`);
  console.log(`batching speedup at 64 clients: ${speedup}× (target ≥ 3×)`);
  const out = join(repoRoot, 'bench', 'results', 'serve.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
