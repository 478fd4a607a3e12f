// The stn-classifier (Jaderberg et al., NIPS 2015): the localisation network (core's locNet:
// convolution blocks if locConvChannels has any, then an MLP on the flattened canvas or feature
// maps; its last map zero with the identity as bias, so θ starts as the identity)
// gives θ [B, 2, 3] — its six values, or with stnTransform 'attention' a zoom and shift (s, tx, ty)
// mapped to θ by core's thetaMatrix; `affineGrid` and `gridSample` (spatial-transformer.ts) read the canvas at
// outputSize × outputSize; the canvas-classifier's network classifies the transformed image.
// Dropout (config.dropout) is in the classifier only: θ is not made noisy in training.

import * as tf from '@tensorflow/tfjs-core';
import { identityParams, locNet, thetaMatrix, type StnClassifierConfig } from '@attend/core';
import type { ForwardOptions, ForwardResult, TokenBatch } from '../../model.js';
import type { NamedParam } from '../../params.js';
import { affineGrid, gridSample } from '../../spatial-transformer.js';
import { imageTensor, ImageModel, ImageNet } from '../canvas-classifier/model.js';

/** What the spatial transformer did to a batch: θ [B, 2, 3] and the sampled images [B, C, outputSize, outputSize]. */
export interface StnTransform {
  theta: tf.Tensor3D;
  output: tf.Tensor4D;
}

/** The stn-classifier preset: class logits [B, numClasses] of `TokenBatch.pixels`. */
export class StnModel extends ImageModel<StnClassifierConfig> {
  readonly localization: ImageNet;
  readonly classifier: ImageNet;

  constructor(config: StnClassifierConfig, options: { seed?: number } = {}) {
    super(config);
    const seed = options.seed ?? 0;
    this.localization = new ImageNet('localization', locNet(config), config.imageSize, config.numChannels, seed * 7919 + 3, { weight: 'zeros', bias: { values: identityParams(config) } });
    this.classifier = new ImageNet('classifier', config, config.outputSize, config.numChannels, seed * 7919 + 4);
  }

  namedParams(): NamedParam[] {
    return [...this.localization.namedParams(), ...this.classifier.namedParams()];
  }

  /** θ and the sampled images of `input` (scaled pixels); the caller disposes them. */
  transform(input: TokenBatch, options: ForwardOptions = {}): StnTransform {
    return tf.tidy(() => {
      const B = input.batchSize;
      const x = imageTensor(input, this.config);
      const params = this.localization.forward(x, 0, false);
      const matrix = thetaMatrix(this.config);
      const theta = tf.reshape(matrix ? tf.matMul(params, tf.tensor2d(matrix)) : params, [B, 2, 3]) as tf.Tensor3D;
      const S = this.config.outputSize;
      return { theta, output: gridSample(x, affineGrid(theta, S, S)) };
    });
  }

  forward(input: TokenBatch, _target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    return {
      logits: tf.tidy(() => {
        const { output } = this.transform(input, options);
        return this.classifier.forward(output, this.config.dropout, options.training ?? false);
      }),
    };
  }
}
