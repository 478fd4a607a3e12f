// The recurrent encoder–decoder of the seeds: a GRU encoder (Cho et al., 2014; bidirectional as
// in Bahdanau et al., 2015), or an LSTM one (as Luong et al., 2015), and a decoder of the same
// cell (an LSTM decoder's cell state starts at zero; the bridge gives its hidden state) that
// reads the encoder states with no attention, Bahdanau's additive attention (scores from the
// previous decoder state, context fed into the cell), or Luong et al.'s (2015, §3) global dot /
// general / concat attention and local-p attention over the current decoder state, followed by
// the attentional layer
// h̃_t = tanh(W_c [c_t; h_t]), fed to the next step's input (Luong's input feeding). The score
// functions are the Transformer's (`attentionScores`) with one head, written per step; masks
// come from @attend/core.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { attentionMask, createRng, maskToBias, MASKED_SCORE, ShapeError, type RnnSeq2SeqConfig, type RnnAttention, type RnnCell, type ScoreFunction } from '@attend/core';
import { scoreParamsOf, type ScoreParams } from '../../attention.js';
import { EmbeddingTable, type AttentionMaps, type ForwardOptions, type ForwardResult, type TokenBatch } from '../../model.js';
import { dropout, embeddingLookup, linear, matMul, matMulBT } from '../../ops.js';
import { glorot, ParamStore, type NamedParam } from '../../params.js';

export interface RnnLayerArgs {
  /** The recurrent cell; default 'gru'. */
  cell?: RnnCell;
  inputSize: number;
  hiddenSize: number;
  /** Suffix of the weight names, as PyTorch's nn.GRU / nn.LSTM: `l0`, `l0_reverse`, `l1`, … */
  suffix: string;
  seed?: number;
  name?: string;
}

/** A recurrent state: h, and for the LSTM its cell c. */
export interface RnnState {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

export interface RunOptions {
  /** Valid length of each row; padded positions keep the state. */
  lengths?: Int32Array;
  reverse?: boolean;
  /** Initial hidden state [B, H]; default zeros (an LSTM's cell state always starts at zero). */
  h0?: tf.Tensor2D;
}

/**
 * One recurrent layer in one direction, with PyTorch's (and ONNX's) equations.
 * GRU (ONNX linear_before_reset = 1): r = σ(W_ir x + b_ir + W_hr h + b_hr),
 * z = σ(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
 * h' = (1 − z) ⊙ n + z ⊙ h; gate blocks r, z, n.
 * LSTM (no peepholes): i = σ(W_ii x + b_ii + W_hi h + b_hi), f = σ(…), g = tanh(…), o = σ(…),
 * c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'); gate blocks i, f, g, o.
 * Weights weight_ih [in, G·H] and weight_hh [H, G·H] (G = 3 or 4 gates); stored [G·H, in] /
 * [G·H, H] in checkpoints, as nn.GRU's / nn.LSTM's weight_ih_l0 / weight_hh_l0.
 */
export class RnnLayer extends tfl.layers.Layer {
  static className = 'AttendRnnLayer';
  readonly cell: RnnCell;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly suffix: string;
  readonly seed: number;
  private readonly params = new ParamStore();

  constructor(args: RnnLayerArgs) {
    super({ name: args.name });
    this.cell = args.cell ?? 'gru';
    this.inputSize = args.inputSize;
    this.hiddenSize = args.hiddenSize;
    this.suffix = args.suffix;
    this.seed = args.seed ?? 0;
  }

  /** Gate blocks: 3 (GRU) or 4 (LSTM). */
  get gates(): number {
    return this.cell === 'lstm' ? 4 : 3;
  }

  override build(): void {
    if (this.built) return;
    const rng = createRng(this.seed);
    const [I, H, G, s] = [this.inputSize, this.hiddenSize, this.gates, this.suffix];
    this.params.add(this, `weight_ih_${s}`, [I, G * H], glorot(I, H), rng, true);
    this.params.add(this, `weight_hh_${s}`, [H, G * H], { normal: 1 / Math.sqrt(H) }, rng, true);
    this.params.add(this, `bias_ih_${s}`, [G * H], 'zeros', rng);
    this.params.add(this, `bias_hh_${s}`, [G * H], 'zeros', rng);
    this.built = true;
  }

