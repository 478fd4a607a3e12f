import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { AdamW, clipByGlobalNorm, learningRate } from './optimizer.js';

beforeAll(async () => {
  await setupBackend();
});

describe('learningRate', () => {
  it('noam rises linearly, peaks at lr exactly at warmupSteps, then decays as step^-0.5', () => {
    const schedule = { kind: 'noam', warmupSteps: 100 } as const;
    const lr = 2e-3;
    expect(learningRate(schedule, lr, 100)).toBeCloseTo(lr, 15);
    expect(learningRate(schedule, lr, 25)).toBeCloseTo(lr / 4, 15);
    expect(learningRate(schedule, lr, 50)).toBeCloseTo(lr / 2, 15);
    // After warmup: lr · sqrt(warmup / step).
    expect(learningRate(schedule, lr, 400)).toBeCloseTo(lr / 2, 15);
    expect(learningRate(schedule, lr, 10_000)).toBeCloseTo(lr / 10, 15);
    const values = Array.from({ length: 1000 }, (_, i) => learningRate(schedule, lr, i + 1));
    expect(values.indexOf(Math.max(...values))).toBe(99);
  });

  it('cosine is linear in warmup, starts its decay at lr and reaches minLr at totalSteps', () => {
    const schedule = { kind: 'cosine', warmupSteps: 10, totalSteps: 110, minLr: 1e-4 } as const;
    const lr = 1e-2;
    for (const s of [1, 3, 7, 9]) expect(learningRate(schedule, lr, s)).toBeCloseTo((lr * s) / 10, 15);
    expect(learningRate(schedule, lr, 10)).toBeCloseTo(lr, 15);
    // Halfway through the decay the cosine is at the midpoint.
    expect(learningRate(schedule, lr, 60)).toBeCloseTo((lr + 1e-4) / 2, 15);
    expect(learningRate(schedule, lr, 110)).toBe(1e-4);
    expect(learningRate(schedule, lr, 500)).toBe(1e-4);
    expect(learningRate(schedule, lr, 109)).toBeGreaterThan(1e-4);
    for (let s = 11; s <= 110; s++) expect(learningRate(schedule, lr, s)).toBeLessThan(learningRate(schedule, lr, s - 1));
  });

  it('constant holds lr after an optional linear warmup', () => {
    expect(learningRate({ kind: 'constant' }, 0.5, 1)).toBe(0.5);
    expect(learningRate({ kind: 'constant' }, 0.5, 1000)).toBe(0.5);
    expect(learningRate({ kind: 'constant', warmupSteps: 4 }, 0.5, 1)).toBe(0.125);
    expect(learningRate({ kind: 'constant', warmupSteps: 4 }, 0.5, 4)).toBe(0.5);
  });
});

