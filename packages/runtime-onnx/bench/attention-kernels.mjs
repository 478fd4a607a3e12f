// ONNX Runtime's CPU attention kernels alone, one layer of the baby GPT of bench:infer's export-graph
// comparison (4 heads of 32, d 128, empty past), at its two shapes (12 × 64 and 1 × 256), one
// intra-op thread: what the causal mask costs each way of computing causal attention.
//   - Softmax over the scores [B, H, T, T]: unmasked; the upper triangle at −1e9 (MASKED_SCORE),
//     −inf or −30; or the masked scores set to the row's largest allowed score − 60 (a ReduceMax
//     and two Wheres before it).
//   - MultiHeadAttention (the optimized graph's, Q, K, V split from one packed tensor): attention
//     bias [B, H, T, T] zero, causal at −1e9, causal at −30.
//   - GroupQueryAttention (the shared-cache graph's; causal by buffer index): Q, K, V packed,
//     without a bias, with the causal bias [B, 1, T, T] at −1e9, and Q, K, V split with it.
// A masked score whose exp falls below FLT_MIN (e^−87.3) costs an Intel CPU a microcode assist
// per entry; −30 keeps the masked exps normal floats but is not exact (a masked score 30 above
// the allowed ones leaks through). Prints CPU ms per call (process CPU time; medians of
// interleaved rounds, so a shared machine's load hits every case alike) and the largest
// difference of each output from its exact (−1e9) counterpart. Run after building runtime-onnx:
//   node packages/runtime-onnx/bench/attention-kernels.mjs [--quick]

import * as ort from 'onnxruntime-node';
import { cpus, loadavg } from 'node:os';
import { attr, GraphBuilder } from '../dist/onnx/graph.js';
import { encodeModel } from '../dist/onnx/proto.js';

const H = 4;
const D = 32;
const d = H * D;
const rounds = process.argv.includes('--quick') ? 10 : 40;
const line = (s = '') => process.stdout.write(s + '\n');

/** Process CPU ms (user + system). */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function encode(g) {
  return encodeModel(g.toModel({ producerName: 'attention-kernels', producerVersion: '0' }));
}

/** Softmax over `scores` [B, H, T, K] (+ `bias` when given). */
function softmaxGraph(withBias) {
  const g = new GraphBuilder('softmax');
  const scores = g.input('scores', 'float32', ['B', H, 'T', 'K']);
  const x = withBias ? g.add(scores, g.input('bias', 'float32', ['B', H, 'T', 'K'])) : scores;
  g.output('y', g.softmax(x), 'float32', ['B', H, 'T', 'K']);
  return encode(g);
}