  /** W_i x + b_i for every position at once: x [..., in] → [..., G·H]. */
  inputGates(x: tf.Tensor): tf.Tensor {
    this.build();
    if (x.shape[x.rank - 1] !== this.inputSize) throw new ShapeError(`${this.name}: expected inputs [..., ${this.inputSize}], got [${x.shape}]`);
    return linear(x, this.params.get(`weight_ih_${this.suffix}`), this.params.get(`bias_ih_${this.suffix}`));
  }

  /** One step from precomputed input gates gi [B, G·H] and the previous state (an LSTM's c default zeros). */
  step(gi: tf.Tensor2D, state: RnnState): RnnState {
    this.build();
    return tf.tidy(() => {
      const H = this.hiddenSize;
      const B = gi.shape[0];
      const gh = linear(state.h, this.params.get(`weight_hh_${this.suffix}`), this.params.get(`bias_hh_${this.suffix}`));
      // Slices, not split: tfjs's SplitV gradient fails when one of the pieces gets no gradient.
      const block = (t: tf.Tensor, k: number, n = 1): tf.Tensor2D => tf.slice(t, [0, k * H], [B, n * H]) as tf.Tensor2D;
      if (this.cell === 'lstm') {
        const gates = tf.add(gi, gh);
        const c = state.c ?? (tf.zerosLike(state.h) as tf.Tensor2D);
        const next = tf.add(tf.mul(tf.sigmoid(block(gates, 1)), c), tf.mul(tf.sigmoid(block(gates, 0)), tf.tanh(block(gates, 2)))) as tf.Tensor2D;
        return { h: tf.mul(tf.sigmoid(block(gates, 3)), tf.tanh(next)) as tf.Tensor2D, c: next };
      }
      const rz = tf.sigmoid(tf.add(block(gi, 0, 2), block(gh, 0, 2)));
      const r = block(rz, 0);
      const z = block(rz, 1);
      const n = tf.tanh(tf.add(block(gi, 2), tf.mul(r, block(gh, 2))));
      return { h: tf.add(n, tf.mul(z, tf.sub(state.h, n))) as tf.Tensor2D };
    });
  }

  /**
   * Runs over x [B, T, in] from h0, forwards or backwards in time. Rows shorter than T
   * (lengths) keep their state through the padding, so a forward pass ends with each row's
   * state at its last valid position, and a backward pass starts at it. → hidden states [B, T, H]
   */
  run(x: tf.Tensor3D, options: RunOptions = {}): tf.Tensor3D {
    const [B, T] = x.shape;
    return tf.tidy(() => {
      const gates = tf.unstack(this.inputGates(x), 1) as tf.Tensor2D[]; // T × [B, G·H]
      const zeros = (): tf.Tensor2D => tf.zeros([B, this.hiddenSize]) as tf.Tensor2D;
      let state: RnnState = { h: options.h0 ?? zeros(), ...(this.cell === 'lstm' ? { c: zeros() } : {}) };
      const outputs: tf.Tensor2D[] = new Array(T);
      for (let k = 0; k < T; k++) {
        const t = options.reverse ? T - 1 - k : k;
        const next = this.step(gates[t]!, state);
        const keep = stepMask(options.lengths, t);
        const hold = (before: tf.Tensor2D, after: tf.Tensor2D): tf.Tensor2D => (keep ? (tf.add(before, tf.mul(keep, tf.sub(after, before))) as tf.Tensor2D) : after);
        state = { h: hold(state.h, next.h), ...(next.c && state.c ? { c: hold(state.c, next.c) } : {}) };
        outputs[t] = state.h;
      }
      return tf.stack(outputs, 1) as tf.Tensor3D;
    });
  }

  namedParams(prefix: string): NamedParam[] {
    this.build();
    return this.params.named(prefix);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), cell: this.cell, inputSize: this.inputSize, hiddenSize: this.hiddenSize, suffix: this.suffix, seed: this.seed };
  }
}

