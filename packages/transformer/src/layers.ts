// The building blocks around attention: layer norm, the position-wise feed-forward network
// (Vaswani et al. §3.3), token embeddings with positional encodings (§3.4–3.5), and the
// encoder and decoder layers with pre- or post-norm residual connections. Names follow
// Hugging Face BART (self_attn, encoder_attn, fc1, fc2, *_layer_norm) so checkpoints read
// naturally in the Python ecosystem.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, type Activation, type NormPlacement, type ScoreFunction } from '@attend/core';
import { MultiHeadAttention, type AttentionCallOptions } from './attention.js';
import { activate, dropout, layerNorm, linear } from './ops.js';
import { linearInit, ParamStore, type InitScheme, type NamedParam } from './params.js';

export interface LayerNormArgs {
  dim: number;
  /** Added to the variance; default 1e-5. */
  eps?: number;
  name?: string;
}

export class LayerNorm extends tfl.layers.Layer {
  static className = 'AttendLayerNorm';
  readonly dim: number;
  readonly eps: number;
  private readonly params = new ParamStore();

  constructor(args: LayerNormArgs) {
    super({ name: args.name });
    this.dim = args.dim;
    this.eps = args.eps ?? 1e-5;
  }

  override build(): void {
    if (this.built) return;
    const rng = createRng(0);
    this.params.add(this, 'weight', [this.dim], 'ones', rng);
    this.params.add(this, 'bias', [this.dim], 'zeros', rng);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.normalize(single(inputs));
  }

  normalize(x: tf.Tensor): tf.Tensor {
    this.build();
    return layerNorm(x, this.params.get('weight'), this.params.get('bias'), this.eps);
  }

  namedParams(prefix: string): NamedParam[] {
    this.build();
    return this.params.named(prefix);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, eps: this.eps };
  }
}

export interface FeedForwardArgs {
  dModel: number;
  dFf: number;
  /** Default 'gelu'. */
  activation?: Activation;
  /** Dropout after the activation; default 0. */
  dropout?: number;
  /** Extra scale of fc2's initial weights (GPT-2 shrinks residual projections by 1/√(2·layers)); default 1. */
  residualScale?: number;
  /** Initialisation of fc1 and fc2; default 'glorot'. */
  init?: InitScheme;
  seed?: number;
  name?: string;
}

/** fc2(dropout(act(fc1(x)))) */
export class FeedForward extends tfl.layers.Layer {
  static className = 'AttendFeedForward';
  readonly dModel: number;
  readonly dFf: number;
  readonly activation: Activation;
  readonly dropoutRate: number;
  readonly residualScale: number;
  readonly init: InitScheme;
  readonly seed: number;
  private readonly params = new ParamStore();

  constructor(args: FeedForwardArgs) {
    super({ name: args.name });
    this.dModel = args.dModel;
    this.dFf = args.dFf;
    this.activation = args.activation ?? 'gelu';
    this.dropoutRate = args.dropout ?? 0;
    this.residualScale = args.residualScale ?? 1;
    this.init = args.init ?? 'glorot';
    this.seed = args.seed ?? 0;
  }

  override build(): void {
    if (this.built) return;
    const rng = createRng(this.seed);
    this.params.add(this, 'fc1.weight', [this.dModel, this.dFf], linearInit(this.init, this.dModel, this.dFf), rng, true);
    this.params.add(this, 'fc1.bias', [this.dFf], 'zeros', rng);
    this.params.add(this, 'fc2.weight', [this.dFf, this.dModel], linearInit(this.init, this.dFf, this.dModel, this.residualScale), rng, true);
    this.params.add(this, 'fc2.bias', [this.dModel], 'zeros', rng);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(single(inputs), false);
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    this.build();
    return tf.tidy(() => {
      const p = this.params;
      const hidden = activate(linear(x, p.get('fc1.weight'), p.get('fc1.bias')), this.activation);
      return linear(dropout(hidden, this.dropoutRate, training), p.get('fc2.weight'), p.get('fc2.bias'));
    });
  }

  namedParams(prefix: string): NamedParam[] {
    this.build();
    return this.params.named(prefix);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dModel: this.dModel, dFf: this.dFf, activation: this.activation, dropout: this.dropoutRate, residualScale: this.residualScale, init: this.init, seed: this.seed };
  }
}

export interface TransformerLayerArgs {
  dModel: number;
  numHeads: number;
  dFf: number;
  /** Residual/attention/FFN dropout; default 0. */
  dropout?: number;
  /** Default 'pre'. */
  norm?: NormPlacement;
  activation?: Activation;
  score?: ScoreFunction;
  /** Default 1e-5. */
  layerNormEps?: number;
  /** Total layers in the model, for the residual-projection init scale; default 1. */
  totalLayers?: number;
  /**
   * Initialisation; default 'glorot'. 'gpt2' also shrinks the attention out_proj by
   * 1/√(2·layers) as GPT-2 does; 'glorot' (tuned on the seq2seq tasks) shrinks only fc2.
   */
  init?: InitScheme;
  seed?: number;
  name?: string;
  /** Adds cross-attention to encoder outputs (decoder layer of an encoder–decoder). */
  crossAttention?: boolean;
}

export interface LayerCallOptions {
  /** Self-attention bias (masks, ALiBi) and rotary tables. */
  self: AttentionCallOptions;
  /** Encoder output [B, S, d] and its bias, for cross-attention. */
  memory?: { states: tf.Tensor3D; bias?: tf.Tensor };
  training?: boolean;
  /** Whether the attention weights are wanted (default true); without them training runs lean attention. */
  returnWeights?: boolean;
}

