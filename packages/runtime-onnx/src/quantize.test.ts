// int8 weight quantization: the ModelProto decoder round-trips the exporter's bytes exactly;
// the quantized model is 3.5–4× smaller, runs on onnxruntime-node and onnxruntime-web (same
// logits on both), stays close to fp32 on a random-weight baby-GPT-sized model (max abs diff
// and top-1 agreement, printed with QUANT_REPORT=1) and works for the KV-cache graph too. The
// exact match of a trained LM under int8 is checked in e2e/src/quantize-trained.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, createRng, type DecoderLmConfig, type ModelConfigInput } from '@attend/core';
import { setupBackend, TransformerModel } from '@attend/transformer';
import { createOnnxModel } from './node.js';
import { createOnnxModel as createWebModel } from './web.js';
import { exportCheckpointFiles } from './export.js';
import * as ortNode from 'onnxruntime-node';
import { GraphBuilder } from './onnx/graph.js';
import { encodeModel, type GraphProto, type NodeProto } from './onnx/proto.js';
import { decodeModel, quantizeModel, quantizeModelWithReport, quantizeSymmetric } from './quantize.js';
import type { OnnxModel } from './session.js';
import { cachedOf, checkpointFiles, forwardOf, makeModel, maxAbsDiff, randomBatch, top1Agreement } from './test-utils/models.js';

const report: Record<string, unknown> = {};
beforeAll(async () => {
  await setupBackend();
});
afterAll(() => {
  if (process.env.QUANT_REPORT) console.log(`int8 quantization: ${JSON.stringify(report, null, 1)}`);
});

const V = 69;
const BABY = { preset: 'decoder-lm' as const, vocabSize: V, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 64, dropout: 0 };

function babyFiles(overrides: Partial<Omit<DecoderLmConfig, 'preset'>> = {}): Record<string, Uint8Array> {
  const model = new TransformerModel(createModelConfig({ ...BABY, ...overrides }), { seed: 7 });
  const files = checkpointFiles(model);
  model.dispose();
  return files;
}

function randomIds(seed: number, n: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => 1 + Math.floor(rng.next() * (V - 1)));
}

/** The fp32 model that int8 `bytes` stand for: each DequantizeLinear folded into an fp32 initializer. */
function dequantized(bytes: Uint8Array): Uint8Array {
  const m = decodeModel(bytes);
  const g = m.graph;
  const byName = new Map(g.initializers.map((t) => [t.name, t]));
  const dq = g.nodes.filter((n) => n.opType === 'DequantizeLinear');
  const consumed = new Set(dq.flatMap((n) => n.inputs));
  const initializers = g.initializers.filter((t) => !consumed.has(t.name));
  for (const n of dq) {
    const q = byName.get(n.inputs[0]!)!;
    const scales = new Float32Array(new Uint8Array(byName.get(n.inputs[1]!)!.rawData).buffer); // a copy: rawData is a view of the model's bytes, maybe unaligned
    const values = new Int8Array(q.rawData.buffer, q.rawData.byteOffset, q.rawData.length);
    const axis = n.attributes.axis?.value as number;
    const cols = q.dims[1]!;
    const f = Float32Array.from(values, (v, i) => v * scales[axis === 0 ? Math.floor(i / cols) : i % cols]!);
    initializers.push({ name: n.outputs[0]!, dataType: 1, dims: q.dims, rawData: new Uint8Array(f.buffer) });
  }
  return encodeModel({ ...m, graph: { ...g, initializers, nodes: g.nodes.filter((n) => n.opType !== 'DequantizeLinear') } });
}

