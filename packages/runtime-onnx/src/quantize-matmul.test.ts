// Integer MatMuls (quantize-matmul.ts): the 4-bit layout is what MatMulNBits reads (a random
// MatMul against its dequantized weights in JS), and on a random-weight baby-GPT-sized LM
// (4 layers, d 128) int8-dynamic and int4 logits stay within a stated distance of fp32 with
// high top-1 agreement, on onnxruntime-node and -web, for the plain and the KV-cache graph,
// standard or optimized (QUANT_REPORT=1 prints the figures).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelConfig, createRng } from '@attend/core';
import { setupBackend, TransformerModel } from '@attend/transformer';
import * as ortNode from 'onnxruntime-node';
import { createOnnxModel } from './node.js';
import { createOnnxModel as createWebModel } from './web.js';
import { exportCheckpointFiles } from './export.js';
import { GraphBuilder } from './onnx/graph.js';
import { encodeModel } from './onnx/proto.js';
import { decodeModel, QUANTIZATION_METADATA_KEY } from './quantize.js';
import { INT4_BLOCK, quantizeInt4, quantizeMatMuls, type Int4Options, type MatMulQuantization } from './quantize-matmul.js';
import { cachedOf, checkpointFiles, forwardOf, maxAbsDiff, top1Agreement } from './test-utils/models.js';

const report: Record<string, unknown> = {};
beforeAll(async () => {
  await setupBackend();
});
afterAll(() => {
  if (process.env.QUANT_REPORT) console.log(`integer MatMuls: ${JSON.stringify(report, null, 1)}`);
});

const V = 69;
const BABY = { preset: 'decoder-lm' as const, vocabSize: V, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 64, dropout: 0, tieEmbeddings: false };

describe('quantizeInt4', () => {
  // The default (block 32, symmetric, int8 activations) and the Int4Options variants; K is not a
  // multiple of any block size, and an odd number of blocks leaves half a zero-point byte.
  const VARIANTS: Int4Options[] = [{}, { blockSize: 16, zeroPoints: true, accuracyLevel: 0 }, { blockSize: 64, accuracyLevel: 1 }, { blockSize: 128, zeroPoints: true }];
  for (const options of VARIANTS) {
    it(`packs blocks along K as MatMulNBits reads them (${JSON.stringify(options)}, K = 200)`, async () => {
      const K = 200;
      const N = 5;
      const bs = options.blockSize ?? INT4_BLOCK;
      const rng = createRng(4);
      const w = Float32Array.from({ length: K * N }, () => rng.normal() + (options.zeroPoints ? 0.5 : 0)); // off-centre: zero points differ from 8
      const q = quantizeInt4(w, K, N, options);
      expect(q.blocks).toBe(Math.ceil(K / bs));
      expect(q.packed.length).toBe(N * q.blocks * (bs / 2));
      expect(q.zeroPoints?.length).toBe(options.zeroPoints ? N * Math.ceil(q.blocks / 2) : undefined);
      // Dequantize by the documented layout and check the rounding error bound.
      const dq = new Float32Array(K * N);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const b = Math.floor(k / bs);
          const byte = q.packed[(n * q.blocks + b) * (bs / 2) + ((k % bs) >> 1)]!;
          const nibble = k % 2 === 0 ? byte & 0x0f : byte >> 4;
          const zpByte = q.zeroPoints?.[n * Math.ceil(q.blocks / 2) + (b >> 1)];
          const zero = zpByte === undefined ? 8 : b % 2 === 0 ? zpByte & 0x0f : zpByte >> 4;
          dq[k * N + n] = (nibble - zero) * q.scales[n * q.blocks + b]!;
        }
      }
      expect(maxAbsDiff(dq, w)).toBeLessThanOrEqual(q.maxError + 1e-6);
      expect(q.maxError).toBeLessThanOrEqual(0.5 * Math.max(...Array.from(q.scales)) + 1e-6);
      if (options.zeroPoints) expect(new Set(q.zeroPoints).size).toBeGreaterThan(1);
      // ONNX Runtime's MatMulNBits over the packed weights equals x · dequantized W (fp32 compute: to rounding; int8 activations: ≤ 2%).
      const g = new GraphBuilder('mm');
      const x = g.input('x', 'float32', [3, K]);
      g.output('y', g.matMul(x, g.initializer('w', 'float32', [K, N], w)), 'float32', [3, N]);
      const model = quantizeMatMuls(encodeModel(g.toModel({ producerName: 'test', producerVersion: '0' })), 'int4', { minElements: 1, int4: options });
      const node = decodeModel(model).graph.nodes[0]!;
      expect(node.opType).toBe('MatMulNBits');
      expect(node.inputs.length).toBe(options.zeroPoints ? 4 : 3);
      expect(node.attributes.block_size).toEqual({ type: 'int', value: bs });
      expect(node.attributes.accuracy_level).toEqual({ type: 'int', value: options.accuracyLevel ?? 4 });
      const xs = Float32Array.from({ length: 3 * K }, () => rng.normal());
      const session = await ortNode.InferenceSession.create(model);
      const y = (await session.run({ x: new ortNode.Tensor('float32', xs, [3, K]) })).y!.data as Float32Array;
      await session.release();
      const want = Float32Array.from({ length: 3 * N }, (_, i) => {
        let s = 0;
        for (let k = 0; k < K; k++) s += xs[Math.floor(i / N) * K + k]! * dq[k * N + (i % N)]!;
        return s;
      });
      const fp32Compute = (options.accuracyLevel ?? 4) < 4;
      expect(maxAbsDiff(y, want)).toBeLessThanOrEqual((fp32Compute ? 1e-5 : 0.02) * Math.max(...Array.from(want, Math.abs)));
    });
  }

  it('refuses a block size or accuracy level MatMulNBits does not have, naming the option', () => {
    const w = new Float32Array(64);
    expect(() => quantizeInt4(w, 8, 8, { blockSize: 48 })).toThrow('int4.blockSize: 48 is not supported; use 16, 32, 64, 128, 256');
    expect(() => quantizeMatMuls(encodeModel(new GraphBuilder('g').toModel({ producerName: 't', producerVersion: '0' })), 'int4', { int4: { accuracyLevel: 5 } })).toThrow('int4.accuracyLevel: 5');
  });
});