/** [B, 1] of 1 where t < lengths[b], else 0; undefined when every row is valid at t. */
function stepMask(lengths: Int32Array | undefined, t: number): tf.Tensor2D | undefined {
  if (!lengths || lengths.every((n) => n > t)) return undefined;
  return tf.tensor2d(Float32Array.from(lengths, (n) => (n > t ? 1 : 0)), [lengths.length, 1]);
}

/** Luong's score function behind each rnnAttention, as the Transformer's score functions with one head. */
export function rnnScoreFunction(attention: RnnAttention): ScoreFunction | undefined {
  switch (attention) {
    case 'none':
      return undefined;
    case 'dot':
      return 'dot';
    case 'general':
    case 'local-p': // Luong et al. pair local-p with the general score.
      return 'general';
    case 'additive':
    case 'concat': // v·tanh(W [h_t; h̄_s]) = v·tanh(W₁h_t + W₂h̄_s): the additive score.
      return 'additive';
  }
}

/**
 * Scores of one decoder step [B, S] for the query q [B, d] against the encoder states k [B, S, d]:
 * the same functions as `attentionScores(q, k, score, …)` with one head (dot: q·k; general:
 * (q·W)·k; additive: v·tanh(q·W_q + k·W_k)), written for a single query so that each step is a
 * few 2-D products, and with the key projection k·W_k taken once per source (`projectedKeys`).
 */
export function stepScores(score: ScoreFunction, query: tf.Tensor2D, keys: tf.Tensor3D, params: ScoreParams, projectedKeys?: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const d = query.shape[1];
    const dotWith = (q: tf.Tensor2D): tf.Tensor2D => tf.sum(tf.mul(keys, tf.expandDims(q, 1)), -1) as tf.Tensor2D;
    switch (score) {
      case 'dot':
        return dotWith(query);
      case 'general':
        return dotWith(matMul(query, tf.reshape(params.general!, [d, d])) as tf.Tensor2D);
      case 'additive': {
        const k = projectedKeys ?? matMul(keys, tf.broadcastTo(tf.reshape(params.additiveKey!, [1, d, d]), [keys.shape[0], d, d]));
        const q = matMul(query, tf.reshape(params.additiveQuery!, [d, d])); // [B, d]
        const hidden = tf.tanh(tf.add(k, tf.expandDims(q, 1))); // [B, S, d]
        return tf.sum(tf.mul(hidden, tf.reshape(params.additiveV!, [1, 1, d])), -1) as tf.Tensor2D;
      }
      default:
        throw new ShapeError(`stepScores: score '${score}' is not used by rnn-seq2seq`);
    }
  });
}

/**
 * Luong's local-p weights: p_t = S·sigmoid(v_p·tanh(W_p h_t)) with S the row's source length,
 * then a_t(s) = align(h_t, h̄_s)·exp(−(s − p_t)² / 2σ²), σ = D/2, where align is the softmax of
 * the scores over the valid positions inside the window |s − p_t| ≤ D (zero outside it).
 * scores and bias [B, T, S]; states h_t [B, T, d] → { weights [B, T, S], positions p_t [B, T] }.
 */
export function localPWeights(scores: tf.Tensor3D, bias: tf.Tensor3D, states: tf.Tensor3D, lengths: Int32Array, window: number, predict: { weight: tf.Tensor2D; v: tf.Tensor1D }): { weights: tf.Tensor3D; positions: tf.Tensor2D } {
  return tf.tidy(() => {
    const [B, T, S] = scores.shape;
    const d = states.shape[2];
    const hidden = tf.tanh(linear(states, predict.weight)); // [B, T, d]
    const logit = tf.reshape(matMul(tf.reshape(hidden, [B * T, d]), tf.reshape(predict.v, [d, 1])), [B, T]);
    const positions = tf.mul(tf.sigmoid(logit), tf.tensor2d(Float32Array.from(lengths), [B, 1])) as tf.Tensor2D; // p_t [B, T]
    const distance = tf.sub(tf.tensor3d(Float32Array.from({ length: S }, (_, s) => s), [1, 1, S]), tf.expandDims(positions, 2)); // s − p_t [B, T, S]
    // greaterEqual, not lessEqual: tfjs registers a (zero) gradient for the former only.
    const inWindow = tf.greaterEqual(tf.scalar(window), tf.abs(distance));
    const windowBias = tf.where(inWindow, tf.zerosLike(distance), tf.fill(distance.shape, MASKED_SCORE));
    const align = tf.softmax(tf.add(tf.add(scores, bias), windowBias));
    const sigma = window / 2;
    const gauss = tf.exp(tf.div(tf.square(distance), -2 * sigma * sigma));
    return { weights: tf.mul(align, gauss) as tf.Tensor3D, positions };
  });
}