describe('ModelProto decoding', () => {
  it('decodes the exporter output back to bytes that re-encode identically', () => {
    const bytes = exportCheckpointFiles(babyFiles({ numDecoderLayers: 1 }), { kvCache: true, withAttention: true });
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('rejects what is not a ModelProto', () => {
    expect(() => decodeModel(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
    expect(() => quantizeModel(quantizeModel(exportCheckpointFiles(babyFiles({ numDecoderLayers: 1 }))))).toThrow(/already quantized/);
  });
});

describe('subgraphs', () => {
  it('round-trips and quantizes weights read inside If branches (the merged decoder layout)', async () => {
    const g = new GraphBuilder('if-test');
    const x = g.input('x', 'float32', [2, 32]);
    const cond = g.input('cond', 'bool', [1]);
    const rng = createRng(3);
    const w = g.initializer('w.weight', 'float32', [32, 64], Float32Array.from({ length: 32 * 64 }, () => rng.normal()));
    const branch = (name: string, double: boolean): GraphProto => {
      const nodes: NodeProto[] = [{ name: `${name}/MatMul`, opType: 'MatMul', inputs: [x, w], outputs: [`${name}_mm`], attributes: {} }];
      nodes.push({ name: `${name}/Add`, opType: 'Add', inputs: [`${name}_mm`, `${name}_mm`], outputs: [`${name}_out`], attributes: {} });
      if (!double) nodes[1] = { name: `${name}/Identity`, opType: 'Identity', inputs: [`${name}_mm`], outputs: [`${name}_out`], attributes: {} };
      return { name, nodes, initializers: [], inputs: [], outputs: [{ name: `${name}_out`, elemType: 1, dims: [2, 64] }] };
    };
    const y = g.op('If', [cond], { then_branch: { type: 'graph', value: branch('then', true) }, else_branch: { type: 'graph', value: branch('else', false) } });
    g.output('y', y, 'float32', [2, 64]);
    const bytes = encodeModel(g.toModel({ producerName: 'test', producerVersion: '0' }));
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
    const { bytes: q, tensors } = quantizeModelWithReport(bytes, { minElements: 1 });
    expect(tensors.map((t) => [t.name, t.axis])).toEqual([['w.weight', 1]]);
    const xs = Float32Array.from({ length: 64 }, () => rng.normal());
    for (const flag of [true, false]) {
      const feeds = { x: new ortNode.Tensor('float32', xs, [2, 32]), cond: new ortNode.Tensor('bool', Uint8Array.from([flag ? 1 : 0]), [1]) };
      const run = async (model: Uint8Array): Promise<Float32Array> => {
        const s = await ortNode.InferenceSession.create(model);
        const out = (await s.run(feeds)).y!.data as Float32Array;
        await s.release();
        return out;
      };
      const [ref, got] = [await run(bytes), await run(q)];
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(0.02 * scale);
    }
  });
});

describe('quantizeSymmetric', () => {
  it('rounds per channel to within half a step, keeps zeros and the extremes exact', () => {
    const w = Float32Array.from([0, 1, -2, 0.5, 0.25, 3, 0, 0]); // [4, 2]
    const q = quantizeSymmetric(w, 4, 2, 1);
    expect(Array.from(q.scales)).toEqual([Math.fround(2 / 127), Math.fround(3 / 127)]);
    expect(q.data[0]).toBe(0);
    expect(q.data[5]).toBe(127);
    expect(q.maxError).toBeLessThanOrEqual(0.5 * (3 / 127) + 1e-7);
    const rows = quantizeSymmetric(w, 4, 2, 0);
    expect(rows.scales.length).toBe(4);
    expect(rows.scales[3]).toBe(1); // an all-zero channel gets scale 1, not 0
  });
});

describe('int8 model', () => {
  let fp32: Uint8Array;
  let int8: Uint8Array;
  let models: OnnxModel[] = [];
  beforeAll(() => {
    fp32 = exportCheckpointFiles(babyFiles());
    const r = quantizeModelWithReport(fp32);
    int8 = r.bytes;
    report.sizeFp32 = r.sizeBefore;
    report.sizeInt8 = r.sizeAfter;
    report.sizeRatio = +(r.sizeBefore / r.sizeAfter).toFixed(3);
    report.quantizedTensors = r.tensors.length;
  });
  afterAll(async () => {
    for (const m of models) await m.release();
    models = [];
  });

  it('is 3.5–4× smaller: every Linear weight and the embedding tables are int8', () => {
    const { tensors } = quantizeModelWithReport(fp32);
    // 4 layers × (q, k, v, out, fc1, fc2) + the tied token table; the sinusoidal table stays fp32.
    expect(tensors.map((t) => t.name).sort()).toContain('embed_tokens.weight');
    expect(tensors.length).toBe(4 * 6 + 1);
    expect(tensors.find((t) => t.name === 'embed_tokens.weight')?.axis).toBe(0);
    expect(tensors.find((t) => t.name.endsWith('fc1.weight'))?.axis).toBe(1);
    const ratio = fp32.length / int8.length;
    expect(ratio).toBeGreaterThanOrEqual(3.5);
    expect(ratio).toBeLessThanOrEqual(4);
  });

  it('runs on onnxruntime-node and -web with logits close to fp32 on random weights', async () => {
    // -web computes exactly the fp32 graph with the dequantized weights; -node (CPU, graph
    // optimization 'extended' and up) rewrites DequantizeLinear → MatMul into MatMulNBits,
    // which by default also quantizes the activations (accuracy level 4), so it is a bit further.
    const [a, b, c, d] = await Promise.all([createOnnxModel(fp32), createOnnxModel(int8), createWebModel(int8, { numThreads: 1 }), createWebModel(dequantized(int8), { numThreads: 1 })]);
    models.push(a, b, c, d);
    const B = 8;
    const T = 64;
    const stats = { node: { maxAbsDiff: 0, top1Agreement: 0 }, web: { maxAbsDiff: 0, top1Agreement: 0 } };
    let maxLogit = 0;
    const rounds = 3;
    for (let s = 0; s < rounds; s++) {
      const feeds = { inputIds: { data: randomIds(100 + s, B * T), batchSize: B, seqLen: T } };
      const [ref, q, qWeb, fake] = await Promise.all([forwardOf(a).run(feeds), forwardOf(b).run(feeds), forwardOf(c).run(feeds), forwardOf(d).run(feeds)]);
      expect(q.logits.dims).toEqual([B, T, V]);
      expect(maxAbsDiff(qWeb.logits.data, fake.logits.data)).toBeLessThanOrEqual(1e-4);
      maxLogit = Math.max(maxLogit, ...Array.from(ref.logits.data, Math.abs));
      for (const [key, out] of [['node', q], ['web', qWeb]] as const) {
        stats[key].maxAbsDiff = Math.max(stats[key].maxAbsDiff, maxAbsDiff(out.logits.data, ref.logits.data));
        stats[key].top1Agreement += top1Agreement(out.logits.data, ref.logits.data, V) / rounds;
      }
    }
    report.randomWeights = { positions: rounds * B * T, maxAbsLogitFp32: maxLogit, ...stats };
    for (const s of Object.values(stats)) {
      expect(s.maxAbsDiff).toBeLessThanOrEqual(0.02 * maxLogit);
      expect(s.top1Agreement).toBeGreaterThanOrEqual(0.97);
    }
  });

  it('quantizes the KV-cache graph too: cached steps match the quantized full forward', async () => {
    const files = babyFiles({ numDecoderLayers: 2, positional: 'rope', tieEmbeddings: false });
    const full = await createOnnxModel(quantizeModel(exportCheckpointFiles(files)));
    const cached = await createOnnxModel(quantizeModel(exportCheckpointFiles(files, { kvCache: true })));
    models.push(full, cached);
    const T = 12;
    const ids = randomIds(9, T);
    const want = (await forwardOf(full).run({ inputIds: { data: ids, batchSize: 1, seqLen: T } })).logits.data;
    let out = await cachedOf(cached).runCached({ inputIds: { data: ids.subarray(0, 4), batchSize: 1, seqLen: 4 } });
    for (let t = 4; t < T; t++) {
      out = await cachedOf(cached).runCached({ inputIds: { data: ids.subarray(t, t + 1), batchSize: 1, seqLen: 1 }, past: out.present });
      expect(maxAbsDiff(out.logits.data, want.subarray(t * V, (t + 1) * V))).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe('every preset', () => {
  const cases: (Partial<ModelConfigInput> & { preset: 'encoder-classifier' | 'encoder-decoder' | 'decoder-lm' })[] = [
    { preset: 'encoder-classifier', pooling: 'cls', attention: 'additive' },
    { preset: 'encoder-decoder', attention: 'general', positional: 'learned', tieEmbeddings: false },
    { preset: 'decoder-lm', positional: 'alibi', attention: 'cosine', norm: 'post' },
  ];
  cases.forEach((c, i) => {
    it(`quantizes and runs a ${c.preset} (${c.attention}, ${c.positional ?? 'sinusoidal'})`, async () => {
      const model = makeModel(c, 60 + i);
      const files = checkpointFiles(model);
      model.dispose();
      const fp32 = exportCheckpointFiles(files, { withAttention: true });
      const { bytes, tensors } = quantizeModelWithReport(fp32, { minElements: 1 });
      expect(tensors.length).toBeGreaterThan(0);
      const [a, b] = await Promise.all([createOnnxModel(fp32), createOnnxModel(bytes)]);
      const batch = randomBatch(createRng(i), [5, 3], 5);
      const ids = { data: batch.ids, batchSize: 2, seqLen: 5 };
      const mask = { data: batch.mask, batchSize: 2, seqLen: 5 };
      const feeds = { inputIds: ids, attentionMask: mask, ...(c.preset === 'encoder-decoder' ? { decoderInputIds: ids, decoderAttentionMask: mask } : {}) };
      const [ref, q] = await Promise.all([forwardOf(a).run(feeds), forwardOf(b).run(feeds)]);
      await Promise.all([a.release(), b.release()]);
      expect(Object.keys(q.attentions).sort()).toEqual(Object.keys(ref.attentions).sort());
      const maxLogit = Math.max(...Array.from(ref.logits.data, Math.abs));
      expect(maxAbsDiff(q.logits.data, ref.logits.data)).toBeLessThanOrEqual(0.05 * maxLogit);
    });
  });
});
