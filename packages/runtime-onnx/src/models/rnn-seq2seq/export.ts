// ONNX export of the rnn-seq2seq preset (@attend/transformer's RnnSeq2SeqModel), built from its
// config and checkpoint weights with standard opset-17 operators: the recurrences are ONNX `GRU`
// nodes (linear_before_reset = 1, PyTorch's cell; gate blocks reordered from r, z, n to ONNX's
// z, r, h) or `LSTM` nodes (blocks i, f, g, o reordered to ONNX's i, o, f, c), attention is
// written out op by op. Two graphs:
//
//   encoder   input_ids [B, S], attention_mask [B, S]
//             → last_hidden_state [B, S, d] (zero at padded positions, as ONNX GRU leaves them),
//               decoder_initial_state [L, B, d] (the bridge over the final encoder states)
//   decoder   one step: input_ids [B, 1], encoder_hidden_states [B, S, d],
//             encoder_attention_mask [B, S], hidden_state [L, B, d],
//             cell_state [L, B, d] (LSTM only; zeros at the first step),
//             attentional_state [B, d] (Luong's h̃_{t−1}, input feeding; dot/general/concat/local-p only)
//             → logits [B, 1, V], present_hidden_state [L, B, d], present_cell_state [L, B, d] (LSTM),
//               present_attentional_state [B, d] (Luong only), attention_weights [B, 1, S] (with attention)
//
// Generation starts from decoder_initial_state and a zero attentional_state and feeds bos.

import { checkWeights, ConfigError, MASKED_SCORE, parseSafetensors, type ModelConfig, type NamedTensor, type RnnSeq2SeqConfig, type RnnCell, CHECKPOINT_FILES } from '@attend/core';
import { EXPORT_FILES, generationConfig } from '../../folder-files.js';
import { METADATA_KEYS, PRODUCER_NAME, PRODUCER_VERSION } from '../../graph-io.js';
import { GraphBuilder, type Value } from '../../onnx/graph.js';
import { encodeModel } from '../../onnx/proto.js';
import { WeightReader } from '../../weights.js';
import { RnnDecoderStepSession, RnnEncoderSession, rnnTranslator } from './session.js';
import { TEXT_FILES, type CheckpointSource, type RuntimeKind } from '../kind.js';

/** Paths of the two graphs of an rnn-seq2seq export folder (the other files as in EXPORT_FILES). */
export const RNN_SEQ2SEQ_FILES = {
  encoder: 'onnx/rnn_encoder.onnx',
  decoder: 'onnx/rnn_decoder_step.onnx',
} as const;

export interface RnnSeq2SeqExport {
  encoder: Uint8Array;
  decoder: Uint8Array;
}

/** True for the attention kinds that feed h̃_{t−1} into the next step (Luong's). */
export function rnnHasInputFeeding(config: Pick<RnnSeq2SeqConfig, 'rnnAttention'>): boolean {
  return config.rnnAttention !== 'none' && config.rnnAttention !== 'additive';
}

/** The two graphs of an rnn-seq2seq export, as ONNX ModelProto bytes (see the top of this file). */
export function exportRnnSeq2Seq(config: ModelConfig, tensors: Record<string, NamedTensor>, options: { source?: string } = {}): RnnSeq2SeqExport {
  if (config.preset !== 'rnn-seq2seq') throw new ConfigError('preset', `the rnn export is for 'rnn-seq2seq', got '${config.preset}'`);
  return exportGraphPair(config, tensors, options.source, (kind, g, weights) => {
    const builder = new RnnGraph(config, weights, g);
    if (kind === 'encoder') builder.buildEncoder();
    else builder.buildDecoderStep();
  });
}

/**
 * The encoder and decoder(-step) graphs of a two-graph export (rnn-seq2seq, image-captioner),
 * each written by `build` into its own builder and encoded with attend's metadata (graph kind
 * `{preset}-encoder` / `{preset}-decoder`); every checkpoint tensor must have been used.
 */
