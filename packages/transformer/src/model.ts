// The three presets built from one ModelConfig: encoder + classifier head, decoder-only
// language model (GPT), and encoder–decoder (Vaswani et al., 2017); what sets them apart (the
// head, the stacks a forward pass runs) is their entry in text-kinds.ts. One token table is shared
// by encoder and decoder; masks and position tables come from @attend/core so every backend
// computes the same function. Weight names are Hugging Face-like and stable (see namedParams).

import * as tf from '@tensorflow/tfjs-core';
import {
  alibiBias,
  attentionMask,
  createRng,
  fixedPositionTable,
  headDim,
  maskToBias,
  ropeTables,
  ShapeError,
  numDecoderLayers,
  numEncoderLayers,
  type StackConfig,
  type TransformerConfig,
} from '@attend/core';
import { LayerNorm, TransformerLayer } from './layers.js';
import { dropout, embeddingLookup, linear, matMulBT } from './ops.js';
import { ParamStore, type InitScheme, type NamedParam } from './params.js';
import { textKind, type TextHead } from './text-kinds.js';
import * as tfl from '@tensorflow/tfjs-layers';

/** Token ids with valid lengths; row-major [batchSize, seqLen]. Padding is on the right. */
export interface TokenBatch {
  ids: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Valid length of each row; default: every row full. */
  lengths?: Int32Array;
  /** vit-classifier: the images [batchSize, C, H, W] row-major (then `ids` is empty and unused). */
  pixels?: Float32Array;
  /** Each token's type [batchSize, seqLen] (a sentence pair's segments, for a model with typeVocabSize > 0); default all 0. */
  tokenTypes?: Int32Array;
}

export interface ForwardOptions {
  training?: boolean;
  /** Keep per-layer attention weights [B, H, Tq, Tk] in the result. */
  returnAttention?: boolean;
}

export interface AttentionMaps {
  encoder: tf.Tensor4D[];
  decoderSelf: tf.Tensor4D[];
  cross: tf.Tensor4D[];
}

export interface ForwardResult {
  /** [B, T, vocabSize] for LM/seq2seq, [B, numClasses] for the classifier. */
  logits: tf.Tensor;
  attention?: AttentionMaps;
}

export interface EmbeddingTableArgs {
  /** Number of rows (vocabulary size, or maxSeqLen for learned positions). */
  rows: number;
  dModel: number;
  /** Std of the normal initialisation; default 1/√dModel (unit scale after the √dModel factor). */
  std?: number;
  /** Seed of the initialisation; default 0. */
  seed?: number;
  name?: string;
}

/** A [rows, dModel] lookup table: token embeddings (shared by the stacks and, when tied, the output layer) or learned positions. */
export class EmbeddingTable extends tfl.layers.Layer {
  static className = 'AttendEmbeddingTable';
  readonly rows: number;
  readonly dModel: number;
  readonly std: number;
  readonly seed: number;
  private readonly params = new ParamStore();

  constructor(args: EmbeddingTableArgs) {
    super({ name: args.name });
    this.rows = args.rows;
    this.dModel = args.dModel;
    this.std = args.std ?? 1 / Math.sqrt(args.dModel);
    this.seed = args.seed ?? 0;
  }

  override build(): void {
    if (this.built) return;
    this.params.add(this, 'weight', [this.rows, this.dModel], { normal: this.std }, createRng(this.seed));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const ids = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!ids) throw new Error(`${this.name}: expected one tensor of ids`);
    return tf.gather(this.table(), ids);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [...(inputShape as tfl.Shape), this.dModel];
  }

  table(): tf.Tensor {
    this.build();
    return this.params.get('weight');
  }

  namedParams(prefix: string): NamedParam[] {
    this.build();
    return this.params.named(prefix);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rows: this.rows, dModel: this.dModel, std: this.std, seed: this.seed };
  }
}

