// AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the gradient,
// global-norm gradient clipping (Pascanu et al., 2013), and learning-rate schedules:
// warmup + inverse square root ("Noam", Vaswani et al. §5.3), warmup + cosine decay, constant.

import * as tf from '@tensorflow/tfjs-core';
import { addN } from './ops.js';

export type Schedule =
  | { kind: 'constant'; warmupSteps?: number }
  /** lr · min(step^-0.5, step · warmup^-1.5) · √warmup: peaks at lr after `warmupSteps`. */
  | { kind: 'noam'; warmupSteps: number }
  /** Linear warmup to lr, then cosine decay to `minLr` at `totalSteps`. */
  | { kind: 'cosine'; warmupSteps: number; totalSteps: number; minLr: number };

/** Learning rate at 1-based `step`. */
export function learningRate(schedule: Schedule, baseLr: number, step: number): number {
  const s = Math.max(step, 1);
  switch (schedule.kind) {
    case 'constant': {
      const w = schedule.warmupSteps ?? 0;
      return w > 0 && s < w ? (baseLr * s) / w : baseLr;
    }
    case 'noam': {
      const w = Math.max(schedule.warmupSteps, 1);
      return baseLr * Math.sqrt(w) * Math.min(1 / Math.sqrt(s), s * Math.pow(w, -1.5));
    }
    case 'cosine': {
      const { warmupSteps: w, totalSteps, minLr } = schedule;
      if (s < w) return (baseLr * s) / w;
      if (s >= totalSteps) return minLr;
      const progress = (s - w) / Math.max(totalSteps - w, 1);
      return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * progress));
    }
  }
}

export interface AdamWOptions {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.98 (Vaswani et al.). */
  beta2?: number;
  /** Default 1e-9. */
  epsilon?: number;
  /** Decoupled decay applied to weights with rank ≥ 2 (not biases or norms); default 0.01. */
  weightDecay?: number;
}

/** Serialisable optimizer state: step count and the two moment estimates per variable. */
export interface AdamWState {
  step: number;
  m: Map<string, tf.Variable>;
  v: Map<string, tf.Variable>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.98;
    this.epsilon = options.epsilon ?? 1e-9;
    this.weightDecay = options.weightDecay ?? 0.01;
  }

  /** One update of every named variable with its gradient, at learning rate `lr`. */
  apply(params: readonly { name: string; variable: tf.Variable }[], grads: Record<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const t = this.step;
    const c1 = 1 - Math.pow(this.beta1, t);
    const c2 = 1 - Math.pow(this.beta2, t);
    tf.tidy(() => {
      for (const { name, variable } of params) {
        const g = grads[variable.name];
        if (!g) continue;
        const m = this.moment(this.m, name, variable);
        const v = this.moment(this.v, name, variable);
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(mNew);
        v.assign(vNew);
        let update = tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), this.epsilon));
        if (this.weightDecay > 0 && variable.rank >= 2) update = tf.add(update, tf.mul(variable, this.weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, lr)));
      }
    });
  }

  /** Loads moments (e.g. from a checkpoint). Shapes must match the variables. */
  load(step: number, m: Record<string, Float32Array>, v: Record<string, Float32Array>, params: readonly { name: string; variable: tf.Variable }[]): void {
    this.dispose();
    this.step = step;
    for (const { name, variable } of params) {
      for (const [store, source] of [[this.m, m], [this.v, v]] as const) {
        const values = source[name];
        if (!values) continue;
        if (values.length !== variable.size) throw new Error(`optimizer state for '${name}' has ${values.length} values, expected ${variable.size}`);
        store.set(name, tf.tidy(() => tf.variable(tf.tensor(values, variable.shape), false)));
      }
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let x = store.get(name);
    if (!x) {
      x = tf.keep(tf.variable(tf.zerosLike(like), false));
      store.set(name, x);
    }
    return x;
  }
}

/** Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const clipped: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
    return { grads: clipped, norm };
  });
}