/** The recurrent layers of one side: `layers[l]` holds the forward (and backward) direction of layer l. */
class RnnStack {
  readonly layers: { forward: RnnLayer; backward?: RnnLayer }[];

  constructor(cell: RnnCell, numLayers: number, inputSize: number, unitsPerDirection: number, bidirectional: boolean, seed: number) {
    const outputSize = bidirectional ? 2 * unitsPerDirection : unitsPerDirection;
    this.layers = Array.from({ length: numLayers }, (_, l) => {
      const input = l === 0 ? inputSize : outputSize;
      return {
        forward: new RnnLayer({ cell, inputSize: input, hiddenSize: unitsPerDirection, suffix: `l${l}`, seed: seed * 100 + 2 * l }),
        backward: bidirectional ? new RnnLayer({ cell, inputSize: input, hiddenSize: unitsPerDirection, suffix: `l${l}_reverse`, seed: seed * 100 + 2 * l + 1 }) : undefined,
      };
    });
  }

  namedParams(prefix: string): NamedParam[] {
    return this.layers.flatMap(({ forward, backward }) => [...forward.namedParams(prefix), ...(backward?.namedParams(prefix) ?? [])]);
  }
}

/** Holds the decoder's non-recurrent weights: bridge, attention scores, attentional layer, LM head. */
class RnnParams extends tfl.layers.Layer {
  static className = 'AttendRnnParams';
}

/**
 * The rnn-seq2seq preset. Same contract as TransformerModel's encoder–decoder: `encode` gives the
 * encoder states [B, S, dModel], `decode` the decoder's output states [B, T, dModel] for a
 * teacher-forced target, `lmLogits` the vocabulary logits, `forward` all three; attention
 * weights [B, 1, T, S] come back as `attention.cross` on request.
 */
export class RnnSeq2SeqModel {
  readonly config: RnnSeq2SeqConfig;
  readonly embedTokens: EmbeddingTable;
  readonly encoderRnn: RnnStack;
  readonly decoderRnn: RnnStack;
  readonly attentionKind: RnnAttention;
  private readonly params = new ParamStore();
  private readonly holder = new RnnParams({});

  constructor(config: RnnSeq2SeqConfig, options: { seed?: number } = {}) {
    this.config = config;
    this.attentionKind = config.rnnAttention;
    const seed = options.seed ?? 0;
    const d = config.dModel;
    const bidirectional = config.rnnBidirectional;
    this.embedTokens = new EmbeddingTable({ rows: config.vocabSize, dModel: d, seed: seed * 7919 + 1 });
    const cell = config.rnnCell;
    this.encoderRnn = new RnnStack(cell, config.numEncoderLayers, d, bidirectional ? d / 2 : d, bidirectional, seed * 7919 + 2);
    const decoderInput = this.attentionKind === 'none' ? d : 2 * d; // [e_t; c_t] or [e_t; h̃_{t−1}]
    this.decoderRnn = new RnnStack(cell, config.numDecoderLayers, decoderInput, d, false, seed * 7919 + 3);
    const rng = createRng(seed * 7919 + 4);
    const add = (name: string, shape: number[], init: Parameters<ParamStore['add']>[3], linearKernel = false): void =>
      this.params.add(this.holder, name, shape, init, rng, linearKernel);
    const L = config.numDecoderLayers;
    add('decoder.bridge.weight', [d, L * d], glorot(d, d), true);
    add('decoder.bridge.bias', [L * d], 'zeros');
    const score = rnnScoreFunction(this.attentionKind);
    if (score === 'general') add('decoder.attention.score.weight', [1, d, d], 'identity');
    if (score === 'additive') {
      add('decoder.attention.score.query.weight', [1, d, d], { normal: 1 / Math.sqrt(d) });
      add('decoder.attention.score.key.weight', [1, d, d], { normal: 1 / Math.sqrt(d) });
      add('decoder.attention.score.v', [1, d], { normal: 1 / Math.sqrt(d) });
    }
    if (this.attentionKind === 'local-p') {
      add('decoder.attention.position.weight', [d, d], glorot(d, d), true);
      add('decoder.attention.position.v', [d], { normal: 1 / Math.sqrt(d) });
    }
    if (score) {
      add('decoder.attention_combine.weight', [2 * d, d], glorot(2 * d, d), true);
      add('decoder.attention_combine.bias', [d], 'zeros');
    }
    if (!config.tieEmbeddings) add('lm_head.weight', [d, config.vocabSize], { normal: 0.02 }, true);
  }