describe('int8-dynamic and int4 on a baby-GPT-sized LM', () => {
  let files: Record<string, Uint8Array>;
  beforeAll(() => {
    const model = new TransformerModel(createModelConfig(BABY), { seed: 7 });
    files = checkpointFiles(model);
    model.dispose();
  });
  const B = 4;
  const T = 32;
  const ids = (seed: number): Int32Array => {
    const rng = createRng(seed);
    return Int32Array.from({ length: B * T }, () => 1 + Math.floor(rng.next() * (V - 1)));
  };

  // Stated tolerances on random weights (small logit margins): max |Δlogit| ≤ 5% (int8) / 25% (int4) of the largest fp32 logit, top-1 ≥ 95% / 70%.
  const LIMITS: Record<MatMulQuantization, { diff: number; top1: number }> = { 'int8-dynamic': { diff: 0.05, top1: 0.95 }, int4: { diff: 0.25, top1: 0.7 } };
  // The schemes' defaults, and one int4 variant (blocks of 128 with zero points, fp32 compute; bench/int4-matmul.mjs).
  const CASES: [MatMulQuantization, Int4Options | undefined][] = [['int8-dynamic', undefined], ['int4', undefined], ['int4', { blockSize: 128, zeroPoints: true, accuracyLevel: 0 }]];
  for (const [scheme, int4] of CASES) {
    for (const optimize of [false, true]) {
      const label = `${scheme}${int4 ? ` ${JSON.stringify(int4)}` : ''}${optimize ? ', optimized graph' : ''}`;
      it(`${label}: close to fp32 on node and web; the KV-cache graph agrees with the full one`, async () => {
        const fp32 = exportCheckpointFiles(files, { optimize });
        const q = quantizeMatMuls(fp32, scheme, { int4 });
        const ops = decodeModel(q).graph.nodes.map((n) => n.opType);
        expect(ops.filter((o) => o === (scheme === 'int4' ? 'MatMulNBits' : 'DynamicQuantizeMatMul')).length).toBe(4 * (optimize ? 4 : 6) + 1); // every Linear (Q, K, V in one when optimized) and the untied head
        const ratio = fp32.length / q.length;
        expect(ratio).toBeGreaterThan(scheme === 'int4' ? 4 : 2.5);
        const [ref, node, web] = await Promise.all([createOnnxModel(fp32), createOnnxModel(q), createWebModel(q, { numThreads: 1 })]);
        const cached = await createOnnxModel(quantizeMatMuls(exportCheckpointFiles(files, { optimize, kvCache: true }), scheme, { int4 }));
        try {
          const feeds = { inputIds: { data: ids(1), batchSize: B, seqLen: T } };
          const [r, a, b] = await Promise.all([forwardOf(ref).run(feeds), forwardOf(node).run(feeds), forwardOf(web).run(feeds)]);
          const maxLogit = Math.max(...Array.from(r.logits.data, Math.abs));
          const stats = { node: { diff: maxAbsDiff(a.logits.data, r.logits.data) / maxLogit, top1: top1Agreement(a.logits.data, r.logits.data, V) }, web: { diff: maxAbsDiff(b.logits.data, r.logits.data) / maxLogit, top1: top1Agreement(b.logits.data, r.logits.data, V) } };
          report[label] = { ...stats, sizeRatio: ratio };
          for (const s of Object.values(stats)) {
            expect(s.diff).toBeLessThanOrEqual(LIMITS[scheme].diff);
            expect(s.top1).toBeGreaterThanOrEqual(LIMITS[scheme].top1);
          }
          // KV cache: a 4-token prompt then one token at a time, against the quantized full forward.
          const row = ids(2).subarray(0, T);
          const full = (await forwardOf(node).run({ inputIds: { data: row, batchSize: 1, seqLen: T } })).logits.data;
          let out = await cachedOf(cached).runCached({ inputIds: { data: row.subarray(0, 4), batchSize: 1, seqLen: 4 } });
          for (let t = 4; t < 12; t++) {
            out = await cachedOf(cached).runCached({ inputIds: { data: row.subarray(t, t + 1), batchSize: 1, seqLen: 1 }, past: out.present });
            expect(maxAbsDiff(out.logits.data, full.subarray(t * V, (t + 1) * V))).toBeLessThanOrEqual(0.02 * maxLogit);
          }
        } finally {
          await Promise.all([ref, node, web, cached].map((m) => m.release()));
        }
      });
    }
  }

  it.each(['int8-dynamic', 'int4'] as const)('%s: a tied head gets its own quantized copy of the transposed table; the embedding Gather keeps the float32 table', async (scheme) => {
    const tied = new TransformerModel(createModelConfig({ ...BABY, tieEmbeddings: true }), { seed: 7 });
    const tiedFiles = checkpointFiles(tied);
    tied.dispose();
    const op = scheme === 'int4' ? 'MatMulNBits' : 'DynamicQuantizeMatMul';
    const fp32 = exportCheckpointFiles(tiedFiles);
    const fp32Graph = decodeModel(fp32).graph;
    const table = fp32Graph.nodes.find((n) => n.opType === 'Transpose' && fp32Graph.initializers.some((t) => t.name === n.inputs[0]))!.inputs[0]!;
    const q = quantizeMatMuls(fp32, scheme);
    const graph = decodeModel(q).graph;
    expect(graph.nodes.filter((n) => n.opType === op).length).toBe(4 * 6 + 1); // every Linear and the head
    expect(graph.nodes.filter((n) => n.inputs.includes(table)).map((n) => n.opType)).toEqual(['Gather']);
    expect(graph.initializers.find((t) => t.name === table)?.dataType).toBe(1); // float32
    expect(JSON.parse(decodeModel(q).metadata[QUANTIZATION_METADATA_KEY]!)).toMatchObject({ tiedHeads: 1 });
    // Kept float32 on request: the head is the MatMul by the Transpose of the table, as exported.
    const kept = decodeModel(quantizeMatMuls(fp32, scheme, { tiedHead: false })).graph;
    expect(kept.nodes.filter((n) => n.opType === op).length).toBe(4 * 6);
    expect(kept.nodes.filter((n) => n.inputs.includes(table)).map((n) => n.opType).sort()).toEqual(['Gather', 'Transpose']);
    const [ref, node] = await Promise.all([createOnnxModel(fp32), createOnnxModel(q)]);
    try {
      const feeds = { inputIds: { data: ids(1), batchSize: B, seqLen: T } };
      const [r, a] = await Promise.all([forwardOf(ref).run(feeds), forwardOf(node).run(feeds)]);
      const maxLogit = Math.max(...Array.from(r.logits.data, Math.abs));
      expect(maxAbsDiff(a.logits.data, r.logits.data) / maxLogit).toBeLessThanOrEqual(LIMITS[scheme].diff);
      expect(top1Agreement(a.logits.data, r.logits.data, V)).toBeGreaterThanOrEqual(LIMITS[scheme].top1);
    } finally {
      await Promise.all([ref, node].map((m) => m.release()));
    }
  });

  it('two heads tied to one table share one quantized copy of it', async () => {
    const g = new GraphBuilder('two-heads');
    const ids = g.input('ids', 'int64', [2]);
    const table = g.initializer('table', 'float32', [40, 32], Float32Array.from({ length: 40 * 32 }, (_, i) => Math.sin(i)));
    const x = g.gather(table, ids); // [2, 32]
    const head = () => g.matMul(x, g.transpose(table, [1, 0]));
    g.output('a', head(), 'float32', [2, 40]);
    g.output('b', head(), 'float32', [2, 40]);
    const q = decodeModel(quantizeMatMuls(encodeModel(g.toModel({ producerName: 'test', producerVersion: '0' })), 'int8-dynamic'));
    expect(q.graph.nodes.map((n) => n.opType)).toEqual(['Gather', 'DynamicQuantizeMatMul', 'DynamicQuantizeMatMul']);
    const names = q.graph.initializers.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(JSON.parse(q.metadata[QUANTIZATION_METADATA_KEY]!)).toMatchObject({ tensors: 1, tiedHeads: 1 });
    const session = await ortNode.InferenceSession.create(encodeModel(q));
    const out = await session.run({ ids: new ortNode.Tensor('int64', BigInt64Array.from([3n, 7n]), [2]) });
    expect(Array.from(out.a!.data as Float32Array)).toEqual(Array.from(out.b!.data as Float32Array));
  });

  it('refuses a model that is already quantized', () => {
    const q = quantizeMatMuls(exportCheckpointFiles(files), 'int4');
    expect(() => quantizeMatMuls(q, 'int8-dynamic')).toThrow('already quantized');
  });
});