/** Softmax with the masked scores (`allowed` false) at the row's largest allowed score − 60. */
function rowMaxSoftmaxGraph() {
  const g = new GraphBuilder('softmax-row-max');
  const scores = g.input('scores', 'float32', ['B', H, 'T', 'K']);
  const allowed = g.input('allowed', 'bool', ['B', 1, 'T', 'K']);
  const rowMax = g.op('ReduceMax', [g.where(allowed, scores, g.floats([-1e9]))], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  g.output('y', g.softmax(g.where(allowed, scores, g.sub(rowMax, g.floats([60])))), 'float32', ['B', H, 'T', 'K']);
  return encode(g);
}

/** MultiHeadAttention or GroupQueryAttention over Q, K, V packed [B, T, 3d], empty past, present out. */
function attentionGraph(op, { bias, packed }) {
  const g = new GraphBuilder(op, true);
  const qkv = g.input('qkv', 'float32', ['B', 'T', 3 * d]);
  const pastKey = g.input('past_key', 'float32', ['B', H, 'P', D]);
  const pastValue = g.input('past_value', 'float32', ['B', H, 'P', D]);
  const b = bias ? g.input('bias', 'float32', ['B', 'h', 'T', 'K']) : '';
  const scale = attr.float(1 / Math.sqrt(D));
  let outs;
  if (op === 'GroupQueryAttention') {
    const seqlens = g.input('seqlens_k', 'int32', ['B']);
    const total = g.input('total_sequence_length', 'int32', [1]);
    const [q, k, v] = packed ? [qkv, '', ''] : g.split(qkv, 2, 3);
    outs = g.msOp(op, [q, k, v, pastKey, pastValue, seqlens, total, '', '', '', b], [true, true, true], { num_heads: attr.int(H), kv_num_heads: attr.int(H), scale });
  } else {
    const [q, k, v] = g.split(qkv, 2, 3);
    outs = g.msOp(op, [q, k, v, '', '', b, pastKey, pastValue], [true, true, true], { num_heads: attr.int(H), scale });
  }
  g.output('y', outs[0], 'float32', ['B', 'T', d]);
  g.output('present_key', outs[1], 'float32', ['B', H, 'K', D]);
  g.output('present_value', outs[2], 'float32', ['B', H, 'K', D]);
  return encode(g);
}

/** A deterministic uniform(−1, 1) array. */
function uniform(n, seed) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** [B, heads, T, T]: 0 on and below the diagonal, `masked` above it. */
function causal(B, heads, T, masked) {
  const a = new Float32Array(B * heads * T * T);
  for (let m = 0; m < B * heads; m++) for (let i = 0; i < T; i++) a.fill(masked, (m * T + i) * T + i + 1, (m * T + i + 1) * T);
  return a;
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

line(`attention kernels — ${cpus()[0]?.model ?? 'unknown CPU'}, onnxruntime-node ${ort.env.versions?.node ?? '?'}, 1 thread, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const [B, T] of [[12, 64], [1, 256]]) {
  const t = (data, dims, type = 'float32') => new ort.Tensor(type, data, dims);
  const scores = t(uniform(B * H * T * T, 7).map((x) => 4 * x), [B, H, T, T]);
  const allowed = t(Uint8Array.from(causal(B, 1, T, 1), (x) => (x ? 0 : 1)), [B, 1, T, T], 'bool');
  const empty = t(new Float32Array(0), [B, H, 0, D]);
  const qkv = { qkv: t(uniform(B * T * 3 * d, 11), [B, T, 3 * d]), past_key: empty, past_value: empty };
  const lengths = { seqlens_k: t(new Int32Array(B).fill(T - 1), [B], 'int32'), total_sequence_length: t(Int32Array.from([T]), [1], 'int32') };
  const softmax = softmaxGraph(true);
  const mha = attentionGraph('MultiHeadAttention', { bias: true });
  const cases = [
    // [name, model, feeds, the exact case to compare with]
    ['Softmax, unmasked', softmaxGraph(false), { scores }],
    ['Softmax, causal −1e9', softmax, { scores, bias: t(causal(B, H, T, -1e9), [B, H, T, T]) }],
    ['Softmax, causal −inf', softmax, { scores, bias: t(causal(B, H, T, -Infinity), [B, H, T, T]) }, 'Softmax, causal −1e9'],
    ['Softmax, causal −30', softmax, { scores, bias: t(causal(B, H, T, -30), [B, H, T, T]) }, 'Softmax, causal −1e9'],
    ['Softmax, masked at row max − 60', rowMaxSoftmaxGraph(), { scores, allowed }, 'Softmax, causal −1e9'],
    ['MultiHeadAttention, zero bias', mha, { ...qkv, bias: t(new Float32Array(B * H * T * T), [B, H, T, T]) }],
    ['MultiHeadAttention, causal −1e9', mha, { ...qkv, bias: t(causal(B, H, T, -1e9), [B, H, T, T]) }],
    ['MultiHeadAttention, causal −30', mha, { ...qkv, bias: t(causal(B, H, T, -30), [B, H, T, T]) }, 'MultiHeadAttention, causal −1e9'],
    ['GroupQueryAttention, packed, no bias', attentionGraph('GroupQueryAttention', { packed: true }), { ...qkv, ...lengths }, 'MultiHeadAttention, causal −1e9'],
    ['GroupQueryAttention, packed, causal bias', attentionGraph('GroupQueryAttention', { packed: true, bias: true }), { ...qkv, ...lengths, bias: t(causal(B, 1, T, -1e9), [B, 1, T, T]) }, 'MultiHeadAttention, causal −1e9'],
    ['GroupQueryAttention, split, causal bias', attentionGraph('GroupQueryAttention', { bias: true }), { ...qkv, ...lengths, bias: t(causal(B, 1, T, -1e9), [B, 1, T, T]) }, 'MultiHeadAttention, causal −1e9'],
  ];
  const rows = [];
  const outputs = new Map();
  for (const [name, model, feeds, exact] of cases) {
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
    outputs.set(name, (await session.run(feeds)).y.data);
    rows.push({ name, session, feeds, exact, ms: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const row of rows) {
      const c = cpuMs();
      for (let i = 0; i < 5; i++) await row.session.run(row.feeds);
      row.ms.push((cpuMs() - c) / 5);
    }
  }
  line(`\n${B} × ${T} (load ${loadavg()[0].toFixed(2)}), CPU ms per call, median of ${rounds} interleaved rounds`);
  for (const row of rows) {
    const ms = [...row.ms].sort((a, b) => a - b)[Math.floor(rounds / 2)];
    const diff = row.exact ? `  max |Δ| vs ${row.exact}: ${maxAbsDiff(outputs.get(row.name), outputs.get(row.exact)).toExponential(1)}` : '';
    line(`  ${row.name.padEnd(42)} ${ms.toFixed(3)}${diff}`);
    await row.session.release();
  }
}
