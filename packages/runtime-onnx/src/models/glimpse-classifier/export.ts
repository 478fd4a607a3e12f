// glimpse-classifier in runtime-onnx: the recurrent attention model unrolled into one forward
// graph, pixel_values in, class logits and the glimpse locations out. At inference the glimpse
// count is fixed and every location is the policy's mean, so the whole loop is a fixed chain of
// operators: one graph, one session call, and parity is one comparison — a step graph would
// need the state and the next location carried between calls for nothing. Each glimpse reads
// its patches with GridSample (opset 16+, bilinear, zero padding, align_corners 0 as the tfjs
// sampler); the grid is the location plus a constant offset grid per scale.

import { sensorValues, type GlimpseClassifierConfig } from '@attend/core';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import type { GraphBuilder, Value } from '../../onnx/graph.js';
import type { WeightReader } from '../../weights.js';
import type { RuntimeKind } from '../kind.js';
import { ImageClassifierSession } from '../vit-classifier/session.js';

/** Output of the glimpse locations [batch, numGlimpses, 2] (x, y in [−1, 1]). */
export const GLIMPSE_LOCATIONS = 'locations';

export const GLIMPSE_CLASSIFIER: RuntimeKind<GlimpseClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward', attentions: /^locations$/ } }, tokenizer: false, files: [], transformersJsFiles: [] },
  sessions: { forward: ImageClassifierSession },
  forward: { forward: (config, weights, g) => buildGlimpseClassifier(config, weights, g) },
  exportGraphs: (_config, { files, dir }) => ({ [EXPORT_FILES.model]: exportCheckpointFiles(files, { dir }) }),
  folderJson: () => ({}),
};

/**
 * Sampling offsets [1, p, p, 2] of a square patch of `side` pixels around the origin on an S × S
 * canvas: (side/S · x_j, side/S · y_i) with x_j = (2j + 1)/p − 1 — affineGrid's points for the
 * glimpse's θ, whose translation is the location.
 */
function patchOffsets(p: number, side: number, S: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) out.push((side / S) * ((2 * j + 1) / p - 1), (side / S) * ((2 * i + 1) / p - 1));
  return out;
}

/** Writes the unrolled glimpse-classifier graph (see the file comment) into `g`. */
export function buildGlimpseClassifier(c: GlimpseClassifierConfig, w: WeightReader, g: GraphBuilder): void {
  const S = c.imageSize;
  const p = c.glimpsePatch;
  const pixels = g.input('pixel_values', 'float32', ['batch', c.numChannels, S, S]);
  const image = c.pixelScale === 1 ? pixels : g.mul(pixels, g.floats([c.pixelScale]));
  const layers = new Map<string, { weight: Value; bias?: Value }>();
  // Each layer's initializers are declared once and shared by every glimpse.
  const linear = (x: Value, name: string, inDim: number, outDim: number, bias = true): Value => {
    let layer = layers.get(name);
    if (!layer) {
      layer = {
        weight: g.initializer(`${name}.weight`, 'float32', [inDim, outDim], w.linear(`${name}.weight`, outDim, inDim)),
        bias: bias ? g.initializer(`${name}.bias`, 'float32', [outDim], w.get(`${name}.bias`, [outDim])) : undefined,
      };
      layers.set(name, layer);
    }
    const y = g.matMul(x, layer.weight);
    return layer.bias ? g.add(y, layer.bias) : y;
  };
  const offsets = Array.from({ length: c.numScales }, (_, s) => g.floats(patchOffsets(p, p * 2 ** s, S), [1, p, p, 2]));
  let location = g.op('ConstantOfShape', [g.concat([g.unsqueeze(g.dimSize(pixels, 0), [0]), g.int64s([2])], 0)]); // the centre, [B, 2]
  let h: Value | undefined;
  const locations: Value[] = [];
  for (let t = 0; t < c.numGlimpses; t++) {
    g.scope(`glimpse.${t}`, () => {
      if (t > 0) location = g.tanh(linear(h!, 'location', c.dModel, 2));
      locations.push(g.unsqueeze(location, [1]));
      const centre = g.unsqueeze(location, [1, 2]); // [B, 1, 1, 2]
      const reads = offsets.map((o) => g.op('GridSample', [image, g.add(centre, o)], { mode: { type: 'string', value: 'bilinear' }, padding_mode: { type: 'string', value: 'zeros' }, align_corners: { type: 'int', value: 0 } }));
      const read = g.reshape(g.concat(reads, 1), [0, sensorValues(c)]);
      const what = g.relu(linear(read, 'glimpse.what', sensorValues(c), c.glimpseHidden));
      const where = g.relu(linear(location, 'glimpse.where', 2, c.locationHidden));
      const feature = g.relu(g.add(linear(what, 'glimpse.out_what', c.glimpseHidden, c.glimpseSize), linear(where, 'glimpse.out_where', c.locationHidden, c.glimpseSize, false)));
      const input = linear(feature, 'core.input', c.glimpseSize, c.dModel);
      h = g.relu(h === undefined ? input : g.add(input, linear(h, 'core.hidden', c.dModel, c.dModel, false))); // h_0 = 0
    });
  }
  g.output('logits', linear(h!, 'classifier', c.dModel, c.numClasses), 'float32', ['batch', c.numClasses]);
  g.output(GLIMPSE_LOCATIONS, g.concat(locations, 1), 'float32', ['batch', c.numGlimpses, 2]);
  // The baseline only trains, and one glimpse uses neither the policy nor the recurrence: read
  // them so that every checkpoint tensor is accounted for.
  w.get('baseline.weight', [1, c.dModel]);
  w.get('baseline.bias', [1]);
  if (!layers.has('location')) {
    w.get('location.weight', [2, c.dModel]);
    w.get('location.bias', [2]);
    w.get('core.hidden.weight', [c.dModel, c.dModel]);
  }
}
