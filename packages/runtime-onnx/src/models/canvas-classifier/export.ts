// canvas-classifier in runtime-onnx: one forward graph, pixel_values [B, C, S, S] → logits:
// the image (times pixelScale) through the convolution blocks as Conv (3 × 3, zero padding 1),
// Relu and MaxPool (2 × 2, stride 2) nodes, flattened ([C, H, W] order), then the MLP as MatMul,
// Add and Relu nodes. The helpers here also build the stn-classifier's graph.

import { CONV_KERNEL, CONV_POOL, convBlocks, convLayerName, convOutputValues, mlpLayerName, mlpWidths, type CanvasClassifierConfig, type ImageFields } from '@attend/core';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import { attr, type GraphBuilder, type Value } from '../../onnx/graph.js';
import type { WeightReader } from '../../weights.js';
import type { RuntimeKind } from '../kind.js';
import { ImageClassifierSession } from '../vit-classifier/session.js';

/** The `pixel_values` input [batch, C, S, S] times pixelScale (raw values in, as the tfjs model takes them). */
export function imageInput(g: GraphBuilder, config: ImageFields): Value {
  const S = config.imageSize;
  const pixels = g.input('pixel_values', 'float32', ['batch', config.numChannels, S, S]);
  return config.pixelScale === 1 ? pixels : g.mul(pixels, g.floats([config.pixelScale]));
}

/** x [B, widths[0]] through the MLP `prefix` (core's mlpLayerName weights; Relu between the maps) → [B, last width]. */
export function mlpGraph(g: GraphBuilder, w: WeightReader, prefix: string, widths: readonly number[], x: Value): Value {
  const count = widths.length - 1;
  let h = x;
  for (let i = 0; i < count; i++) {
    const name = mlpLayerName(prefix, i, count);
    const [inDim, outDim] = [widths[i]!, widths[i + 1]!];
    h = g.scope(name, () => {
      const y = g.add(g.matMul(h, g.initializer(`${name}.weight`, 'float32', [inDim, outDim], w.linear(`${name}.weight`, outDim, inDim))), g.initializer(`${name}.bias`, 'float32', [outDim], w.get(`${name}.bias`, [outDim])));
      return i < count - 1 ? g.relu(y) : y;
    });
  }
  return h;
}

/**
 * x [B, C, side, side] through the image classifier under `prefix` (its convolution blocks, if
 * any, then the flattening and the MLP) → logits [B, classes].
 */
export function imageNetGraph(g: GraphBuilder, w: WeightReader, prefix: string, config: Pick<CanvasClassifierConfig, 'convChannels' | 'dModel' | 'numHiddenLayers' | 'numClasses'>, side: number, channels: number, x: Value): Value {
  let h = x;
  convBlocks(config, side, channels).forEach((b, i) => {
    const name = convLayerName(prefix, i);
    h = g.scope(name, () => {
      const shape = [b.outChannels, b.inChannels, CONV_KERNEL, CONV_KERNEL];
      const weight = g.initializer(`${name}.weight`, 'float32', shape, w.get(`${name}.weight`, shape));
      const bias = g.initializer(`${name}.bias`, 'float32', [b.outChannels], w.get(`${name}.bias`, [b.outChannels]));
      const pad = (CONV_KERNEL - 1) / 2;
      const conv = g.op('Conv', [h, weight, bias], { kernel_shape: attr.ints([CONV_KERNEL, CONV_KERNEL]), pads: attr.ints([pad, pad, pad, pad]) });
      return g.op('MaxPool', [g.relu(conv)], { kernel_shape: attr.ints([CONV_POOL, CONV_POOL]), strides: attr.ints([CONV_POOL, CONV_POOL]) });
    });
  });
  const flat = g.reshape(h, [0, convOutputValues(config, side, channels)]);
  return mlpGraph(g, w, prefix, mlpWidths(config, convOutputValues(config, side, channels)), flat);
}

export const CANVAS_CLASSIFIER: RuntimeKind<CanvasClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward' } }, tokenizer: false, files: [], transformersJsFiles: [] },
  sessions: { forward: ImageClassifierSession },
  forward: {
    forward: (config, weights, g) => {
      const logits = imageNetGraph(g, weights, 'classifier', config, config.imageSize, config.numChannels, imageInput(g, config));
      g.output('logits', logits, 'float32', ['batch', config.numClasses]);
    },
  },
  exportGraphs: (_config, { files, dir, withAttention }) => ({ [EXPORT_FILES.model]: exportCheckpointFiles(files, { dir, withAttention }) }),
  folderJson: () => ({}),
};
