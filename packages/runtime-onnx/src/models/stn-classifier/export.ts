// stn-classifier in runtime-onnx: one forward graph, pixel_values → logits. The localisation
// network (its convolution blocks if any, then its MLP: core's locNet) gives θ [B, 2, 3] (with
// stnTransform 'attention', (s, tx, ty) times core's thetaMatrix); the sampling grid is θ applied to the output pixels' normalised
// coordinates by MatMul (ONNX AffineGrid is opset 20; attend writes 17); GridSample (opset 16:
// bilinear, zero padding, align_corners 0 — the conventions of spatial-transformer.ts) reads
// the image; the canvas classifier's network classifies it. Exported with attention, θ and the sampled image are
// outputs too (`theta`, `transformed`): what `attend attention` and the playground draw.

import { locNet, THETA_SIZE, thetaMatrix, type StnClassifierConfig } from '@attend/core';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import type { WeightReader } from '../../weights.js';
import { imageInput, imageNetGraph } from '../canvas-classifier/export.js';
import type { RuntimeKind } from '../kind.js';
import { ImageClassifierSession } from '../vit-classifier/session.js';

/** The STN's extra outputs, θ [batch, 2, 3] and the sampled image [batch, C, outputSize, outputSize]. */
export const STN_OUTPUTS = /^(theta|transformed)$/;

/** (x_j, y_i, 1) of each output pixel, row-major [1, S·S, 3]: pixel centres in [−1, 1] (align_corners 0). */
function basePoints(size: number): Float32Array {
  const base = new Float32Array(size * size * 3);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) base.set([(2 * j + 1) / size - 1, (2 * i + 1) / size - 1, 1], (i * size + j) * 3);
  }
  return base;
}

function buildStn(config: StnClassifierConfig, w: WeightReader, g: GraphBuilder, withAttention: boolean): void {
  const S = config.outputSize;
  const image = imageInput(g, config);
  const params = imageNetGraph(g, w, 'localization', locNet(config), config.imageSize, config.numChannels, image);
  // The attention transform's (s, tx, ty) mapped to θ's six values by a constant MatMul.
  const matrix = thetaMatrix(config);
  const theta = g.reshape(matrix ? g.matMul(params, g.initializer('localization.theta_matrix', 'float32', [matrix.length, THETA_SIZE], Float32Array.from(matrix.flat()))) : params, [0, 2, 3]);
  const transformed = g.scope('sampler', () => {
    const points = g.initializer('sampler.base_grid', 'float32', [1, S * S, 3], basePoints(S));
    const grid = g.reshape(g.matMul(points, g.transpose(theta, [0, 2, 1])), [0, S, S, 2]); // [B, S, S, (x, y)]
    return g.op('GridSample', [image, grid], { mode: { type: 'string', value: 'bilinear' }, padding_mode: { type: 'string', value: 'zeros' }, align_corners: { type: 'int', value: 0 } });
  });
  g.output('logits', imageNetGraph(g, w, 'classifier', config, S, config.numChannels, transformed), 'float32', ['batch', config.numClasses]);
  if (withAttention) {
    g.output('theta', theta, 'float32', ['batch', 2, 3]);
    g.output('transformed', transformed, 'float32', ['batch', config.numChannels, S, S]);
  }
}

export const STN_CLASSIFIER: RuntimeKind<StnClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward', attentions: STN_OUTPUTS } }, tokenizer: false, files: [], transformersJsFiles: [] },
  sessions: { forward: ImageClassifierSession },
  forward: { forward: buildStn },
  exportGraphs: (_config, { files, dir, withAttention }) => ({ [EXPORT_FILES.model]: exportCheckpointFiles(files, { dir, withAttention }) }),
  folderJson: () => ({}),
};
