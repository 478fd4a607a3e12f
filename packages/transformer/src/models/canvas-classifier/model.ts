// The canvas-classifier: the image (raw values times pixelScale) through its convolution blocks
// if it has any (3 × 3 conv with zero padding, ReLU, 2 × 2 max-pool; core's convBlocks),
// flattened in [C, H, W] order, then an MLP — numHiddenLayers ReLU layers of width dModel
// (dropout after each in training) and a linear map to the classes. `Mlp` is also the
// stn-classifier's localisation network, `ImageNet` its classifier.
// Convolution weights are PyTorch's [Cout, Cin, k, k] (as checkpoints and ONNX Conv hold them),
// transposed to tfjs's [k, k, Cin, Cout] in the forward pass; training them on the wasm backend
// needs the Conv2DBackpropFilter kernel that kernels/ registers.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CONV_KERNEL, CONV_POOL, convBlocks, convLayerName, convOutputValues, createRng, mlpLayerName, mlpWidths, ShapeError, type CanvasClassifierConfig, type ImageFields, type ModelConfig } from '@attend/core';
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

/**
 * The classifier network of the image kinds: convolution blocks over a [C, side, side] image
 * (none: the image itself), flattened, then the MLP to the classes. Weights under `prefix`;
 * the MLP's last map's initial weights and bias may be given (as `Mlp`'s). Also the
 * stn-classifier's localisation network (core's locNet: θ's six values are its classes).
 */
export class ImageNet {
  private readonly params = new ParamStore();
  private readonly holder = new ImageParams({});
  private readonly convs: string[];
  readonly mlp: Mlp;

  constructor(
    prefix: string,
    config: Pick<CanvasClassifierConfig, 'convChannels' | 'dModel' | 'numHiddenLayers' | 'numClasses'>,
    side: number,
    channels: number,
    seed: number,
    last: { weight?: Init; bias?: Init } = {},
  ) {
    const rng = createRng(seed + 1);
    const blocks = convBlocks(config, side, channels);
    this.convs = blocks.map((b, i) => {
      const name = convLayerName(prefix, i);
      const fanIn = b.inChannels * CONV_KERNEL ** 2;
      // He init before the ReLU, as the MLP's hidden layers.
      this.params.add(this.holder, `${name}.weight`, [b.outChannels, b.inChannels, CONV_KERNEL, CONV_KERNEL], { normal: Math.sqrt(2 / fanIn) }, rng);
      this.params.add(this.holder, `${name}.bias`, [b.outChannels], 'zeros', rng);
      return name;
    });
    this.mlp = new Mlp(prefix, mlpWidths(config, convOutputValues(config, side, channels)), seed, last);
  }

  namedParams(): NamedParam[] {
    return [...this.params.named(''), ...this.mlp.namedParams()];
  }

  /** x [B, C, side, side] → logits [B, classes]. */
  forward(x: tf.Tensor4D, rate: number, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const B = x.shape[0];
      let h: tf.Tensor4D = x;
      if (this.convs.length > 0) {
        h = tf.transpose(h, [0, 2, 3, 1]); // NHWC
        for (const name of this.convs) {
          const kernel = tf.transpose(this.params.get(`${name}.weight`), [2, 3, 1, 0]) as tf.Tensor4D;
          const y = tf.relu(tf.add(tf.conv2d(h, kernel, 1, 'same'), this.params.get(`${name}.bias`))) as tf.Tensor4D;
          h = tf.maxPool(y, CONV_POOL, CONV_POOL, 'valid');
        }
        h = tf.transpose(h, [0, 3, 1, 2]); // back to [C, H, W] order for the flattening
      }
      return this.mlp.forward(tf.reshape(h, [B, -1]), rate, training);
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
  readonly classifier: ImageNet;

  constructor(config: CanvasClassifierConfig, options: { seed?: number } = {}) {
    super(config);
    this.classifier = new ImageNet('classifier', config, config.imageSize, config.numChannels, (options.seed ?? 0) * 7919 + 4);
  }

  namedParams(): NamedParam[] {
    return this.classifier.namedParams();
  }

  forward(input: TokenBatch, _target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    return {
      logits: tf.tidy(() => {
        return this.classifier.forward(imageTensor(input, this.config), this.config.dropout, options.training ?? false);
      }),
    };
  }
}

tf.serialization.registerClass(ImageParams);
