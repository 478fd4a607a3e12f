// The graph builder and ModelProto encoding on their own: a small graph with symbolic axes
// runs under ONNX Runtime at two shapes, the header reads back, names stay unique, and graph
// outputs are node outputs renamed (no Identity copies) except where a rename cannot be.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IR_VERSION, OPSET } from './graph.js';
import { concatBytes } from '@attend/core';
import { encodeModel, encodeModelParts, readModelInfo } from './proto.js';

function layerNormPlusBias(): Uint8Array {
  const g = new GraphBuilder('tiny');
  const x = g.input('x', 'float32', ['batch', 'sequence', 4]);
  const ids = g.input('ids', 'int64', ['batch', 'sequence']);
  const table = g.initializer('table', 'float32', [3, 4], Float32Array.from({ length: 12 }, (_, i) => i / 10));
  const ln = g.scope('block', () => g.layerNormalization(x, g.floats([1, 1, 1, 1]), g.floats([0, 0, 0, 0]), 1e-5));
  const y = g.add(ln, g.gather(table, ids)); // [B, T, 4]
  g.output('y', y, 'float32', ['batch', 'sequence', 4]);
  g.output('n', g.cast(g.dimSize(x, 1), 'float32'), 'float32', []);
  return encodeModel(g.toModel({ producerName: 'attend', producerVersion: '0', metadata: { k: 'v' } }));
}

describe('GraphBuilder + encodeModel', () => {
  it('writes a model ONNX Runtime runs at any batch and sequence size', async () => {
    const session = await ort.InferenceSession.create(layerNormPlusBias());
    for (const [B, T] of [[1, 2], [3, 5]] as const) {
      const x = Float32Array.from({ length: B * T * 4 }, (_, i) => (i % 4) * 2); // each row: 0 2 4 6
      const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % 3));
      const out = await session.run({ x: new ort.Tensor('float32', x, [B, T, 4]), ids: new ort.Tensor('int64', ids, [B, T]) });
      expect(out.y!.dims).toEqual([B, T, 4]);
      const norm = [-3, -1, 1, 3].map((v) => v / Math.sqrt(5 + 1e-5));
      const y = out.y!.data as Float32Array;
      for (let r = 0; r < B * T; r++) {
        for (let c = 0; c < 4; c++) expect(y[r * 4 + c]).toBeCloseTo(norm[c]! + ((r % 3) * 4 + c) / 10, 5);
      }
      expect(Array.from(out.n!.data as Float32Array)).toEqual([T]);
    }
    await session.release();
  });

  it('writes large weights as views in its parts, and the joined parts run', async () => {
    // A 300 × 64 table (76,800 bytes, over the 64 KiB threshold) and a 4-value bias (inline).
    const g = new GraphBuilder('parts');
    const ids = g.input('ids', 'int64', ['n']);
    const values = Float32Array.from({ length: 300 * 64 }, (_, i) => Math.sin(i));
    const table = g.initializer('table', 'float32', [300, 64], values);
    const bias = g.initializer('bias', 'float32', [64], Float32Array.from({ length: 64 }, (_, i) => i));
    g.output('y', g.add(g.gather(table, ids), bias), 'float32', ['n', 64]);
    const model = g.toModel({ producerName: 'attend', producerVersion: '0', metadata: {} });
    const parts = encodeModelParts(model);
    const [big, small] = model.graph.initializers;
    expect(parts).toContain(big!.rawData); // the same bytes object: not copied
    expect(parts).not.toContain(small!.rawData);
    const bytes = concatBytes(parts);
    expect(bytes).toEqual(encodeModel(model));
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from([299n, 0n]), [2]) });
    const y = out.y!.data as Float32Array;
    for (const [row, id] of [299, 0].entries()) {
      for (let c = 0; c < 64; c++) expect(y[row * 64 + c]).toBe(Math.fround(Math.fround(Math.sin(id * 64 + c)) + c));
    }
    await session.release();
  });

  it('reads back the header: IR version, opset, producer, metadata, inputs and outputs', () => {
    const info = readModelInfo(layerNormPlusBias());
    expect(info).toEqual({
      irVersion: IR_VERSION,
      producerName: 'attend',
      opsetImports: [{ domain: '', version: OPSET }],
      metadata: { k: 'v' },
      inputs: ['x', 'ids'],
      outputs: ['y', 'n'],
    });
  });

  it('names a node output after its graph output, with no Identity, also when the graph reads it on', async () => {
    const g = new GraphBuilder('renamed');
    const x = g.input('x', 'float32', [2]);
    const y = g.add(x, g.floats([1])); // read on by the Mul, like a KV cache's present keys by the scores
    g.output('z', g.mul(y, g.floats([2])), 'float32', [2]);
    g.output('present', y, 'float32', [2]);
    const model = g.toModel({ producerName: 'attend', producerVersion: '0' });
    expect(model.graph.nodes.map((n) => n.opType)).not.toContain('Identity');
    expect(model.graph.nodes.find((n) => n.opType === 'Mul')!.inputs).toContain('present');
    const session = await ort.InferenceSession.create(encodeModel(model));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]) });
    expect(Array.from(out.present!.data as Float32Array)).toEqual([2, 3]);
    expect(Array.from(out.z!.data as Float32Array)).toEqual([4, 6]);
    await session.release();
  });

  it('outputs a graph input, an initializer and a value output twice through Identity nodes', async () => {
    const g = new GraphBuilder('copies');
    const x = g.input('x', 'float32', [2]);
    const w = g.initializer('w', 'float32', [2], Float32Array.from([5, 6]));
    const y = g.add(x, w);
    g.output('x_out', x, 'float32', [2]);
    g.output('w_out', w, 'float32', [2]);
    g.output('a', y, 'float32', [2]);
    g.output('b', y, 'float32', [2]);
    const model = g.toModel({ producerName: 'attend', producerVersion: '0' });
    expect(model.graph.nodes.filter((n) => n.opType === 'Identity').map((n) => n.outputs[0])).toEqual(['x_out', 'w_out', 'b']);
    const session = await ort.InferenceSession.create(encodeModel(model));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]) });
    expect(Array.from(out.x_out!.data as Float32Array)).toEqual([1, 2]);
    expect(Array.from(out.w_out!.data as Float32Array)).toEqual([5, 6]);
    expect(Array.from(out.a!.data as Float32Array)).toEqual([6, 8]);
    expect(Array.from(out.b!.data as Float32Array)).toEqual([6, 8]);
    await session.release();
  });

  it('refuses a value name used twice and initializers of the wrong size', () => {
    const g = new GraphBuilder('dup');
    g.input('x', 'float32', [1]);
    expect(() => g.initializer('x', 'float32', [1], new Float32Array(1))).toThrow("graph 'dup': value name 'x' is used twice");
    expect(() => g.initializer('w', 'float32', [2, 2], new Float32Array(3))).toThrow("initializer 'w': 3 values for shape [2,2]");
  });
});
