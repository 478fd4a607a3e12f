// Checkpoint weights as the exporter consumes them: looked up by their Hugging Face-like
// names, checked against the shape the config implies, decoded to float32, and accounted
// for, so that a checkpoint of another model fails with a one-line CheckpointError.

import { CHECKPOINT_FILES, CheckpointError, float32View, type NamedTensor } from '@attend/core';

export class WeightReader {
  private readonly used = new Set<string>();

  /**
   * `transposed`: the Linear weights already transposed from these `tensors` (name → [in, out]);
   * readers of one checkpoint that share it transpose each weight once, and their graphs share
   * the array (the decoder-lm's two graphs of one export).
   */
  constructor(
    private readonly tensors: Record<string, NamedTensor>,
    private readonly source: string = CHECKPOINT_FILES.weights,
    private readonly transposed: Map<string, Float32Array> = new Map(),
  ) {}

  /**
   * The tensor `name` as float32, after checking its shape: a view of the checkpoint's bytes
   * where they are float32 already (core `float32View`; the graph keeps it, never changes it),
   * so an export does not hold those weights twice.
   */
  get(name: string, shape: readonly number[]): Float32Array {
    const t = this.tensors[name];
    if (!t) throw new CheckpointError(`${this.source}: missing tensor '${name}'`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`${this.source}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    }
    this.used.add(name);
    try {
      return float32View(t, name);
    } catch (error) {
      throw new CheckpointError(`${this.source}: tensor '${name}': ${(error as Error).message}`);
    }
  }

  /** A Linear weight stored [out, in], returned transposed to [in, out] for x·W (once per `transposed` map; the graph never changes it). */
  linear(name: string, outDim: number, inDim: number): Float32Array {
    const w = this.get(name, [outDim, inDim]);
    let t = this.transposed.get(name);
    if (!t) {
      t = new Float32Array(w.length);
      for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) t[i * outDim + o] = w[o * inDim + i]!;
      this.transposed.set(name, t);
    }
    return t;
  }

  /** Throws if the checkpoint holds tensors the model never read. */
  checkAllUsed(): void {
    const extra = Object.keys(this.tensors).filter((n) => !this.used.has(n));
    if (extra.length > 0) {
      const shown = extra.slice(0, 3).map((n) => `'${n}'`).join(', ');
      throw new CheckpointError(`${this.source}: unexpected tensor${extra.length > 1 ? 's' : ''} ${shown}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''} (not a weight of this model config)`);
    }
  }
}
