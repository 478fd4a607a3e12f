// LoRA adapters on a tfjs model (Hu et al., 2021; core lora.ts has the config, names and the
// merge). Each targeted Linear weight W [in, out] gets A [in, r] (uniform ±1/√in, PEFT's default)
// and B [r, out] (zeros); every read of W through its layer's ParamStore becomes W + (α/r)·A·B,
// so the model computes base + adapters and gradients reach only A and B. W stays a variable
// that no optimizer step touches: only the adapters (and `lora.trainable` modules) train.

import * as tf from '@tensorflow/tfjs-core';
import { createRng, isLoraTrainable, loraNames, loraTargetWeights, type LoraConfig, type ModelConfig } from '@attend/core';
import type { AttendModel, TrainingLossContext } from './models.js';
import type { AttentionMaps, ForwardOptions, ForwardResult, TokenBatch } from './model.js';
import { setWeightDelta, type NamedParam } from './params.js';
import type { TrainBatch } from './trainer.js';

/** A model with LoRA adapters on its `lora.targets` (see the file comment); it owns `base`. */
export class LoraModel implements AttendModel {
  readonly config: ModelConfig;
  readonly lora: LoraConfig;
  readonly trainingLoss?: (batch: TrainBatch, context: TrainingLossContext) => tf.Scalar;
  private readonly adapters: NamedParam[] = [];
  private readonly adapted: tf.Variable[] = [];

  constructor(
    readonly base: AttendModel,
    lora: LoraConfig,
    seed = 0,
  ) {
    if (base.config.lora) throw new Error('LoraModel: the base model already has adapters');
    this.lora = lora;
    this.config = { ...base.config, lora };
    if (base.trainingLoss) this.trainingLoss = base.trainingLoss.bind(base);
    const rng = createRng(seed * 7919 + 17);
    const params = base.namedParams();
    const targets = new Set(loraTargetWeights(base.config.preset, lora, params.map((p) => p.name)));
    const scale = lora.alpha / lora.rank;
    for (const { name, variable } of params) {
      if (!targets.has(name)) continue;
      const [inDim, outDim] = variable.shape as [number, number];
      const bound = 1 / Math.sqrt(inDim);
      const aValues = Float32Array.from({ length: inDim * lora.rank }, () => (2 * rng.next() - 1) * bound);
      const a = tf.variable(tf.tensor2d(aValues, [inDim, lora.rank]), true);
      const b = tf.variable(tf.zeros([lora.rank, outDim]), true);
      const names = loraNames(name);
      this.adapters.push({ name: names.a, variable: a, linear: true }, { name: names.b, variable: b, linear: true });
      this.adapted.push(variable);
      setWeightDelta(variable, () => tf.mul(tf.matMul(a, b), scale));
    }
  }

  /** The base model's weights, then the adapters (`<module>.lora_A.weight`, `<module>.lora_B.weight`). */
  namedParams(): NamedParam[] {
    return [...this.base.namedParams(), ...this.adapters];
  }

  /** The adapters and the `lora.trainable` modules; every other weight is frozen. */
  trainableVariables(): tf.Variable[] {
    return this.namedParams().filter((p) => isLoraTrainable(this.lora, p.name)).map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  forward(input: TokenBatch, target?: TokenBatch, options?: ForwardOptions): ForwardResult {
    return this.base.forward(input, target, options);
  }

  encode(source: TokenBatch, options?: ForwardOptions, maps?: AttentionMaps): tf.Tensor3D {
    return this.base.encode(source, options, maps);
  }

  decode(target: TokenBatch, memory: { states: tf.Tensor3D; source: TokenBatch } | undefined, options?: ForwardOptions, maps?: AttentionMaps): tf.Tensor3D {
    return this.base.decode(target, memory, options, maps);
  }

  lmLogits(states: tf.Tensor3D): tf.Tensor3D {
    return this.base.lmLogits(states);
  }

  dispose(): void {
    for (const variable of this.adapted) setWeightDelta(variable, undefined);
    for (const { variable } of this.adapters) variable.dispose();
    this.base.dispose();
  }
}

/** `model` with fresh LoRA adapters (A seeded by `seed`, B zero): it computes what `model` did until they train. */
export function withLora(model: AttendModel, lora: LoraConfig, seed = 0): LoraModel {
  return new LoraModel(model, lora, seed);
}
