// Named parameters of a layer: creation with a seeded initialiser, lookup by local name,
// and the Hugging Face-style full names under which checkpoints store them.
// Linear kernels live here as [in, out] (so x·W needs no transpose) and are stored in
// checkpoints as PyTorch does, [out, in]; `linear: true` marks the weights that flip.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '@attend/core';

export type Init = 'zeros' | 'ones' | 'identity' | { normal: number } | { constant: number } | { values: readonly number[] };

/**
 * Glorot/Xavier normal std for a [fanIn, fanOut] matrix (Glorot & Bengio, 2010), the init of
 * the Annotated Transformer. At small widths it keeps q·k scores O(1) from the first step, so
 * attention leaves the uniform distribution quickly (GPT-2's fixed 0.02 makes them ~0.1 at
 * dModel 64, and alignment takes hundreds of steps longer to appear).
 */
export function glorot(fanIn: number, fanOut: number, scale = 1): Init {
  return { normal: scale * Math.sqrt(2 / (fanIn + fanOut)) };
}

/**
 * How Linear kernels start: 'glorot' (above), or 'gpt2' — N(0, 0.02²) everywhere, as GPT-2 and
 * nanoGPT do (Radford et al., 2019), which trains a small character LM faster.
 */
export type InitScheme = 'glorot' | 'gpt2';

/** Initialiser of a [fanIn, fanOut] Linear kernel under `scheme`, times `scale`. */
export function linearInit(scheme: InitScheme, fanIn: number, fanOut: number, scale = 1): Init {
  return scheme === 'gpt2' ? { normal: 0.02 * scale } : glorot(fanIn, fanOut, scale);
}

export interface NamedParam {
  /** Full checkpoint name, e.g. `decoder.layers.0.self_attn.q_proj.weight`. */
  name: string;
  variable: tf.Variable;
  /** A Linear kernel: [in, out] here, [out, in] in checkpoints. */
  linear: boolean;
}

/** Layers with weights expose them under a prefix. */
export interface HasNamedParams {
  namedParams(prefix: string): NamedParam[];
}

interface LayerWithWeights {
  // tfjs Layer.addWeight is protected; layers pass themselves in from build().
  addWeight: (name: string, shape: number[], dtype?: tf.DataType, initializer?: ReturnType<typeof tfl.initializers.zeros>) => tfl.LayerVariable;
}

/**
 * Updates added to a weight wherever a layer reads it (LoRA's (α/r)·A·B, lora.ts), by weight
 * variable; the maker runs inside the reading layer's tidy, so its tensors are freed with it.
 */
const weightDeltas = new WeakMap<tf.Variable, () => tf.Tensor>();

/** Makes every read of `variable` through a ParamStore return `variable + delta()`; undefined removes it. */
export function setWeightDelta(variable: tf.Variable, delta: (() => tf.Tensor) | undefined): void {
  if (delta) weightDeltas.set(variable, delta);
  else weightDeltas.delete(variable);
}

export class ParamStore {
  private readonly entries = new Map<string, { variable: tfl.LayerVariable; linear: boolean }>();

  add(layer: object, name: string, shape: number[], init: Init, rng: Rng, linear = false): void {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = initialValues(size, shape, init, rng);
    const variable = (layer as LayerWithWeights).addWeight(name, shape, 'float32', tfl.initializers.zeros());
    const initial = tf.tensor(values, shape, 'float32');
    variable.write(initial);
    initial.dispose();
    this.entries.set(name, { variable, linear });
  }

  /** The weight `name` as the layer computes with it: the variable, plus its delta when one is set. */
  get(name: string): tf.Tensor {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no parameter '${name}' (have: ${[...this.entries.keys()].join(', ')})`);
    const variable = entry.variable.read() as tf.Variable;
    const delta = weightDeltas.get(variable);
    return delta ? tf.add(variable, delta()) : variable;
  }

  named(prefix: string): NamedParam[] {
    return [...this.entries].map(([name, { variable, linear }]) => ({
      name: prefix ? `${prefix}.${name}` : name,
      variable: variable.read() as tf.Variable,
      linear,
    }));
  }
}

function initialValues(size: number, shape: number[], init: Init, rng: Rng): Float32Array {
  const values = new Float32Array(size);
  if (init === 'zeros') return values;
  if (init === 'ones') return values.fill(1);
  if (init === 'identity') {
    // [..., n, n] stacks of identity matrices.
    const n = shape[shape.length - 1]!;
    for (let base = 0; base < size; base += n * n) for (let i = 0; i < n; i++) values[base + i * n + i] = 1;
    return values;
  }
  if ('constant' in init) return values.fill(init.constant);
  if ('values' in init) {
    if (init.values.length !== size) throw new Error(`initial values: ${init.values.length} for a tensor of ${size}`);
    values.set(init.values);
    return values;
  }
  for (let i = 0; i < size; i++) values[i] = rng.normal() * init.normal;
  return values;
}