export interface TransformerModelOptions {
  /** Seed of the initialisation; default 0. */
  seed?: number;
  /** Initialisation of the Linear kernels; default 'glorot' (see params.ts). */
  init?: InitScheme;
  /**
   * The encoder states come from elsewhere (the vision-encoder-decoder's image encoder): no text
   * encoder stack is built, and the decoder keeps its cross-attention.
   */
  externalEncoder?: boolean;
}

/** Init std of the embedding tables: unit scale after the √dModel factor, or GPT-2's 0.02 without it. */
function embeddingStd(config: Pick<StackConfig, 'dModel' | 'scaleEmbedding'>): number {
  return config.scaleEmbedding ? 1 / Math.sqrt(config.dModel) : 0.02;
}

/** Holds the weights of the output heads (classifier or untied LM head). */
class HeadParams extends tfl.layers.Layer {
  static className = 'AttendHeadParams';
}

/** A stack of encoder or decoder layers with its own position handling and final norm. */
export class Stack {
  readonly layers: TransformerLayer[];
  readonly finalNorm?: LayerNorm;
  /** LayerNorm over the embeddings (embeddingNorm: BERT). */
  readonly embeddingNorm?: LayerNorm;
  readonly positions = new ParamStore();
  private readonly learned: EmbeddingTable;

  constructor(
    readonly config: StackConfig,
    readonly kind: 'encoder' | 'decoder',
    numLayers: number,
    seed: number,
    options: { init?: InitScheme; totalLayers?: number; crossAttention?: boolean } = {},
  ) {
    const c = config;
    const { init = 'glorot', totalLayers: total = numLayers, crossAttention = false } = options;
    this.layers = Array.from({ length: numLayers }, (_, i) =>
      new TransformerLayer({
        dModel: c.dModel,
        numHeads: c.numHeads,
        dFf: c.dFf,
        dropout: c.dropout,
        norm: c.norm,
        activation: c.activation,
        score: c.attention,
        layerNormEps: c.layerNormEps,
        totalLayers: total,
        init,
        seed: seed * 1000 + i,
        crossAttention,
      }),
    );
    if (c.norm === 'pre') this.finalNorm = new LayerNorm({ dim: c.dModel, eps: c.layerNormEps });
    if (c.embeddingNorm) this.embeddingNorm = new LayerNorm({ dim: c.dModel, eps: c.layerNormEps });
    this.learned = new EmbeddingTable({ rows: c.maxSeqLen, dModel: c.dModel, std: embeddingStd(c), seed: seed * 1000 + 999 });
  }

  learnedPositions(): tf.Tensor {
    return this.learned.table();
  }

  namedParams(): NamedParam[] {
    const out: NamedParam[] = [];
    if (this.config.positional === 'learned') {
      out.push(...this.learned.namedParams(`${this.kind}.embed_positions`));
    }
    if (this.embeddingNorm) out.push(...this.embeddingNorm.namedParams(`${this.kind}.layernorm_embedding`));
    this.layers.forEach((layer, i) => out.push(...layer.namedParams(`${this.kind}.layers.${i}`)));
    if (this.finalNorm) out.push(...this.finalNorm.namedParams(`${this.kind}.layer_norm`));
    return out;
  }
}

/**
 * A Transformer built from a ModelConfig. Methods take plain typed arrays (as produced by
 * @attend/core's batching) and return tensors; call them inside `tf.tidy`.
 */
export class TransformerModel {
  readonly config: TransformerConfig;
  readonly embedTokens: EmbeddingTable;
  /** The token-type table (an encoder-classifier with typeVocabSize > 0: BERT's segments). */
  readonly embedTokenTypes?: EmbeddingTable;
  readonly encoder?: Stack;
  readonly decoder?: Stack;
  private readonly head = new ParamStore();
  private readonly headHolder = new HeadParams({});
  /** The kind's output head (text-kinds.ts). */
  private readonly outputHead: TextHead;
  private readonly sinusoidal?: tf.Tensor2D;
  private readonly rope?: { cos: tf.Tensor2D; sin: tf.Tensor2D };