export function exportGraphPair(config: ModelConfig, tensors: Record<string, NamedTensor>, source: string | undefined, build: (kind: 'encoder' | 'decoder', g: GraphBuilder, weights: WeightReader) => void): { encoder: Uint8Array; decoder: Uint8Array } {
  const weights = new WeightReader(tensors, source ?? CHECKPOINT_FILES.weights);
  const encode = (kind: 'encoder' | 'decoder'): Uint8Array => {
    const g = new GraphBuilder(`attend-${config.preset}-${kind}`);
    build(kind, g, weights);
    return encodeModel(
      g.toModel({
        producerName: PRODUCER_NAME,
        producerVersion: PRODUCER_VERSION,
        docString: `attend ${config.preset} ${kind} graph`,
        metadata: { [METADATA_KEYS.config]: JSON.stringify(config), [METADATA_KEYS.graph]: `${config.preset}-${kind}` },
      }),
    );
  };
  const result = { encoder: encode('encoder'), decoder: encode('decoder') };
  weights.checkAllUsed();
  return result;
}

/** A checkpoint's weights for a two-graph export, checked against `config` (sizes, finite values) before any graph is built. */
export function checkedTensors(config: ModelConfig, { read, where }: CheckpointSource): { tensors: Record<string, NamedTensor>; source: string } {
  const source = where(CHECKPOINT_FILES.weights);
  const { tensors } = parseSafetensors(read(CHECKPOINT_FILES.weights), { source });
  checkWeights(config, tensors, source);
  return { tensors, source };
}

export const RNN_SEQ2SEQ: RuntimeKind<RnnSeq2SeqConfig> = {
  layout: {
    graphs: {
      encoder: { file: RNN_SEQ2SEQ_FILES.encoder, graph: 'rnn-seq2seq-encoder' },
      decoder: { file: RNN_SEQ2SEQ_FILES.decoder, graph: 'rnn-seq2seq-decoder', attentions: /^attention_weights$/ },
    },
    tokenizer: true,
    files: [],
    transformersJsFiles: TEXT_FILES,
  },
  sessions: { 'rnn-seq2seq-encoder': RnnEncoderSession, 'rnn-seq2seq-decoder': RnnDecoderStepSession },
  forward: { none: 'exports as an encoder and a decoder-step graph: use exportRnnSeq2Seq' },
  exportGraphs: (config, checkpoint) => {
    const { tensors, source } = checkedTensors(config, checkpoint);
    const { encoder, decoder } = exportRnnSeq2Seq(config, tensors, { source });
    return { [RNN_SEQ2SEQ_FILES.encoder]: encoder, [RNN_SEQ2SEQ_FILES.decoder]: decoder };
  },
  folderJson: (config) => ({ [EXPORT_FILES.generationConfig]: generationConfig(config) }),
  translator: rnnTranslator,
};

/**
 * ONNX GRU / LSTM weights [dirs, G·H, in], [dirs, G·H, H], [dirs, 2·G·H] from checkpoint
 * tensors `{prefix}.weight_ih_{suffix}` … stored [G·H, in] in PyTorch's gate order (GRU r, z,
 * n → ONNX z, r, h; LSTM i, f, g, o → ONNX i, o, f, c).
 */