  /** Every parameter with its checkpoint name, in a stable order. */
  namedParams(): NamedParam[] {
    return [
      ...this.embedTokens.namedParams('embed_tokens'),
      ...this.encoderRnn.namedParams('encoder.rnn'),
      ...this.decoderRnn.namedParams('decoder.rnn'),
      ...this.params.named(''),
    ];
  }

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  /** E[ids]·√dModel, then dropout. [B, T, d] */
  embed(batch: TokenBatch, training: boolean): tf.Tensor3D {
    const { dModel, maxSeqLen, vocabSize } = this.config;
    const { ids, batchSize: B, seqLen: T } = batch;
    if (T > maxSeqLen) throw new ShapeError(`sequence of length ${T} exceeds maxSeqLen ${maxSeqLen}`);
    if (ids.length !== B * T) throw new ShapeError(`token batch has ${ids.length} ids for batchSize ${B} × seqLen ${T}`);
    for (const id of ids) {
      if (id < 0 || id >= vocabSize || !Number.isInteger(id)) throw new ShapeError(`token id ${id} is outside the vocabulary [0, ${vocabSize})`);
    }
    return tf.tidy(() => dropout(tf.mul(embeddingLookup(this.embedTokens.table(), ids, [B, T]), Math.sqrt(dModel)), this.config.dropout, training) as tf.Tensor3D);
  }

  /** Encoder states [B, S, dModel]: [forward; backward] per position when bidirectional. */
  encode(source: TokenBatch, options: ForwardOptions = {}, _maps?: AttentionMaps): tf.Tensor3D {
    const training = options.training ?? false;
    return tf.tidy(() => {
      let x = this.embed(source, training);
      this.encoderRnn.layers.forEach(({ forward, backward }, l) => {
        if (l > 0) x = dropout(x, this.config.dropout, training) as tf.Tensor3D;
        const fwd = forward.run(x, { lengths: source.lengths });
        x = backward ? (tf.concat([fwd, backward.run(x, { lengths: source.lengths, reverse: true })], 2) as tf.Tensor3D) : fwd;
      });
      return x;
    });
  }

  /**
   * Initial decoder states, one [B, d] per layer: tanh(W·final + b), where `final` is the
   * encoder's last forward state (position S − 1, carried through padding) and, when
   * bidirectional, its backward state at position 0.
   */
  initialStates(states: tf.Tensor3D): tf.Tensor2D[] {
    return tf.tidy(() => {
      const [B, S, d] = states.shape;
      const last = tf.reshape(tf.slice(states, [0, S - 1, 0], [B, 1, d]), [B, d]);
      let final: tf.Tensor = last;
      if (this.config.rnnBidirectional) {
        const first = tf.reshape(tf.slice(states, [0, 0, 0], [B, 1, d]), [B, d]);
        final = tf.concat([tf.slice(last, [0, 0], [B, d / 2]), tf.slice(first, [0, d / 2], [B, d / 2])], 1);
      }
      const h0 = tf.tanh(linear(final, this.params.get('decoder.bridge.weight'), this.params.get('decoder.bridge.bias')));
      return Array.from({ length: this.config.numDecoderLayers }, (_, l) => tf.slice(h0, [0, l * d], [B, d]) as tf.Tensor2D);
    });
  }