  constructor(config: TransformerConfig, options: TransformerModelOptions = {}) {
    this.config = config;
    const head = (this.outputHead = textKind(config).head(config));
    const seed = options.seed ?? 0;
    const init = options.init ?? 'glorot';
    this.embedTokens = new EmbeddingTable({ rows: config.vocabSize, dModel: config.dModel, std: embeddingStd(config), seed: seed * 7919 + 1 });
    const types = textKind(config).tokenTypes(config);
    if (types > 0) this.embedTokenTypes = new EmbeddingTable({ rows: types, dModel: config.dModel, std: embeddingStd(config), seed: seed * 7919 + 5 });
    const encoderLayers = numEncoderLayers(config);
    const decoderLayers = numDecoderLayers(config);
    const totalLayers = encoderLayers + decoderLayers;
    if (encoderLayers > 0 && !options.externalEncoder) this.encoder = new Stack(config, 'encoder', encoderLayers, seed * 7919 + 2, { init, totalLayers });
    if (decoderLayers > 0) this.decoder = new Stack(config, 'decoder', decoderLayers, seed * 7919 + 3, { init, totalLayers, crossAttention: encoderLayers > 0 });
    const rng = createRng(seed * 7919 + 4);
    if (head.kind === 'classifier') {
      if (head.pooler) {
        this.head.add(this.headHolder, 'pooler.weight', [config.dModel, config.dModel], { normal: 0.02 }, rng, true);
        this.head.add(this.headHolder, 'pooler.bias', [config.dModel], 'zeros', rng);
      }
      this.head.add(this.headHolder, 'classifier.weight', [config.dModel, head.numClasses], { normal: 0.02 }, rng, true);
      this.head.add(this.headHolder, 'classifier.bias', [head.numClasses], 'zeros', rng);
    } else {
      if (!head.tied) this.head.add(this.headHolder, 'lm_head.weight', [config.dModel, config.vocabSize], { normal: 0.02 }, rng, true);
      if (head.bias) this.head.add(this.headHolder, 'final_logits_bias', [config.vocabSize], 'zeros', rng);
    }
    const fixed = fixedPositionTable(config.positional, config.maxSeqLen, config.dModel);
    if (fixed) this.sinusoidal = tf.keep(tf.tensor2d(fixed, [config.maxSeqLen, config.dModel]));
    if (config.positional === 'rope') {
      const D = headDim(config);
      const t = ropeTables(config.maxSeqLen, D);
      this.rope = { cos: tf.keep(tf.tensor2d(t.cos, [config.maxSeqLen, D])), sin: tf.keep(tf.tensor2d(t.sin, [config.maxSeqLen, D])) };
    }
  }

  /** Every parameter with its checkpoint name, in a stable order. */
  namedParams(): NamedParam[] {
    return [
      ...this.embedTokens.namedParams('embed_tokens'),
      ...(this.embedTokenTypes?.namedParams('embed_token_types') ?? []),
      ...(this.encoder?.namedParams() ?? []),
      ...(this.decoder?.namedParams() ?? []),
      ...this.head.named(''),
    ];
  }

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  /**
   * Embeds tokens: E[ids] (·√dModel when scaleEmbedding) (+ absolute positions from `offset`),
   * normalised when embeddingNorm, then dropout. [B, T, d]
   */
  embed(stack: Stack, batch: TokenBatch, training: boolean, offset = 0): tf.Tensor3D {
    const { dModel, maxSeqLen, positional } = this.config;
    const { ids, batchSize: B, seqLen: T } = batch;
    if (offset + T > maxSeqLen) throw new ShapeError(`sequence of length ${offset + T} exceeds maxSeqLen ${maxSeqLen}`);
    for (const id of ids) {
      if (id < 0 || id >= this.config.vocabSize || !Number.isInteger(id)) {
        throw new ShapeError(`token id ${id} is outside the vocabulary [0, ${this.config.vocabSize})`);
      }
    }
    const types = this.tokenTypeIds(batch);
    return tf.tidy(() => {
      let x: tf.Tensor = embeddingLookup(this.embedTokens.table(), ids, [B, T]);
      if (this.config.scaleEmbedding) x = tf.mul(x, Math.sqrt(dModel));
      if (this.embedTokenTypes) x = tf.add(x, embeddingLookup(this.embedTokenTypes.table(), types ?? new Int32Array(B * T), [B, T]));
      if (this.sinusoidal) x = tf.add(x, tf.slice(this.sinusoidal, [offset, 0], [T, dModel]));
      if (positional === 'learned') x = tf.add(x, tf.slice(stack.learnedPositions(), [offset, 0], [T, dModel]));
      if (stack.embeddingNorm) x = stack.embeddingNorm.normalize(x);
      return dropout(x, this.config.dropout, training) as tf.Tensor3D;
    });
  }