export function onnxCellWeights(g: GraphBuilder, w: WeightReader, cell: RnnCell, prefix: string, suffixes: string[], inputSize: number, H: number): { W: Value; R: Value; B: Value } {
  const lstm = cell === 'lstm';
  const G = lstm ? 4 : 3;
  const order = lstm ? [0, 3, 1, 2] : [1, 0, 2]; // ONNX block k is PyTorch block order[k]
  const reorder = (x: Float32Array, cols: number): Float32Array => {
    const out = new Float32Array(x.length);
    const block = H * cols;
    order.forEach((from, k) => out.set(x.subarray(from * block, (from + 1) * block), k * block));
    return out;
  };
  const W = new Float32Array(suffixes.length * G * H * inputSize);
  const R = new Float32Array(suffixes.length * G * H * H);
  const B = new Float32Array(suffixes.length * 2 * G * H);
  suffixes.forEach((s, k) => {
    W.set(reorder(w.get(`${prefix}.weight_ih_${s}`, [G * H, inputSize]), inputSize), k * G * H * inputSize);
    R.set(reorder(w.get(`${prefix}.weight_hh_${s}`, [G * H, H]), H), k * G * H * H);
    B.set(reorder(w.get(`${prefix}.bias_ih_${s}`, [G * H]), 1), k * 2 * G * H);
    B.set(reorder(w.get(`${prefix}.bias_hh_${s}`, [G * H]), 1), k * 2 * G * H + G * H);
  });
  const n = suffixes.length;
  return {
    W: g.initializer(`${prefix}.W_${suffixes[0]}`, 'float32', [n, G * H, inputSize], W),
    R: g.initializer(`${prefix}.R_${suffixes[0]}`, 'float32', [n, G * H, H], R),
    B: g.initializer(`${prefix}.B_${suffixes[0]}`, 'float32', [n, 2 * G * H], B),
  };
}

class RnnGraph {
  private readonly d: number;

  constructor(
    private readonly config: RnnSeq2SeqConfig,
    private readonly w: WeightReader,
    private readonly g: GraphBuilder,
  ) {
    this.d = config.dModel;
  }

  /** E[ids]·√d: ids [...] → [..., d]. */
  private embed(ids: Value): Value {
    const { g, config: c, d } = this;
    const table = g.initializer('embed_tokens.weight', 'float32', [c.vocabSize, d], this.w.get('embed_tokens.weight', [c.vocabSize, d]));
    return g.mul(g.gather(table, ids), g.floats([Math.sqrt(d)]));
  }

  private cellWeights(prefix: string, suffixes: string[], inputSize: number, H: number): { W: Value; R: Value; B: Value } {
    return onnxCellWeights(this.g, this.w, this.config.rnnCell, prefix, suffixes, inputSize, H);
  }

  /** The config's recurrence over x [T, B, in]: Y [T, dirs, B, H], Y_h and (LSTM) Y_c [dirs, B, H]. */
  private recurrence(x: Value, weights: { W: Value; R: Value; B: Value }, lengths: Value, initial: { h: Value; c: Value }, H: number, direction: 'forward' | 'bidirectional'): { y: Value; h: Value; c?: Value } {
    const { W, R, B } = weights;
    if (this.config.rnnCell === 'lstm') {
      const [y, h, c] = this.g.lstm(x, W, R, B, lengths, initial.h, initial.c, H, direction);
      return { y, h, c };
    }
    const [y, h] = this.g.gru(x, W, R, B, lengths, initial.h, H, direction);
    return { y, h };
  }

  private linearWeight(name: string, outDim: number, inDim: number): Value {
    return this.g.initializer(name, 'float32', [inDim, outDim], this.w.linear(name, outDim, inDim));
  }

  private vector(name: string, shape: number[]): Value {
    return this.g.initializer(name, 'float32', shape, this.w.get(name, shape));
  }

