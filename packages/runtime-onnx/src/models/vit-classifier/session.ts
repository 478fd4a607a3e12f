// The forward graph of the image classifiers (vit, canvas, stn and glimpse classifiers):
// pixel_values [B, C, S, S] → class logits and the kind's other outputs.

import { ShapeError, type ImageClassifierConfig } from '@attend/core';
import { GraphSession, type ForwardOutputs } from '../../graph-session.js';

/** An image classifier's forward graph. */
export class ImageClassifierSession extends GraphSession<ImageClassifierConfig> {
  /**
   * The graph over `batchSize` images [B, C, S, S] (row-major, raw values as stored: the graph
   * applies pixelScale): class logits, and its other outputs (a ViT's attentions.{i} when
   * exported with them, an STN's theta, a glimpse-classifier's locations).
   */
  async runImages(pixels: Float32Array, batchSize: number): Promise<ForwardOutputs> {
    const c = this.config;
    const dims = [batchSize, c.numChannels, c.imageSize, c.imageSize];
    const size = dims.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ShapeError(`pixel_values: batchSize must be a positive integer, got ${batchSize}`);
    if (pixels.length !== size) throw new ShapeError(`pixel_values: ${pixels.length} values for shape [${dims.join(', ')}]`);
    const bad = pixels.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ShapeError(`pixel_values: value ${bad} of image ${Math.floor(bad / (size / batchSize))} is ${pixels[bad]}; expected a finite number`);
    return this.forwardOutputs(await this.runGraph({ pixel_values: new this.ort.Tensor('float32', pixels, dims) }));
  }
}