  /** `batch`'s token types, checked against the model's table (a model without one takes none). */
  private tokenTypeIds(batch: TokenBatch): Int32Array | undefined {
    const types = batch.tokenTypes;
    if (!types) return undefined;
    const rows = this.embedTokenTypes?.rows ?? 0;
    if (rows === 0) throw new ShapeError(`token types were given, but the model has none (typeVocabSize 0): it reads one text, not a pair`);
    if (types.length !== batch.batchSize * batch.seqLen) throw new ShapeError(`tokenTypes: ${types.length} values for [${batch.batchSize}, ${batch.seqLen}]`);
    for (const t of types) if (!Number.isInteger(t) || t < 0 || t >= rows) throw new ShapeError(`token type ${t} is outside [0, ${rows}) (typeVocabSize ${rows})`);
    return types;
  }

  /** Additive self-attention bias [B, 1 or H, T, T] from core's masks (+ ALiBi). */
  selfBias(batch: TokenBatch, causal: boolean, offset = 0, keyLen = batch.seqLen): tf.Tensor {
    const { numHeads, localWindow, positional } = this.config;
    const { batchSize: B, seqLen: T } = batch;
    const mask = attentionMask({ batchSize: B, queryLen: T, keyLen, keyLengths: batch.lengths, causal, localWindow, queryOffset: offset });
    return tf.tidy(() => {
      const bias = tf.tensor4d(maskToBias(mask), [B, 1, T, keyLen]);
      if (positional !== 'alibi') return bias;
      return tf.add(bias, tf.tensor4d(alibiBias(numHeads, T, keyLen, offset), [1, numHeads, T, keyLen]));
    });
  }

  /** Cross-attention bias [B, 1, T, S] masking padded encoder positions. */
  crossBias(target: TokenBatch, source: TokenBatch): tf.Tensor {
    const mask = attentionMask({ batchSize: target.batchSize, queryLen: target.seqLen, keyLen: source.seqLen, keyLengths: source.lengths });
    return tf.tensor4d(maskToBias(mask), [target.batchSize, 1, target.seqLen, source.seqLen]);
  }

  private rotary(offset: number, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } | undefined {
    if (!this.rope) return undefined;
    const D = headDim(this.config);
    return { cos: tf.slice(this.rope.cos, [offset, 0], [T, D]), sin: tf.slice(this.rope.sin, [offset, 0], [T, D]) };
  }

  /** Encoder states [B, S, d]. */
  encode(source: TokenBatch, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    const stack = this.requireStack('encoder');
    const training = options.training ?? false;
    let x = this.embed(stack, source, training);
    const self = { bias: this.selfBias(source, false), rotary: this.rotary(0, source.seqLen) };
    for (const layer of stack.layers) {
      const r = layer.forward(x, { self, training, returnWeights: maps !== undefined });
      x = r.output;
      if (maps) maps.encoder.push(r.selfWeights!);
    }
    return stack.finalNorm ? (stack.finalNorm.normalize(x) as tf.Tensor3D) : x;
  }

