#!/usr/bin/env node
// One MatMulNBits (4-bit weights; block size, accuracy_level, zero points varied) vs one fp32 MatMul and one DynamicQuantizeMatMul at the baby GPT's and GPT-2's weight shapes, onnxruntime-node CPU ms per call, 1 thread, interleaved medians.
//   node packages/runtime-onnx/bench/int4-matmul.mjs [--rows 768,128,1] [--rounds 9] [--only baby|gpt2|head] [--variants REGEX] [--json FILE]
// (--only head: GPT-2's tied LM head as a weight, 768 × 50257, which quantize-matmul.ts leaves fp32.)
// The graphs go through quantize-matmul.ts (a one-MatMul graph from the graph builder, quantized
// with minElements 1), so each variant is exactly what `quantizeMatMuls` would write. Time is the
// process's CPU time over enough calls for ≥ 4 ms, so other processes' load does not inflate it.
// "no prepack" rows run the same graph with session.disable_prepacking: what the op costs when its
// weight is not repacked at load (it is, when the weight is a constant initializer).

import * as ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRng } from '@attend/core';
import { GraphBuilder } from '../dist/onnx/graph.js';
import { encodeModel } from '../dist/onnx/proto.js';
import { quantizeMatMuls } from '../dist/quantize-matmul.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const rowsList = arg('rows', '768,128,1').split(',').map(Number);
const rounds = Number(arg('rounds', '9'));
const only = arg('only', undefined);
const jsonFile = arg('json', undefined);
const variantFilter = new RegExp(arg('variants', '.'));

// Weight shapes K × N: the baby GPT (d 128: fused QKV, out proj, fc1, fc2, untied head over 69)
// at its forward's 12 × 64 = 768 rows; GPT-2 (d 768) at 1 × 128 = 128 rows.
const MODELS = {
  baby: { rows: 768, shapes: [[128, 384], [128, 128], [128, 512], [512, 128], [128, 69]] },
  gpt2: { rows: 128, shapes: [[768, 2304], [768, 768], [768, 3072], [3072, 768]] },
  head: { rows: 128, shapes: [[768, 50257]], only: true },
};

const ALL_VARIANTS = [
  ['fp32', null],
  ['int8-dynamic', 'int8-dynamic'],
  ['int4 b16 a4', { blockSize: 16, accuracyLevel: 4 }],
  ['int4 b32 a4', { blockSize: 32, accuracyLevel: 4 }],
  ['int4 b64 a4', { blockSize: 64, accuracyLevel: 4 }],
  ['int4 b128 a4', { blockSize: 128, accuracyLevel: 4 }],
  ['int4 b256 a4', { blockSize: 256, accuracyLevel: 4 }],
  ['int4 b32 a4 zp', { blockSize: 32, accuracyLevel: 4, zeroPoints: true }],
  ['int4 b128 a4 zp', { blockSize: 128, accuracyLevel: 4, zeroPoints: true }],
  ['int4 b32 a0', { blockSize: 32, accuracyLevel: 0 }],
  ['int4 b32 a1', { blockSize: 32, accuracyLevel: 1 }],
  ['int4 b32 a2', { blockSize: 32, accuracyLevel: 2 }],
  ['int4 b64 a0', { blockSize: 64, accuracyLevel: 0 }],
  ['int4 b128 a0', { blockSize: 128, accuracyLevel: 0 }],
  ['int4 b32 a0 zp', { blockSize: 32, accuracyLevel: 0, zeroPoints: true }],
  ['fp32 no prepack', null, true],
  ['int4 b32 a4 no prepack', { blockSize: 32, accuracyLevel: 4 }, true],
];

const VARIANTS = ALL_VARIANTS.filter(([name]) => name === 'fp32' || variantFilter.test(name));

