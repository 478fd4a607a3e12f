// ONNX export of the image-captioner preset (@attend/transformer's CaptionerModel), built from
// its config and checkpoint weights with opset-17 operators: the encoder's convolution is an
// ONNX `Conv` (the checkpoint's [D, k²] kernel is the [D, 1, k, k] one), the decoder's cell an
// ONNX `LSTM` node, attention written out op by op. Two graphs, as rnn-seq2seq's:
//
//   encoder   pixel_values [B, 1, H, W]
//             → last_hidden_state [B, L, D] (the feature grid a, locations row-major),
//               decoder_initial_state, decoder_initial_cell_state [1, B, d] (from the mean feature)
//   decoder   one step: input_ids [B, 1], encoder_hidden_states [B, L, D],
//             hidden_state, cell_state [1, B, d]
//             (hard attention also: use_expectation bool [1], how the step reads the grid:
//             false the arg-max location, true the expected context Σ_i α_i a_i, Xu et al. §4.1)
//             → logits [B, 1, V], present_hidden_state, present_cell_state [1, B, d],
//               attention_weights [B, 1, L] (soft and hard: α_t)
//
// The choice of hard attention's reading is a graph input rather than an export option: like
// tfjs's `CaptionerModel.hardInference` it is a test-time choice over the same weights, so one
// export folder serves both, and the two readings share every node but the Where picking the
// weights. Exports made before the input existed have the arg-max only (session.ts refuses the
// expectation for them).
//
// Generation starts from the initial states and feeds bos.

import { featureLocations, type ImageCaptionerConfig, type NamedTensor } from '@attend/core';
import { EXPORT_FILES, generationConfig } from '../../folder-files.js';
import { GraphBuilder, type Value } from '../../onnx/graph.js';
import { WeightReader } from '../../weights.js';
import { TEXT_FILES, type RuntimeKind } from '../kind.js';
import { GraphSession } from '../../graph-session.js';
import { checkedTensors, exportGraphPair, onnxCellWeights } from '../rnn-seq2seq/export.js';
import { captionerLogits, imageCaptionerTranslator, USE_EXPECTATION } from './session.js';

/** Paths of the two graphs of an image-captioner export folder. */
export const CAPTIONER_FILES = {
  encoder: 'onnx/captioner_encoder.onnx',
  decoder: 'onnx/captioner_decoder_step.onnx',
} as const;

/** The two graphs of an image-captioner export, as ONNX ModelProto bytes (see the top of this file). */
export function exportCaptioner(config: ImageCaptionerConfig, tensors: Record<string, NamedTensor>, options: { source?: string } = {}): { encoder: Uint8Array; decoder: Uint8Array } {
  return exportGraphPair(config, tensors, options.source, (kind, g, weights) => {
    const builder = new CaptionerGraph(config, weights, g);
    if (kind === 'encoder') builder.buildEncoder();
    else builder.buildDecoderStep();
  });
}

export const IMAGE_CAPTIONER: RuntimeKind<ImageCaptionerConfig> = {
  layout: {
    graphs: {
      encoder: { file: CAPTIONER_FILES.encoder, graph: 'image-captioner-encoder' },
      decoder: { file: CAPTIONER_FILES.decoder, graph: 'image-captioner-decoder', attentions: /^attention_weights$/ },
    },
    tokenizer: true,
    files: [],
    transformersJsFiles: TEXT_FILES,
  },
  // Its graphs run as plain ORT sessions (captionerLogits, captionImages).
  sessions: { 'image-captioner-encoder': GraphSession, 'image-captioner-decoder': GraphSession },
  forward: { none: 'exports as an encoder and a decoder-step graph: use exportCaptioner' },
  exportGraphs: (config, checkpoint) => {
    const { tensors, source } = checkedTensors(config, checkpoint);
    const { encoder, decoder } = exportCaptioner(config, tensors, { source });
    return { [CAPTIONER_FILES.encoder]: encoder, [CAPTIONER_FILES.decoder]: decoder };
  },
  folderJson: (config) => ({ [EXPORT_FILES.generationConfig]: generationConfig(config) }),
  captioner: imageCaptionerTranslator,
  captionLogits: captionerLogits,
};

class CaptionerGraph {
  constructor(
    private readonly config: ImageCaptionerConfig,
    private readonly w: WeightReader,
    private readonly g: GraphBuilder,
  ) {}

  private linearWeight(name: string, outDim: number, inDim: number): Value {
    return this.g.initializer(name, 'float32', [inDim, outDim], this.w.linear(name, outDim, inDim));
  }

  private vector(name: string, shape: number[]): Value {
    return this.g.initializer(name, 'float32', shape, this.w.get(name, shape));
  }

