// scratch (not committed): optimized export graph under ORT optimization levels vs torch graph
import * as ortNode from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelConfig, createRng } from '@attend/core';
import { serializeCheckpoint, setupBackend, TransformerModel } from '@attend/transformer';
import { exportCheckpointFiles } from '../dist/export.js';
const here = dirname(fileURLToPath(import.meta.url));
await setupBackend(['cpu']);
console.log('load', loadavg().map((x) => x.toFixed(1)).join(' '));
const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 69, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 256, dropout: 0, positional: 'learned' });
const m = new TransformerModel(config, { seed: 1 });
const ckpt = serializeCheckpoint({ model: m });
m.dispose();
const work = mkdtempSync(join(tmpdir(), 'gen19-levels-'));
const dir = join(work, 'ck'); mkdirSync(dir);
for (const [n, b] of Object.entries(ckpt)) writeFileSync(join(dir, n), b);
const r = spawnSync('/usr/bin/python3', [join(here, 'torch-graph.py'), dir, join(work, 't.onnx')], { encoding: 'utf8' });
const torch = r.status === 0 ? readFileSync(join(work, 't.onnx')) : undefined;
if (!torch) console.log('no torch', r.stderr.slice(-300));
const opt = exportCheckpointFiles(ckpt, { kvCache: true, optimize: true });
const std = exportCheckpointFiles(ckpt, { kvCache: true });
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rng = createRng(3);
for (const [b, t] of [[12, 64], [1, 256]]) {
  const ids = BigInt64Array.from({ length: b * t }, () => BigInt(4 + Math.floor(rng.next() * 60)));
  const plain = { input_ids: new ortNode.Tensor('int64', ids, [b, t]), attention_mask: new ortNode.Tensor('int64', new BigInt64Array(b * t).fill(1n), [b, t]) };
  const feeds = { ...plain, position_ids: new ortNode.Tensor('int64', BigInt64Array.from({ length: b * t }, (_, i) => BigInt(i % t)), [b, t]) };
  for (let i = 0; i < 4; i++) for (const p of ['key', 'value']) feeds[`past_key_values.${i}.${p}`] = new ortNode.Tensor('float32', new Float32Array(0), [b, 4, 0, 32]);
  const cs = [];
  for (const level of ['all', 'extended', 'basic']) cs.push([`opt ${level}`, opt, feeds, level]);
  cs.push(['std all', std, feeds, 'all'], ['std basic', std, feeds, 'basic']);
  if (torch) cs.push(['torch all', torch, { input_ids: plain.input_ids }, 'all']);
  const rows = [];
  for (const [name, bytes, f, level] of cs) {
    const s = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: level, logSeverityLevel: 3 });
    const out = await s.run(f); rows.push({ name, s, f, cpu: [], logits: out.logits.data });
  }
  for (let rep = 0; rep < 40; rep++) for (const row of rows) { const c = cpuMs(); await row.s.run(row.f); row.cpu.push(cpuMs() - c); }
  const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const base = rows[0].logits;
  for (const row of rows) {
    let d = 0; for (let i = 0; i < base.length; i++) d = Math.max(d, Math.abs(base[i] - row.logits[i]));
    console.log(`${b}x${t} ${row.name.padEnd(14)} cpu ${med(row.cpu).toFixed(2)} ms  diff ${d.toExponential(1)}`);
  }
}
console.log('load', loadavg().map((x) => x.toFixed(1)).join(' '));