function matMulGraph(M, K, N, w) {
  const g = new GraphBuilder('mm');
  const x = g.input('x', 'float32', [M, K]);
  g.output('y', g.matMul(x, g.initializer('w', 'float32', [K, N], w)), 'float32', [M, N]);
  return encodeModel(g.toModel({ producerName: 'attend-bench', producerVersion: '0' }));
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

async function measure(M, K, N) {
  const rng = createRng(K * 7919 + N);
  const w = Float32Array.from({ length: K * N }, () => rng.normal() * 0.05);
  const x = Float32Array.from({ length: M * K }, () => rng.normal());
  const fp32 = matMulGraph(M, K, N, w);
  const feeds = { x: new ort.Tensor('float32', x, [M, K]) };
  const rows = [];
  for (const [name, scheme, noPrepack] of VARIANTS) {
    const bytes = scheme === null ? fp32 : scheme === 'int8-dynamic' ? quantizeMatMuls(fp32, 'int8-dynamic', { minElements: 1 }) : quantizeMatMuls(fp32, 'int4', { minElements: 1, int4: scheme });
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
      ...(noPrepack ? { extra: { session: { disable_prepacking: '1' } } } : {}),
    });
    const y = (await session.run(feeds)).y.data;
    // Calls per sample: enough for ≥ 4 ms of CPU.
    const c = cpuMs();
    await session.run(feeds);
    const calls = Math.max(1, Math.ceil(4 / Math.max(0.005, cpuMs() - c)));
    rows.push({ name, session, calls, y, samples: [] });
  }
  const ref = rows[0].y;
  const scale = maxAbs(ref);
  for (let r = 0; r < rounds; r++) {
    for (const row of rows) {
      const c = cpuMs();
      for (let i = 0; i < row.calls; i++) await row.session.run(feeds);
      row.samples.push((cpuMs() - c) / row.calls);
    }
  }
  const out = {};
  for (const row of rows) {
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(row.y[i] - ref[i]));
    out[row.name] = { ms: median(row.samples), calls: row.calls, relMaxDiff: d / scale };
    await row.session.release();
  }
  return out;
}

const load0 = loadavg();
const result = { date: new Date().toISOString(), onnxruntime: ort.env.versions?.node, loadAverageAtStart: load0, rounds, shapes: {} };
console.log(`MatMulNBits vs MatMul, onnxruntime-node ${result.onnxruntime}, 1 thread, CPU ms per call (median of ${rounds} interleaved rounds); load ${load0.map((v) => v.toFixed(2)).join(' ')}`);
for (const [model, { rows: modelRows, shapes, only: onlyWhenAsked }] of Object.entries(MODELS)) {
  if (only ? only !== model : onlyWhenAsked) continue;
  for (const M of rowsList.map((m) => (m === 768 || m === 128 ? modelRows : m)).filter((m, i, a) => a.indexOf(m) === i)) {
    const table = {};
    for (const [K, N] of shapes) table[`${K}x${N}`] = await measure(M, K, N);
    result.shapes[`${model} M=${M}`] = table;
    const cols = Object.keys(table);
    console.log(`\n${model}, M = ${M}: ms per call (× = fp32 ms / this ms; d = max |Δy| / max |y_fp32|)`);
    console.log(`| variant | ${cols.map((c) => `${c}`).join(' | ')} | sum | × |`);
    console.log(`|---|${cols.map(() => '---|').join('')}---|---|`);
    const sum = (name) => cols.reduce((s, c) => s + table[c][name].ms, 0);
    for (const [name] of VARIANTS) {
      const cells = cols.map((c) => `${table[c][name].ms.toFixed(3)} (${(table[c].fp32.ms / table[c][name].ms).toFixed(2)}×${name === 'fp32' ? '' : `, d ${table[c][name].relMaxDiff.toExponential(0)}`})`);
      console.log(`| ${name} | ${cells.join(' | ')} | ${sum(name).toFixed(3)} | ${(sum('fp32') / sum(name)).toFixed(2)} |`);
    }
  }
}
result.loadAverageAtEnd = loadavg();
console.log(`\nload ${load0.map((v) => v.toFixed(2)).join(' ')} → ${result.loadAverageAtEnd.map((v) => v.toFixed(2)).join(' ')}`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(result, null, 1) + '\n');