export interface LayerOutput {
  output: tf.Tensor3D;
  /** Undefined when `returnWeights` was false in training. */
  selfWeights?: tf.Tensor4D;
  crossWeights?: tf.Tensor4D;
}

/**
 * One encoder layer, or a decoder layer when `crossAttention` is set. Pre-norm:
 * x = x + attn(ln(x)); x = x + ffn(ln(x)). Post-norm: x = ln(x + attn(x)); x = ln(x + ffn(x)).
 */
export class TransformerLayer extends tfl.layers.Layer {
  static className = 'AttendTransformerLayer';
  readonly args: Required<Omit<TransformerLayerArgs, 'name'>>;
  readonly selfAttn: MultiHeadAttention;
  readonly selfAttnNorm: LayerNorm;
  readonly crossAttn?: MultiHeadAttention;
  readonly crossAttnNorm?: LayerNorm;
  readonly ffn: FeedForward;
  readonly ffnNorm: LayerNorm;

  constructor(args: TransformerLayerArgs) {
    super({ name: args.name });
    this.args = {
      dModel: args.dModel,
      numHeads: args.numHeads,
      dFf: args.dFf,
      dropout: args.dropout ?? 0,
      norm: args.norm ?? 'pre',
      activation: args.activation ?? 'gelu',
      score: args.score ?? 'scaled_dot',
      layerNormEps: args.layerNormEps ?? 1e-5,
      totalLayers: args.totalLayers ?? 1,
      init: args.init ?? 'glorot',
      seed: args.seed ?? 0,
      crossAttention: args.crossAttention ?? false,
    };
    const a = this.args;
    const residualScale = 1 / Math.sqrt(2 * a.totalLayers);
    const attn = (seed: number): MultiHeadAttention =>
      new MultiHeadAttention({
        dModel: a.dModel, numHeads: a.numHeads, score: a.score, dropout: a.dropout, seed,
        init: a.init, residualScale: a.init === 'gpt2' ? residualScale : 1,
      });
    const norm = (): LayerNorm => new LayerNorm({ dim: a.dModel, eps: a.layerNormEps });
    this.selfAttn = attn(a.seed * 8 + 1);
    this.selfAttnNorm = norm();
    if (a.crossAttention) {
      this.crossAttn = attn(a.seed * 8 + 2);
      this.crossAttnNorm = norm();
    }
    this.ffn = new FeedForward({
      dModel: a.dModel,
      dFf: a.dFf,
      activation: a.activation,
      dropout: a.dropout,
      residualScale,
      init: a.init,
      seed: a.seed * 8 + 3,
    });
    this.ffnNorm = norm();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(single(inputs) as tf.Tensor3D, { self: {} }).output;
  }

  forward(x: tf.Tensor3D, options: LayerCallOptions): LayerOutput {
    const training = options.training ?? false;
    const rate = this.args.dropout;
    const pre = this.args.norm === 'pre';
    // One residual sublayer: pre-norm normalises the branch input, post-norm the sum.
    const sublayer = (input: tf.Tensor3D, norm: LayerNorm, fn: (h: tf.Tensor3D) => tf.Tensor): tf.Tensor3D => {
      const branch = fn(pre ? (norm.normalize(input) as tf.Tensor3D) : input);
      const sum = tf.add(input, dropout(branch, rate, training));
      return (pre ? sum : norm.normalize(sum)) as tf.Tensor3D;
    };
    let selfWeights: tf.Tensor4D | undefined;
    let crossWeights: tf.Tensor4D | undefined;
    let h = sublayer(x, this.selfAttnNorm, (y) => {
      const r = this.selfAttn.attend(y, y, { ...options.self, training, returnWeights: options.returnWeights });
      selfWeights = r.weights;
      return r.output;
    });
    if (this.crossAttn && this.crossAttnNorm) {
      const memory = options.memory;
      if (!memory) throw new Error(`${this.name}: decoder layer with cross-attention needs encoder states`);
      h = sublayer(h, this.crossAttnNorm, (y) => {
        const r = this.crossAttn!.attend(y, memory.states, { bias: memory.bias, training, returnWeights: options.returnWeights });
        crossWeights = r.weights;
        return r.output;
      });
    }
    const output = sublayer(h, this.ffnNorm, (y) => this.ffn.forward(y, training));
    return { output, selfWeights, crossWeights };
  }

  namedParams(prefix: string): NamedParam[] {
    return [
      ...this.selfAttn.namedParams(`${prefix}.self_attn`),
      ...this.selfAttnNorm.namedParams(`${prefix}.self_attn_layer_norm`),
      ...(this.crossAttn ? this.crossAttn.namedParams(`${prefix}.encoder_attn`) : []),
      ...(this.crossAttnNorm ? this.crossAttnNorm.namedParams(`${prefix}.encoder_attn_layer_norm`) : []),
      ...this.ffn.namedParams(prefix),
      ...this.ffnNorm.namedParams(`${prefix}.final_layer_norm`),
    ];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.args };
  }
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (!x) throw new Error('expected one input tensor');
  return x;
}

tf.serialization.registerClass(LayerNorm);
tf.serialization.registerClass(FeedForward);
tf.serialization.registerClass(TransformerLayer);