  buildEncoder(): void {
    const { g, config: c } = this;
    const [D, d, k] = [c.featureSize, c.dModel, c.patchSize];
    const L = featureLocations(c);
    const pixels = g.input('pixel_values', 'float32', ['batch', 1, c.imageHeight, c.imageWidth]);
    const features = g.scope('encoder', () => {
      const scaled = c.pixelScale === 1 ? pixels : g.mul(pixels, g.floats([c.pixelScale]));
      const kernel = g.initializer('encoder.conv.weight', 'float32', [D, 1, k, k], this.w.get('encoder.conv.weight', [D, k * k]));
      const conv = g.conv(scaled, kernel, this.vector('encoder.conv.bias', [D]), k, c.patchStride); // [B, D, rows, cols]
      const grid = g.transpose(g.reshape(conv, [0, D, L]), [0, 2, 1]); // [B, L, D]
      return g.relu(g.add(grid, this.vector('encoder.positions', [L, D])));
    });
    g.output('last_hidden_state', features, 'float32', ['batch', L, D]);
    const mean = g.reduceSum(g.mul(features, g.floats([1 / L])), [1], false); // [B, D]
    for (const [part, output] of [['init_h', 'decoder_initial_state'], ['init_c', 'decoder_initial_cell_state']] as const) {
      const state = g.scope(`decoder.${part}`, () => g.tanh(g.add(g.matMul(mean, this.linearWeight(`decoder.${part}.weight`, d, D)), this.vector(`decoder.${part}.bias`, [d]))));
      g.output(output, g.unsqueeze(state, [0]), 'float32', [1, 'batch', d]);
    }
  }

  buildDecoderStep(): void {
    const { g, config: c } = this;
    const [D, d, V] = [c.featureSize, c.dModel, c.vocabSize];
    const L = featureLocations(c);
    const attention = c.visualAttention;
    const ids = g.input('input_ids', 'int64', ['batch', 1]);
    const features = g.input('encoder_hidden_states', 'float32', ['batch', L, D]);
    const hidden = g.input('hidden_state', 'float32', [1, 'batch', d]);
    const cell = g.input('cell_state', 'float32', [1, 'batch', d]);
    const expectation = attention === 'hard' ? g.input(USE_EXPECTATION, 'bool', [1]) : undefined;
    const table = g.initializer('embed_tokens.weight', 'float32', [V, d], this.w.get('embed_tokens.weight', [V, d]));
    const e = g.reshape(g.gather(table, ids), [-1, d]); // [B, d]
    const h = g.reshape(hidden, [-1, d]);
    let z: Value | undefined;
    let alpha: Value | undefined;
    if (attention !== 'none') {
      g.scope('decoder.attention', () => {
        const keys = g.matMul(features, this.linearWeight('decoder.attention.feature.weight', d, D)); // [B, L, d]
        const query = g.unsqueeze(g.matMul(h, this.linearWeight('decoder.attention.query.weight', d, d)), [1]);
        const v = g.initializer('decoder.attention.v', 'float32', [d, 1], this.w.get('decoder.attention.v', [d]));
        alpha = g.softmax(g.reshape(g.matMul(g.tanh(g.add(keys, query)), v), [0, -1])); // [B, L]
        // Soft: the expectation; hard: the arg-max location's feature (one-hot weights), or the expectation when use_expectation.
        const weights = expectation ? g.where(expectation, alpha, g.cast(g.equal(g.range(g.int64s([0], []), g.int64s([L], []), g.int64s([1], [])), g.argMax(alpha, 1)), 'float32')) : alpha;
        z = g.reduceSum(g.mul(g.unsqueeze(weights, [2]), features), [1], false); // [B, D]
        if (attention === 'soft') z = g.mul(g.sigmoid(g.add(g.matMul(h, this.linearWeight('decoder.attention.gate.weight', 1, d)), this.vector('decoder.attention.gate.bias', [1]))), z);
      });
    }
    const x = z ? g.concat([e, z], 1) : e;
    const next = g.scope('decoder.lstm', () => {
      const { W, R, B } = onnxCellWeights(g, this.w, 'lstm', 'decoder.lstm', ['l0'], z ? d + D : d, d);
      const [, yH, yC] = g.lstm(g.unsqueeze(x, [0]), W, R, B, '', hidden, cell, d, 'forward');
      return { h: yH, c: yC };
    });
    let out = g.add(e, g.matMul(g.reshape(next.h, [-1, d]), this.linearWeight('decoder.out_h.weight', d, d)));
    if (z) out = g.add(out, g.matMul(z, this.linearWeight('decoder.out_z.weight', d, D)));
    const logits = g.add(g.matMul(out, this.linearWeight('lm_head.weight', V, d)), this.vector('lm_head.bias', [V]));
    g.output('logits', g.unsqueeze(logits, [1]), 'float32', ['batch', 1, V]);
    g.output('present_hidden_state', next.h, 'float32', [1, 'batch', d]);
    g.output('present_cell_state', next.c, 'float32', [1, 'batch', d]);
    if (alpha) g.output('attention_weights', g.unsqueeze(alpha, [1]), 'float32', ['batch', 1, L]);
  }
}