  /** Decoder states [B, T, d] (causal), attending to `memory` in the encoder–decoder. */
  decode(target: TokenBatch, memory: { states: tf.Tensor3D; source: TokenBatch } | undefined, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    const stack = this.requireStack('decoder');
    const training = options.training ?? false;
    let x = this.embed(stack, target, training);
    const self = { bias: this.selfBias(target, true), rotary: this.rotary(0, target.seqLen) };
    const cross = memory ? { states: memory.states, bias: this.crossBias(target, memory.source) } : undefined;
    for (const layer of stack.layers) {
      const r = layer.forward(x, { self, memory: cross, training, returnWeights: maps !== undefined });
      x = r.output;
      if (maps) maps.decoderSelf.push(r.selfWeights!);
      if (maps && r.crossWeights) maps.cross.push(r.crossWeights);
    }
    return stack.finalNorm ? (stack.finalNorm.normalize(x) as tf.Tensor3D) : x;
  }

  /** Vocabulary logits [B, T, V] from decoder states (tied or separate output matrix), + final_logits_bias when the config has one. */
  lmLogits(states: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const head = this.outputHead;
      let logits: tf.Tensor;
      if (head.kind === 'lm' && head.tied) {
        const [B, T, d] = states.shape;
        logits = tf.reshape(matMulBT(tf.reshape(states, [B * T, d]), this.embedTokens.table()), [B, T, this.config.vocabSize]);
      } else {
        logits = linear(states, this.head.get('lm_head.weight'));
      }
      return (head.kind === 'lm' && head.bias ? tf.add(logits, this.head.get('final_logits_bias')) : logits) as tf.Tensor3D;
    });
  }

  /** Class logits [B, numClasses] from pooled encoder states (through tanh(pooler) when the config has one). */
  classify(states: tf.Tensor3D, source: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T, d] = states.shape;
      let pooled: tf.Tensor2D;
      if (this.outputHead.kind === 'classifier' && this.outputHead.pooling === 'cls') {
        pooled = tf.reshape(tf.slice(states, [0, 0, 0], [B, 1, d]), [B, d]);
      } else {
        const lengths = source.lengths ?? new Int32Array(B).fill(T);
        const mask = new Float32Array(B * T);
        lengths.forEach((n, b) => mask.fill(1, b * T, b * T + n));
        const m = tf.tensor3d(mask, [B, T, 1]);
        pooled = tf.div(tf.sum(tf.mul(states, m), 1), tf.maximum(tf.sum(m, 1), 1)) as tf.Tensor2D;
      }
      if (this.outputHead.kind === 'classifier' && this.outputHead.pooler) {
        pooled = tf.tanh(linear(pooled, this.head.get('pooler.weight'), this.head.get('pooler.bias'))) as tf.Tensor2D;
      }
      return linear(pooled, this.head.get('classifier.weight'), this.head.get('classifier.bias')) as tf.Tensor2D;
    });
  }

  /**
   * The whole model. Classifier and LM take `input`; the encoder–decoder takes `input` as the
   * source and `target` as the decoder input (bos + tokens).
   */
  forward(input: TokenBatch, target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    const maps: AttentionMaps = { encoder: [], decoderSelf: [], cross: [] };
    const kept = options.returnAttention ? maps : undefined;
    // tidy keeps only what it returns, so the attention maps travel out with the logits.
    const out = tf.tidy(() => {
      const logits = textKind(this.config).logits(this, input, target, options, kept);
      return { logits, encoder: maps.encoder, decoderSelf: maps.decoderSelf, cross: maps.cross };
    });
    const { logits, ...attention } = out;
    return options.returnAttention ? { logits, attention } : { logits };
  }

  /** Frees every tensor the model owns. */
  dispose(): void {
    for (const p of this.namedParams()) p.variable.dispose();
    this.sinusoidal?.dispose();
    this.rope?.cos.dispose();
    this.rope?.sin.dispose();
  }

  private requireStack(kind: 'encoder' | 'decoder'): Stack {
    const stack = this[kind];
    if (!stack) throw new ShapeError(`preset '${this.config.preset}' has no ${kind}`);
    return stack;
  }
}

tf.serialization.registerClass(EmbeddingTable);
tf.serialization.registerClass(HeadParams);