  /** Padding bias [B, T, S] over the source positions (0 or MASKED_SCORE). */
  private sourceBias(source: TokenBatch, T: number): tf.Tensor3D {
    const mask = attentionMask({ batchSize: source.batchSize, queryLen: T, keyLen: source.seqLen, keyLengths: source.lengths });
    return tf.tensor3d(maskToBias(mask), [source.batchSize, T, source.seqLen]);
  }

  private scoreParams(): ScoreParams {
    return scoreParamsOf(rnnScoreFunction(this.attentionKind), (name) => this.params.get(`decoder.attention.${name}`));
  }

  /**
   * Decoder output states [B, T, d] for the decoder input `target` (bos + tokens), given the
   * encoder states of `memory.source`: s_t with no attention, else h̃_t = tanh(W_c [c_t; s_t]).
   * Appends the attention weights [B, 1, T, S] to `maps.cross`.
   */
  decode(target: TokenBatch, memory: { states: tf.Tensor3D; source: TokenBatch } | undefined, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    if (!memory) throw new ShapeError('rnn-seq2seq decode needs the encoder states');
    const { states, source } = memory;
    if (states.shape[0] !== target.batchSize || states.shape[1] !== source.seqLen) {
      throw new ShapeError(`decode: encoder states [${states.shape}] do not match source [${source.batchSize}, ${source.seqLen}] and target batch ${target.batchSize}`);
    }
    const training = options.training ?? false;
    const result = tf.tidy(() => {
      const e = this.embed(target, training);
      const h0 = this.initialStates(states);
      if (this.attentionKind === 'none') {
        let s = e;
        this.decoderRnn.layers.forEach(({ forward }, l) => {
          if (l > 0) s = dropout(s, this.config.dropout, training) as tf.Tensor3D;
          s = forward.run(s, { h0: h0[l] });
        });
        return { out: dropout(s, this.config.dropout, training) as tf.Tensor3D, weights: undefined };
      }
      const r = this.attentionalDecode(e, h0, states, source, training);
      const [B, T, S] = r.weights.shape;
      return { out: r.out, weights: tf.reshape(r.weights, [B, 1, T, S]) as tf.Tensor4D };
    });
    if (result.weights) {
      if (maps) maps.cross.push(result.weights);
      else result.weights.dispose();
    }
    return result.out;
  }

