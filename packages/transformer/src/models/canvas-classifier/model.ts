// The canvas-classifier: the flattened image (raw values times pixelScale) through an MLP —
// numHiddenLayers ReLU layers of width dModel (dropout after each in training), then a linear
// map to the classes. `Mlp` is also the stn-classifier's classifier and localisation network.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, imageValues, mlpLayerName, mlpWidths, ShapeError, type CanvasClassifierConfig, type ImageFields, type ModelConfig } from '@attend/core';
import type { ForwardOptions, ForwardResult, TokenBatch } from '../../model.js';
import { dropout, linear } from '../../ops.js';
import { glorot, ParamStore, type Init, type NamedParam } from '../../params.js';

/** Holds an image model's weights. */
class ImageParams extends tfl.layers.Layer {
  static className = 'AttendImageParams';
}

/**
 * Linear maps of the given widths (ReLU between them) under `prefix`: `{prefix}.layers.{i}` and
 * `{prefix}.out` (see core's mlpLayerName); the last map's initial weights and bias may be given.
 */
export class Mlp {
  private readonly params = new ParamStore();
  private readonly holder = new ImageParams({});
  private readonly names: string[];

  constructor(
    readonly prefix: string,
    readonly widths: readonly number[],
    seed: number,
    last: { weight?: Init; bias?: Init } = {},
  ) {
    const rng = createRng(seed);
    const count = widths.length - 1;
    this.names = Array.from({ length: count }, (_, i) => mlpLayerName(prefix, i, count));
    this.names.forEach((name, i) => {
      const [fanIn, fanOut] = [widths[i]!, widths[i + 1]!];
      const isLast = i === count - 1;
      // He-style init before a ReLU (glorot × √2), glorot for the last map.
      this.params.add(this.holder, `${name}.weight`, [fanIn, fanOut], (isLast ? last.weight : undefined) ?? glorot(fanIn, fanOut, isLast ? 1 : Math.SQRT2), rng, true);
      this.params.add(this.holder, `${name}.bias`, [fanOut], (isLast ? last.bias : undefined) ?? 'zeros', rng);
    });
  }

  namedParams(): NamedParam[] {
    return this.params.named('');
  }

  /** x [B, in] → [B, out]: ReLU (and dropout at `rate` in training) after every map but the last. */
  forward(x: tf.Tensor2D, rate: number, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      this.names.forEach((name, i) => {
        h = linear(h, this.params.get(`${name}.weight`), this.params.get(`${name}.bias`));
        if (i < this.names.length - 1) h = dropout(tf.relu(h), rate, training);
      });
      return h as tf.Tensor2D;
    });
  }
}

/** The images of `batch` as a tensor [B, C, S, S], times pixelScale; a ShapeError when they are missing or the wrong size. */
export function imageTensor(batch: TokenBatch, config: Pick<ModelConfig, 'preset'> & ImageFields): tf.Tensor4D {
  const { imageSize: S, numChannels: C } = config;
  if (!batch.pixels) throw new ShapeError(`${config.preset} input needs 'pixels' (images [B, C, H, W])`);
  if (batch.pixels.length !== batch.batchSize * C * S * S) throw new ShapeError(`images: ${batch.pixels.length} values for ${batch.batchSize} × ${C} × ${S} × ${S}`);
  return tf.tidy(() => {
    const x = tf.tensor4d(batch.pixels!, [batch.batchSize, C, S, S]);
    return config.pixelScale === 1 ? x : tf.mul(x, config.pixelScale);
  });
}

/** What the image kinds share beside their forward pass: no decoder, no LM head. */
export abstract class ImageModel<C extends ModelConfig & ImageFields> {
  constructor(readonly config: C) {}

  abstract namedParams(): NamedParam[];
  abstract forward(input: TokenBatch, target?: TokenBatch, options?: ForwardOptions): ForwardResult;

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  encode(): tf.Tensor3D {
    throw new ShapeError(`preset '${this.config.preset}' has no encoder states`);
  }

  decode(): tf.Tensor3D {
    throw new ShapeError(`preset '${this.config.preset}' has no decoder`);
  }

  lmLogits(): tf.Tensor3D {
    throw new ShapeError(`preset '${this.config.preset}' has no language-model head`);
  }

  dispose(): void {
    for (const p of this.namedParams()) p.variable.dispose();
  }
}

/** The canvas-classifier preset: class logits [B, numClasses] of `TokenBatch.pixels`. */
export class CanvasModel extends ImageModel<CanvasClassifierConfig> {
  readonly classifier: Mlp;

  constructor(config: CanvasClassifierConfig, options: { seed?: number } = {}) {
    super(config);
    this.classifier = new Mlp('classifier', mlpWidths(config, imageValues(config)), (options.seed ?? 0) * 7919 + 4);
  }

  namedParams(): NamedParam[] {
    return this.classifier.namedParams();
  }

  forward(input: TokenBatch, _target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    return {
      logits: tf.tidy(() => {
        const x = imageTensor(input, this.config);
        return this.classifier.forward(tf.reshape(x, [input.batchSize, -1]), this.config.dropout, options.training ?? false);
      }),
    };
  }
}

tf.serialization.registerClass(ImageParams);