  buildEncoder(): void {
    const { g, config: c, d } = this;
    const ids = g.input('input_ids', 'int64', ['batch', 'encoder_sequence']);
    const mask = g.input('attention_mask', 'int64', ['batch', 'encoder_sequence']);
    const bidirectional = c.rnnBidirectional;
    const H = bidirectional ? d / 2 : d;
    const lengths = g.cast(g.reduceSum(mask, [1], false), 'int32'); // [B]
    let x = g.transpose(this.embed(ids), [1, 0, 2]); // [S, B, d]
    let final = '';
    for (let l = 0; l < c.numEncoderLayers; l++) {
      g.scope(`encoder.rnn.l${l}`, () => {
        const suffixes = bidirectional ? [`l${l}`, `l${l}_reverse`] : [`l${l}`];
        const { y, h: yH } = this.recurrence(x, this.cellWeights('encoder.rnn', suffixes, d, H), lengths, { h: '', c: '' }, H, bidirectional ? 'bidirectional' : 'forward');
        x = g.reshape(g.transpose(y, [0, 2, 1, 3]), [0, 0, -1]); // [S, B, dirs·H]
        final = g.reshape(g.transpose(yH, [1, 0, 2]), [0, -1]); // [B, dirs·H]: [forward; backward]
      });
    }
    g.output('last_hidden_state', g.transpose(x, [1, 0, 2]), 'float32', ['batch', 'encoder_sequence', d]);
    const L = c.numDecoderLayers;
    const h0 = g.scope('decoder.bridge', () => g.tanh(g.add(g.matMul(final, this.linearWeight('decoder.bridge.weight', L * d, d)), this.vector('decoder.bridge.bias', [L * d]))));
    g.output('decoder_initial_state', g.transpose(g.reshape(h0, [0, L, d]), [1, 0, 2]), 'float32', [L, 'batch', d]);
  }

  buildDecoderStep(): void {
    const { g, config: c, d } = this;
    const kind = c.rnnAttention;
    const L = c.numDecoderLayers;
    const feeding = rnnHasInputFeeding(c);
    const ids = g.input('input_ids', 'int64', ['batch', 1]);
    const states = g.input('encoder_hidden_states', 'float32', ['batch', 'encoder_sequence', d]);
    const mask = g.input('encoder_attention_mask', 'int64', ['batch', 'encoder_sequence']);
    const hidden = g.input('hidden_state', 'float32', [L, 'batch', d]);
    const lstm = c.rnnCell === 'lstm';
    const cell = lstm ? g.input('cell_state', 'float32', [L, 'batch', d]) : '';
    const previous = feeding ? g.input('attentional_state', 'float32', ['batch', d]) : '';
    const e = g.reshape(this.embed(ids), [0, d]); // [B, d]

    const attend = kind === 'none' ? undefined : this.attention(states, mask);
    const layerStates: Value[] = [];
    const cellStates: Value[] = [];
    let before: { context: Value; weights: Value } | undefined;
    if (kind === 'additive') before = attend!(g.reshape(g.slice(hidden, [L - 1], [L], [0]), [-1, d]));
    let x = kind === 'none' ? e : g.concat([e, before ? before.context : previous], 1); // [B, in]
    for (let l = 0; l < L; l++) {
      x = g.scope(`decoder.rnn.l${l}`, () => {
        const inputSize = l === 0 && kind !== 'none' ? 2 * d : d;
        const layer = (t: Value): Value => g.slice(t, [l], [l + 1], [0]); // [1, B, d]
        const next = this.recurrence(g.unsqueeze(x, [0]), this.cellWeights('decoder.rnn', [`l${l}`], inputSize, d), '', { h: layer(hidden), c: lstm ? layer(cell) : '' }, d, 'forward');
        layerStates.push(next.h);
        if (next.c) cellStates.push(next.c);
        return g.reshape(next.h, [-1, d]);
      });
    }
    let out = x;
    let weights: Value | undefined;
    if (attend) {
      const { context, weights: a } = before ?? attend(x);
      weights = a;
      out = g.scope('decoder.attention_combine', () =>
        g.tanh(g.add(g.matMul(g.concat([context, x], 1), this.linearWeight('decoder.attention_combine.weight', d, 2 * d)), this.vector('decoder.attention_combine.bias', [d]))),
      );
    }
    const logits = c.tieEmbeddings ? g.matMul(out, g.transpose('embed_tokens.weight', [1, 0])) : g.matMul(out, this.linearWeight('lm_head.weight', c.vocabSize, d));
    g.output('logits', g.unsqueeze(logits, [1]), 'float32', ['batch', 1, c.vocabSize]);
    g.output('present_hidden_state', L === 1 ? layerStates[0]! : g.concat(layerStates, 0), 'float32', [L, 'batch', d]);
    if (lstm) g.output('present_cell_state', L === 1 ? cellStates[0]! : g.concat(cellStates, 0), 'float32', [L, 'batch', d]);
    if (feeding) g.output('present_attentional_state', out, 'float32', ['batch', d]);
    if (weights) g.output('attention_weights', g.unsqueeze(weights, [1]), 'float32', ['batch', 1, 'encoder_sequence']);
  }

