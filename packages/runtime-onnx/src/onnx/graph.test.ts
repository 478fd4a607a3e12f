// The graph builder and ModelProto encoding on their own: a small graph with symbolic axes
// runs under ONNX Runtime at two shapes, the header reads back, and names stay unique.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IR_VERSION, OPSET } from './graph.js';
import { encodeModel, readModelInfo } from './proto.js';

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

  it('refuses a value name used twice and initializers of the wrong size', () => {
    const g = new GraphBuilder('dup');
    g.input('x', 'float32', [1]);
    expect(() => g.initializer('x', 'float32', [1], new Float32Array(1))).toThrow("graph 'dup': value name 'x' is used twice");
    expect(() => g.initializer('w', 'float32', [2, 2], new Float32Array(3))).toThrow("initializer 'w': 3 values for shape [2,2]");
  });
});