  /**
   * The attentional decoder, one step at a time. Bahdanau (additive): a_t from the previous
   * top-layer state s_{t−1}, the cell reads [e_t; c_t]. Luong (dot, general, concat, local-p):
   * the cell reads [e_t; h̃_{t−1}] (input feeding, h̃_0 = 0), a_t from the new state s_t.
   * Both: h̃_t = tanh(W_c [c_t; s_t]), c_t = Σ_s a_t(s) h̄_s. → out [B, T, d], weights [B, T, S]
   */
  private attentionalDecode(e: tf.Tensor3D, h0: tf.Tensor2D[], states: tf.Tensor3D, source: TokenBatch, training: boolean): { out: tf.Tensor3D; weights: tf.Tensor3D } {
    const [B, T, d] = e.shape;
    const S = states.shape[1];
    const bahdanau = this.attentionKind === 'additive';
    const attend = this.stepAttention(states, source);
    const inputs = tf.unstack(e, 1) as tf.Tensor2D[];
    const combine = { weight: this.params.get('decoder.attention_combine.weight'), bias: this.params.get('decoder.attention_combine.bias') };
    const state: RnnState[] = h0.map((h) => ({ h })); // an LSTM's cell state starts at zero
    let feed = tf.zeros([B, d]) as tf.Tensor2D;
    const outs: tf.Tensor2D[] = [];
    const alphas: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      let before: { context: tf.Tensor2D; weights: tf.Tensor2D } | undefined;
      if (bahdanau) before = attend(state[state.length - 1]!.h);
      let x: tf.Tensor2D = tf.concat([inputs[t]!, before ? before.context : feed], 1);
      this.decoderRnn.layers.forEach(({ forward }, l) => {
        if (l > 0) x = dropout(x, this.config.dropout, training) as tf.Tensor2D;
        state[l] = forward.step(forward.inputGates(x) as tf.Tensor2D, state[l]!);
        x = state[l]!.h;
      });
      const { context, weights } = before ?? attend(x);
      feed = tf.tanh(linear(tf.concat([context, x], 1), combine.weight, combine.bias)) as tf.Tensor2D;
      outs.push(feed);
      alphas.push(weights);
    }
    const out = dropout(tf.stack(outs, 1), this.config.dropout, training) as tf.Tensor3D;
    return { out, weights: tf.reshape(tf.stack(alphas, 1), [B, T, S]) as tf.Tensor3D };
  }

  /** attend(query [B, d]) → { context [B, d], weights [B, S] } over the encoder states. */
  private stepAttention(states: tf.Tensor3D, source: TokenBatch): (query: tf.Tensor2D) => { context: tf.Tensor2D; weights: tf.Tensor2D } {
    const [B, S, d] = states.shape;
    const bias = tf.reshape(this.sourceBias(source, 1), [B, S]) as tf.Tensor2D;
    const params = this.scoreParams();
    const score = rnnScoreFunction(this.attentionKind)!;
    const projectedKeys = score === 'additive' ? (tf.reshape(matMul(tf.reshape(states, [B * S, d]), tf.reshape(params.additiveKey!, [d, d])), [B, S, d]) as tf.Tensor3D) : undefined;
    const lengths = source.lengths ?? new Int32Array(B).fill(S);
    const predict = this.attentionKind === 'local-p' ? { weight: this.params.get('decoder.attention.position.weight') as tf.Tensor2D, v: this.params.get('decoder.attention.position.v') as tf.Tensor1D } : undefined;
    return (query) => {
      const scores = stepScores(score, query, states, params, projectedKeys);
      let weights: tf.Tensor2D;
      if (predict) {
        const r = localPWeights(tf.reshape(scores, [B, 1, S]) as tf.Tensor3D, tf.reshape(bias, [B, 1, S]) as tf.Tensor3D, tf.reshape(query, [B, 1, d]) as tf.Tensor3D, lengths, this.config.localWindow!, predict);
        weights = tf.reshape(r.weights, [B, S]) as tf.Tensor2D;
      } else {
        weights = tf.softmax(tf.add(scores, bias)) as tf.Tensor2D;
      }
      return { context: tf.sum(tf.mul(tf.expandDims(weights, 2), states), 1) as tf.Tensor2D, weights };
    };
  }

  /** Vocabulary logits [B, T, V] from decoder output states (tied or separate output matrix). */
  lmLogits(states: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T, d] = states.shape;
      const flat = tf.reshape(states, [B * T, d]);
      const logits = this.config.tieEmbeddings ? matMulBT(flat, this.embedTokens.table()) : matMul(flat, this.params.get('lm_head.weight'));
      return tf.reshape(logits, [B, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** Source `input`, decoder input `target` (bos + tokens) → logits [B, T, V] (+ attention maps). */
  forward(input: TokenBatch, target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    if (!target) throw new ShapeError('rnn-seq2seq forward needs a target (decoder input) batch');
    const maps: AttentionMaps = { encoder: [], decoderSelf: [], cross: [] };
    const out = tf.tidy(() => {
      const states = this.encode(input, options);
      const logits = this.lmLogits(this.decode(target, { states, source: input }, options, options.returnAttention ? maps : undefined));
      return { logits, cross: maps.cross };
    });
    return options.returnAttention ? { logits: out.logits, attention: { encoder: [], decoderSelf: [], cross: out.cross } } : { logits: out.logits };
  }

  /** Frees every tensor the model owns. */
  dispose(): void {
    for (const p of this.namedParams()) p.variable.dispose();
  }
}

tf.serialization.registerClass(RnnLayer);
tf.serialization.registerClass(RnnParams);