  /** attend(query [B, d]) → context [B, d] and weights [B, S], for the config's attention. */
  private attention(states: Value, mask: Value): (query: Value) => { context: Value; weights: Value } {
    const { g, config: c, d } = this;
    const kind = c.rnnAttention;
    const maskF = g.cast(mask, 'float32');
    const bias = g.mul(g.sub(g.floats([1]), maskF), g.floats([MASKED_SCORE])); // 0 or MASKED_SCORE, [B, S]
    const score = kind === 'dot' ? 'dot' : kind === 'general' || kind === 'local-p' ? 'general' : 'additive';
    const matrix = (name: string): Value => g.initializer(name, 'float32', [d, d], this.w.get(name, [1, d, d]));
    const general = score === 'general' ? matrix('decoder.attention.score.weight') : '';
    let projectedKeys = '';
    let queryWeight = '';
    let v = '';
    if (score === 'additive') {
      queryWeight = matrix('decoder.attention.score.query.weight');
      projectedKeys = g.matMul(states, matrix('decoder.attention.score.key.weight')); // [B, S, d]
      v = g.initializer('decoder.attention.score.v', 'float32', [d, 1], this.w.get('decoder.attention.score.v', [1, d]));
    }
    let predict: { weight: Value; v: Value } | undefined;
    if (kind === 'local-p') {
      predict = {
        weight: this.linearWeight('decoder.attention.position.weight', d, d),
        v: g.initializer('decoder.attention.position.v', 'float32', [d, 1], this.w.get('decoder.attention.position.v', [d])),
      };
    }
    const dotWith = (q: Value): Value => g.reduceSum(g.mul(states, g.unsqueeze(q, [1])), [2], false); // [B, S]
    return (query) =>
      g.scope('decoder.attention', () => {
        let scores: Value;
        if (score === 'dot') scores = dotWith(query);
        else if (score === 'general') scores = dotWith(g.matMul(query, general));
        else scores = g.reshape(g.matMul(g.tanh(g.add(projectedKeys, g.unsqueeze(g.matMul(query, queryWeight), [1]))), v), [0, -1]);
        let weights: Value;
        if (predict) {
          const D = c.localWindow!;
          const length = g.reduceSum(maskF, [1], true); // [B, 1]
          const p = g.mul(length, g.sigmoid(g.matMul(g.tanh(g.matMul(query, predict.weight)), predict.v))); // p_t [B, 1]
          const positions = g.cast(g.range(g.int64s([0], []), g.dimSize(states, 1), g.int64s([1], [])), 'float32'); // [S]
          const distance = g.sub(positions, p); // [B, S]
          const windowBias = g.where(g.lessOrEqual(g.abs(distance), g.floats([D])), g.floats([0]), g.floats([MASKED_SCORE]));
          const align = g.softmax(g.add(g.add(scores, bias), windowBias));
          const sigma = D / 2;
          weights = g.mul(align, g.exp(g.div(g.mul(distance, distance), g.floats([-2 * sigma * sigma]))));
        } else {
          weights = g.softmax(g.add(scores, bias));
        }
        const context = g.reduceSum(g.mul(g.unsqueeze(weights, [2]), states), [1], false); // [B, d]
        return { context, weights };
      });
  }
}