describe('AdamW', () => {
  const opened: tf.Variable[] = [];
  afterEach(() => {
    for (const v of opened.splice(0)) v.dispose();
  });
  const variable = (values: number | number[] | number[][]): tf.Variable => {
    const v = tf.variable(tf.tensor(values));
    opened.push(v);
    return v;
  };
  const scalarOf = (v: tf.Variable): number => v.dataSync()[0]!;

  it('matches a hand computation of m, v and bias correction on a scalar over two steps', () => {
    const x = variable(2);
    const params = [{ name: 'x', variable: x }];
    const opt = new AdamW({ beta1: 0.9, beta2: 0.98, epsilon: 1e-9, weightDecay: 0.1 });
    const lr = 0.1;
    let m = 0;
    let v = 0;
    let expected = 2;
    [0.5, -1].forEach((g, i) => {
      const t = i + 1;
      tf.tidy(() => opt.apply(params, { [x.name]: tf.scalar(g) }, lr));
      m = 0.9 * m + 0.1 * g;
      v = 0.98 * v + 0.02 * g * g;
      const update = m / (1 - 0.9 ** t) / (Math.sqrt(v / (1 - 0.98 ** t)) + 1e-9);
      expected -= lr * update; // rank 0: no weight decay
      expect(opt.step).toBe(t);
      expect(scalarOf(opt.m.get('x')!)).toBeCloseTo(m, 7);
      expect(scalarOf(opt.v.get('x')!)).toBeCloseTo(v, 7);
      expect(scalarOf(x)).toBeCloseTo(expected, 6);
    });
    opt.dispose();
  });

  it('applies decoupled weight decay to rank-2 weights only, at lr · wd · θ', () => {
    const matrix = variable([[2, -4]]);
    const bias = variable([2, -4]);
    const params = [
      { name: 'w', variable: matrix },
      { name: 'b', variable: bias },
    ];
    const opt = new AdamW({ weightDecay: 0.1 });
    tf.tidy(() => opt.apply(params, { [matrix.name]: tf.tensor([[0.5, 0.5]]), [bias.name]: tf.tensor([0.5, 0.5]) }, 0.1));
    // Adam's first step is lr · g/|g| = 0.1 per entry; decay adds lr · 0.1 · θ to the matrix only.
    const w = matrix.dataSync();
    const b = bias.dataSync();
    expect(w[0]).toBeCloseTo(2 - 0.1 * (1 + 0.1 * 2), 6);
    expect(w[1]).toBeCloseTo(-4 - 0.1 * (1 + 0.1 * -4), 6);
    expect(b[0]).toBeCloseTo(2 - 0.1, 6);
    expect(b[1]).toBeCloseTo(-4 - 0.1, 6);
    opt.dispose();
  });

  it('leaves a variable without a gradient untouched and frees its moments on dispose', () => {
    const a = variable(1);
    const b = variable(1);
    const opt = new AdamW();
    const before = tf.memory().numTensors;
    tf.tidy(() =>
      opt.apply(
        [
          { name: 'a', variable: a },
          { name: 'b', variable: b },
        ],
        { [a.name]: tf.scalar(1) },
        0.1,
      ),
    );
    expect(scalarOf(b)).toBe(1);
    expect(scalarOf(a)).toBeCloseTo(0.9, 6);
    expect(opt.m.has('b')).toBe(false);
    expect(tf.memory().numTensors).toBe(before + 2); // m and v of 'a'
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('load() restores the step and moments so the next update equals an uninterrupted one', () => {
    const run = (split: boolean): number => {
      const x = variable(3);
      const params = [{ name: 'x', variable: x }];
      let opt = new AdamW();
      const grads = [0.3, -0.7, 1.1];
      grads.forEach((g, i) => {
        if (split && i === 2) {
          const restored = new AdamW();
          restored.load(opt.step, { x: opt.m.get('x')!.dataSync() as Float32Array }, { x: opt.v.get('x')!.dataSync() as Float32Array }, params);
          opt.dispose();
          opt = restored;
        }
        tf.tidy(() => opt.apply(params, { [x.name]: tf.scalar(g) }, 0.05));
      });
      opt.dispose();
      return scalarOf(x);
    };
    expect(run(true)).toBe(run(false));
  });

  it('load() holds exactly one tensor per moment, and dispose() frees them with their memory', () => {
    const x = variable([1, 2, 3, 4]);
    const before = tf.memory();
    const opt = new AdamW();
    opt.load(7, { x: Float32Array.from([1, 2, 3, 4]) }, { x: Float32Array.from([5, 6, 7, 8]) }, [{ name: 'x', variable: x }]);
    expect(opt.step).toBe(7);
    expect(Array.from(opt.v.get('x')!.dataSync())).toEqual([5, 6, 7, 8]);
    expect(tf.memory().numTensors).toBe(before.numTensors + 2);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('load() rejects moments of the wrong size', () => {
    const x = variable([1, 2]);
    const opt = new AdamW();
    expect(() => opt.load(1, { x: new Float32Array(3) }, {}, [{ name: 'x', variable: x }])).toThrow(/'x' has 3 values, expected 2/);
    opt.dispose();
  });
});

describe('clipByGlobalNorm', () => {
  it('scales gradients to the max norm and returns the norm before clipping', () => {
    tf.tidy(() => {
      const { grads, norm } = clipByGlobalNorm({ a: tf.tensor([3, 0]), b: tf.tensor([[4]]) }, 1);
      expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
      expect(Array.from(grads.a!.dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
      expect(grads.b!.dataSync()[0]).toBeCloseTo(0.8, 6);
      expect(grads.b!.shape).toEqual([1, 1]);
      const after = Math.hypot(...grads.a!.dataSync(), ...grads.b!.dataSync());
      expect(after).toBeCloseTo(1, 5);
    });
  });

  it('leaves gradients below the max norm unchanged', () => {
    tf.tidy(() => {
      const a = tf.tensor([0.3, -0.1]);
      const b = tf.tensor([0.2]);
      const { grads, norm } = clipByGlobalNorm({ a, b }, 1);
      expect(norm.dataSync()[0]).toBeCloseTo(Math.hypot(0.3, 0.1, 0.2), 6);
      expect(grads.a!.dataSync()).toEqual(a.dataSync());
      expect(grads.b!.dataSync()).toEqual(b.dataSync());
    });
  });

  it('keeps only its results alive', () => {
    const a = tf.tensor([3, 4]);
    const before = tf.memory().numTensors;
    const { grads, norm } = clipByGlobalNorm({ a }, 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([grads.a!, norm, a]);
  });
});
