// canvas-classifier in runtime-onnx: one forward graph, pixel_values [B, C, S, S] → logits,
// the flattened image (times pixelScale) through the MLP as MatMul, Add and Relu nodes. The
// MLP and image-input helpers here also build the stn-classifier's graph.

import { imageValues, mlpLayerName, mlpWidths, type CanvasClassifierConfig, type ImageFields } from '@attend/core';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import type { GraphBuilder, Value } from '../../onnx/graph.js';
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

export const CANVAS_CLASSIFIER: RuntimeKind<CanvasClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward' } }, tokenizer: false, files: [], transformersJsFiles: [] },
  sessions: { forward: ImageClassifierSession },
  forward: {
    forward: (config, weights, g) => {
      const x = g.reshape(imageInput(g, config), [0, imageValues(config)]);
      g.output('logits', mlpGraph(g, weights, 'classifier', mlpWidths(config, imageValues(config)), x), 'float32', ['batch', config.numClasses]);
    },
  },
  exportGraphs: (_config, { files, dir, withAttention }) => ({ [EXPORT_FILES.model]: exportCheckpointFiles(files, { dir, withAttention }) }),
  folderJson: () => ({}),
};
