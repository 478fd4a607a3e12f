// Builds the ONNX forward graph of a model from its ModelConfig and checkpoint weights — the
// same function as @attend/transformer's TransformerModel.forward (inference: no dropout),
// written op by op with standard ONNX operators (opset 17): embeddings × √dModel + absolute
// positions, masks as additive biases (0 / MASKED_SCORE, + ALiBi), RoPE on self-attention,
// the five score functions, pre/post-norm layers, and the LM or classifier head.
//
// For decoder-lm there is also a KV-cache graph in the Hugging Face Optimum / transformers.js
// gpt2 convention (`exportForward(..., { kvCache: true })`):
//   input_ids [B, T], attention_mask [B, P+T], position_ids [B, T],
//   past_key_values.{i}.key|value [B, H, P, D]  →  logits [B, T, V], present.{i}.key|value [B, H, P+T, D]
// One graph serves the first call (P = 0, zero-size past tensors) and every later one. Keys are
// cached after RoPE. Masks and ALiBi use positions that skip padding: a query's position comes
// from position_ids, a key's position is the number of real tokens before it (the running sum
// of attention_mask, minus one), and attention_mask zeros are masked. So rows may be padded on
// the left (as transformers.js pads batched prompts) or in the middle, provided position_ids
// count the same way (cumsum(attention_mask) − 1 at the new tokens).
//
// One builder for the Transformer text kinds: each kind's entry (models/<kind>/) calls its build
// method(s), typed to the kind's config through `this`. The image kinds' patch encoder is a
// subclass over its protected pieces (models/vit-classifier/patch-encoder.ts).
//
// In a `fused` builder (export option `optimize`) the same function is written with ONNX
// Runtime's com.microsoft operators where it has them on CPU, WASM and WebGPU: one MatMul for
// the Q, K and V projections of self-attention, `MultiHeadAttention` for 'scaled_dot' and
// 'dot' scores (the additive bias — padding, causal, local window, ALiBi — is its
// attention_bias input; the past/present cache its past_key/value and present_key/value),
// `RotaryEmbedding` for RoPE, and `FastGelu` / `BiasGelu` for gelu_new / gelu with the fc1
// bias. Residual adds and LayerNorms stay Add + LayerNormalization: onnxruntime-node 1.30's
// CPU SkipLayerNormalization took 2.7× their CPU time at [768, 128] (measured), and the
// optimized baby GPT ran 1.19× faster without it (see the issue 19 notes); nor does ORT fuse
// them itself when it loads a graph, standard or fused (`sumNorm`). The exception is the
// pre-norm shared-cache graph (buildDecoderSharedCache), run one new token per step, where
// per-node overhead is most of a step: there they are SkipLayerNormalization (skipNormLayers).
// The KV-cache graph's self-attention stays MultiHeadAttention, not the shared-cache graph's
// GroupQueryAttention: on onnxruntime-node 1.30's CPU that was no faster at 12 × 64 and 5 %
// slower at 1 × 256 (baby GPT), and it refuses several new tokens after a past in more than one
// row (bench/results/export-graph-gap.md).
// 'general', 'additive' and 'cosine' scores keep the standard attention ops (their score functions are not MHA's), as
// does the seq2seq decoder's cross-attention over cached keys; a fused graph has no attention
// weight outputs.

import {
  alibiSlopes,
  ConfigError,
  fixedPositionTable,
  headDim,
  MASKED_SCORE,
  ropeTables,
  numDecoderLayers,
  numEncoderLayers,
  type DecoderLmConfig,
  TOKEN_TYPES_WEIGHT,
  type EncoderClassifierConfig,
  type EncoderDecoderConfig,
  type TransformerConfig,
  type vitStack,
  type patchEncoderStack,
} from '@attend/core';
import { NEW_KEY_VALUES, pastName, presentName, seq2seqPastName, seq2seqPresentName } from './graph-io.js';
import { attr, type GraphBuilder, type Value } from './onnx/graph.js';
import type { Dim } from './onnx/proto.js';
import type { WeightReader } from './weights.js';

type StackKind = 'encoder' | 'decoder';

/**
 * The batch dimension's name in every graph here, as Optimum names it: transformers.js sizes the
 * empty first past of a KV-cache graph from it (an unknown name gives 0 rows, which
 * MultiHeadAttention refuses), and Triton batches a graph whose inputs share it.
 */
export const BATCH = 'batch_size';

/** Per-stack inputs shared by its layers: the self-attention bias and rotary tables. */
interface SelfAttentionInputs {
  bias?: Value; // [B, 1 or H, 1 or T, K]; none: every query sees every key
  rotary?: Rotary;
}

/** cos and sin at the query positions: [T, D], or [B, 1, T, D] from position_ids. */
interface Rotary {
  cos: Value;
  sin: Value;
  /** RotaryEmbedding's position_ids: [B, T] (position_ids), or [1] (the first position) when rows share positions. */
  ids: Value;
}

/** Cached keys and values of one layer, [B, H, P, D] (RoPE already applied to the keys). */
interface KeyValue {
  key: Value;
  value: Value;
}

/** The decoder's KV-cache inputs: positions of the new tokens and each layer's past. */
interface DecoderCache {
  positionIds: Value; // [B, T]
  past: KeyValue[];
}

interface AttentionResult {
  output: Value; // [B, Tq, d]; without out_proj's bias when `outputBias` is set
  /** out_proj's bias, not yet added (the shared-cache graph's SkipLayerNormalization adds it). */
  outputBias?: Value;
  weights: Value; // [B, H, Tq, Tk]
  present: KeyValue; // [B, H, Tk, D]
}

/** What the graph builder reads: a Transformer text kind, or a patch encoder (models/vit-classifier/patch-encoder.ts) as a Transformer stack. */
export type GraphConfig = TransformerConfig | VitStack | PatchEncoderStack;
/** The vit-classifier as a Transformer stack. */
export type VitStack = ReturnType<typeof vitStack>;
/** The vision-encoder-decoder's encoder as a Transformer stack (its decoder is an EncoderDecoderConfig). */
export type PatchEncoderStack = ReturnType<typeof patchEncoderStack>;

/** The graph builder of the Transformer kinds (weights read by their checkpoint names). */
export class ForwardGraph<C extends GraphConfig = GraphConfig> {
  protected readonly d: number;
  private readonly H: number;
  private readonly D: number;
  private readonly tables = new Map<string, Value>();
  /** Attention biases widened to the query length (queryWide), by bias. */
  private readonly wideBiases = new Map<Value, Value>();
  /** Whether to emit com.microsoft fused operators (the builder is `fused`). */
  private readonly fused: boolean;
  /** Whether self-attention is MultiHeadAttention (fused, with scaled_dot or dot scores). */
  private readonly mha: boolean;
  /** GroupQueryAttention's lengths in a shared-cache graph (buildDecoderSharedCache): its cached self-attention runs there. */
  private sharedCache?: { seqlens: Value; total: Value; rows: Value; keys: Value; added: Value[]; width: number };
  /** Whether a pre-norm stack's residual Adds, the biases before them and the next LayerNorm are one SkipLayerNormalization (the shared-cache graph: skipNormLayers). */
  private skipNorms = false;

  constructor(
    protected readonly config: C,
    protected readonly w: WeightReader,
    protected readonly g: GraphBuilder,
  ) {
    this.d = config.dModel;
    this.H = config.numHeads;
    this.D = headDim(config);
    this.fused = g.fused;
    this.mha = this.fused && (config.attention === 'scaled_dot' || config.attention === 'dot');
  }

  /**
   * The encoder-classifier's forward graph: input_ids, attention_mask (and token_type_ids when
   * typeVocabSize > 0, as BERT's) [B, T] → logits [B, classes] (+ attentions.{i}).
   */
  buildClassifier(this: ForwardGraph<EncoderClassifierConfig>, withAttention: boolean): void {
    const { g, config: c } = this;
    const { ids, mask } = this.textInputs();
    const types = c.typeVocabSize > 0 ? g.input('token_type_ids', 'int64', [BATCH, 'sequence']) : undefined;
    const { states, maps } = this.stack('encoder', ids, mask, undefined, undefined, types);
    g.output('logits', this.classify(states, mask), 'float32', [BATCH, c.numClasses]);
    if (withAttention) this.outputMaps('attentions', maps.self, 'sequence', 'sequence');
  }

  /** The decoder-lm's plain forward graph: input_ids, attention_mask [B, T] → logits [B, T, V] (+ attentions.{i}). */
  buildLm(this: ForwardGraph<DecoderLmConfig>, withAttention: boolean): void {
    const { g, config: c } = this;
    const { ids, mask } = this.textInputs();
    const { states, maps } = this.stack('decoder', ids, mask);
    g.output('logits', this.lmLogits(states), 'float32', [BATCH, 'sequence', c.vocabSize]);
    if (withAttention) this.outputMaps('attentions', maps.self, 'sequence', 'sequence');
  }

  /**
   * The encoder-decoder's forward graph, teacher-forced: input_ids, attention_mask [B, S],
   * decoder_input_ids, decoder_attention_mask [B, T] → logits [B, T, V]
   * (+ encoder_attentions.{i}, decoder_attentions.{i}, cross_attentions.{i}).
   */
  buildEncoderDecoder(this: ForwardGraph<EncoderDecoderConfig>, withAttention: boolean): void {
    const { g, config: c } = this;
    const { ids, mask } = this.textInputs();
    const decIds = g.input('decoder_input_ids', 'int64', [BATCH, 'decoder_sequence']);
    const decMask = g.input('decoder_attention_mask', 'int64', [BATCH, 'decoder_sequence']);
    const encoded = this.stack('encoder', ids, mask);
    const decoded = this.stack('decoder', decIds, decMask, { states: encoded.states, mask });
    g.output('logits', this.lmLogits(decoded.states), 'float32', [BATCH, 'decoder_sequence', c.vocabSize]);
    if (withAttention) {
      this.outputMaps('encoder_attentions', encoded.maps.self, 'sequence', 'sequence');
      this.outputMaps('decoder_attentions', decoded.maps.self, 'decoder_sequence', 'decoder_sequence');
      this.outputMaps('cross_attentions', decoded.maps.cross, 'decoder_sequence', 'sequence');
    }
  }

  /** input_ids and attention_mask [B, T], the inputs of every text forward graph. */
  private textInputs(): { ids: Value; mask: Value } {
    return { ids: this.g.input('input_ids', 'int64', [BATCH, 'sequence']), mask: this.g.input('attention_mask', 'int64', [BATCH, 'sequence']) };
  }

  /** `{prefix}.{i}` outputs: each layer's attention weights [B, H, q, k]. */
  protected outputMaps(prefix: string, maps: Value[], q: Dim, k: Dim): void {
    if (this.fused) throw new ConfigError('optimize', 'a fused graph has no attention weights to output (export with one of optimize and withAttention, not both)');
    maps.forEach((value, i) => this.g.output(`${prefix}.${i}`, value, 'float32', [BATCH, this.H, q, k]));
  }

  /** The decoder-lm KV-cache graph (see the top of this file). */
  buildDecoderWithPast(this: ForwardGraph<DecoderLmConfig>, withAttention: boolean): void {
    const { g, config: c, H, D } = this;
    const ids = g.input('input_ids', 'int64', [BATCH, 'sequence']);
    const mask = g.input('attention_mask', 'int64', [BATCH, 'past_sequence + sequence']);
    const positionIds = g.input('position_ids', 'int64', [BATCH, 'sequence']);
    const past: KeyValue[] = [];
    for (let i = 0; i < numDecoderLayers(c); i++) {
      past.push({
        key: g.input(pastName(i, 'key'), 'float32', [BATCH, H, 'past_sequence', D]),
        value: g.input(pastName(i, 'value'), 'float32', [BATCH, H, 'past_sequence', D]),
      });
    }
    const { states, maps, present } = this.stack('decoder', ids, mask, undefined, { positionIds, past });
    g.output('logits', this.lmLogits(states), 'float32', [BATCH, 'sequence', this.vocabSize()]);
    present.forEach((kv, i) => {
      g.output(presentName(i, 'key'), kv.key, 'float32', [BATCH, H, 'past_sequence + sequence', D]);
      g.output(presentName(i, 'value'), kv.value, 'float32', [BATCH, H, 'past_sequence + sequence', D]);
    });
    if (withAttention) this.outputMaps('attentions', maps.self, 'sequence', 'past_sequence + sequence');
  }

  /**
   * The decoder-lm KV-cache graph over shared caches (export option kvCache: 'shared'): the
   * inputs and outputs of buildDecoderWithPast, but every past_key_values.{i} and present.{i} is
   * a [B, H, max_sequence, D] buffer. Self-attention is com.microsoft GroupQueryAttention: it
   * writes the new keys and values at positions P … P + T − 1 (P + T: attention_mask's length)
   * and reads the first P + T; when a call binds one buffer as both a past input and its present
   * output, ONNX Runtime's CPU kernel updates it in place. The `new_key_values` output
   * [B, T, L·2·d] (every layer's GroupQueryAttention key and value inputs, see graph-io.ts) is
   * the new positions alone, for a caller that writes them into its buffers itself (kv-cache.ts
   * on onnxruntime-node). Needs scaled_dot or dot scores and a head size that is a multiple of 8.
   * A pre-norm model's layers are written with SkipLayerNormalization (skipNormLayers).
   */
  buildDecoderSharedCache(this: ForwardGraph<DecoderLmConfig>): void {
    const { g, config: c, H, D } = this;
    if (!this.mha) throw new ConfigError('attention', `the shared-cache graph needs 'scaled_dot' or 'dot' scores (GroupQueryAttention), got '${c.attention}'`);
    if (D % 8 !== 0) throw new ConfigError('numHeads', `the shared-cache graph needs a head size (dModel / numHeads) that is a multiple of 8 (GroupQueryAttention), got ${D}`);
    const ids = g.input('input_ids', 'int64', [BATCH, 'sequence']);
    const mask = g.input('attention_mask', 'int64', [BATCH, 'past_sequence + sequence']);
    const positionIds = g.input('position_ids', 'int64', [BATCH, 'sequence']);
    // GroupQueryAttention's lengths from attention_mask's shape [B, P + T], in few nodes (each
    // costs ONNX Runtime a kernel call per step): Shape with start/end gives 1-element tensors
    // directly (total_sequence_length may have one element or none).
    const total = g.op('Shape', [mask], { start: attr.int(1) }); // [1]: P + T
    const rows = g.op('Shape', [mask], { end: attr.int(1) }); // [1]: B
    this.sharedCache = {
      total: g.cast(total, 'int32'),
      seqlens: g.cast(g.op('Expand', [g.sub(total, g.int64s([1])), rows]), 'int32'), // [B]: P + T − 1 in every row
      rows,
      keys: total,
      added: [],
      width: 0,
    };
    this.skipNorms = c.norm === 'pre';
    const past: KeyValue[] = [];
    for (let i = 0; i < numDecoderLayers(c); i++) {
      past.push({
        key: g.input(pastName(i, 'key'), 'float32', [BATCH, H, 'max_sequence', D]),
        value: g.input(pastName(i, 'value'), 'float32', [BATCH, H, 'max_sequence', D]),
      });
    }
    const { states, present } = this.stack('decoder', ids, mask, undefined, { positionIds, past });
    g.output('logits', this.lmLogits(states), 'float32', [BATCH, 'sequence', this.vocabSize()]);
    // The new tokens' keys and values alone, before the present outputs: a caller that keeps the
    // cache itself fetches this and not the buffers. They are the layers' GroupQueryAttention key
    // and value inputs (after RoPE) side by side in one output: a Slice of each present output
    // cost ONNX Runtime a node, and onnxruntime-node ~2.6 µs, per output per call.
    g.output(NEW_KEY_VALUES, g.concat(this.sharedCache.added, 2), 'float32', [BATCH, 'sequence', this.sharedCache.width]);
    present.forEach((kv, i) => {
      g.output(presentName(i, 'key'), kv.key, 'float32', [BATCH, H, 'max_sequence', D]);
      g.output(presentName(i, 'value'), kv.value, 'float32', [BATCH, H, 'max_sequence', D]);
    });
  }

  /** The seq2seq encoder graph (see exportSeq2Seq). */
  buildSeq2SeqEncoder(this: ForwardGraph<EncoderDecoderConfig>, withAttention: boolean): void {
    const { g, d, H } = this;
    const ids = g.input('input_ids', 'int64', [BATCH, 'encoder_sequence']);
    const mask = g.input('attention_mask', 'int64', [BATCH, 'encoder_sequence']);
    const { states, maps } = this.stack('encoder', ids, mask);
    g.output('last_hidden_state', states, 'float32', [BATCH, 'encoder_sequence', d]);
    if (withAttention) this.outputMaps('encoder_attentions', maps.self, 'encoder_sequence', 'encoder_sequence');
  }

  /**
   * The merged seq2seq decoder graph with self- and cross-attention caches (see exportSeq2Seq).
   * Without `encoderMask` (the vision-encoder-decoder: every patch state is seen) it has no
   * encoder_attention_mask input, as transformers.js's image-to-text decoders.
   */
  buildSeq2SeqDecoder(this: ForwardGraph<EncoderDecoderConfig>, withAttention: boolean, { encoderMask: masked = true }: { encoderMask?: boolean } = {}): void {
    const { g, config: c, d, H, D } = this;
    const L = numDecoderLayers(c);
    const ids = g.input('input_ids', 'int64', [BATCH, 'decoder_sequence']);
    const encoderMask = masked ? g.input('encoder_attention_mask', 'int64', [BATCH, 'encoder_sequence']) : undefined;
    const encoderStates = g.input('encoder_hidden_states', 'float32', [BATCH, 'encoder_sequence', d]);
    const pastDecoder: KeyValue[] = [];
    const pastEncoder: KeyValue[] = [];
    for (let i = 0; i < L; i++) {
      const input = (cache: 'decoder' | 'encoder', part: 'key' | 'value'): Value =>
        g.input(seq2seqPastName(i, cache, part), 'float32', [BATCH, H, cache === 'decoder' ? 'past_decoder_sequence' : 'encoder_sequence_out', D]);
      pastDecoder.push({ key: input('decoder', 'key'), value: input('decoder', 'value') });
      pastEncoder.push({ key: input('encoder', 'key'), value: input('encoder', 'value') });
    }
    const useCache = g.input('use_cache_branch', 'bool', [1]);

    // Cross-attention keys and values: the encoder past, or projected from the encoder states.
    const kvDims = { type: 'float32' as const, dims: [BATCH, H, 'encoder_sequence_out', D] };
    const crossFlat = g.ifElse(
      useCache,
      Array.from({ length: 2 * L }, () => kvDims),
      () => pastEncoder.flatMap((kv) => [kv.key, kv.value]),
      () =>
        Array.from({ length: L }, (_, i) => {
          const prefix = `decoder.layers.${i}.encoder_attn`;
          return g.scope(prefix, () => [this.splitHeads(this.linear(encoderStates, `${prefix}.k_proj`, d, d)), this.splitHeads(this.linear(encoderStates, `${prefix}.v_proj`, d, d))]);
        }).flat(),
    );
    const cross: KeyValue[] = Array.from({ length: L }, (_, i) => ({ key: crossFlat[2 * i]!, value: crossFlat[2 * i + 1]! }));

    // Positions P … P + T − 1 of the new tokens; keys 0 … P + T − 1, none padded.
    const zero = g.int64s([0], []);
    const one = g.int64s([1], []);
    const P = g.dimSize(pastDecoder[0]!.key, 2);
    const K = g.add(P, g.dimSize(ids, 1));
    const queryPositions = g.range(P, K, one); // [T]
    const keyPositions = g.range(zero, K, one); // [K]
    const keyMask = g.unsqueeze(g.add(g.mul(keyPositions, zero), one), [0]); // [1, K] of ones
    const selfBias = this.selfBias(keyMask, queryPositions, keyPositions, true, false);
    const rotary = this.rotary(queryPositions, false);
    const crossBias = encoderMask && this.crossBias(encoderMask);

    let x = this.embed('decoder', ids, queryPositions);
    const selfMaps: Value[] = [];
    const crossMaps: Value[] = [];
    const present: KeyValue[] = [];
    for (let i = 0; i < L; i++) {
      const p = `decoder.layers.${i}`;
      x = this.sublayer(x, `${p}.self_attn_layer_norm`, (h) => {
        const r = this.attention(`${p}.self_attn`, h, h, selfBias, rotary, pastDecoder[i]);
        selfMaps.push(r.weights);
        present.push(r.present);
        return r.output;
      });
      x = this.sublayer(x, `${p}.encoder_attn_layer_norm`, (h) => {
        const r = this.cachedCrossAttention(`${p}.encoder_attn`, h, cross[i]!, crossBias);
        crossMaps.push(r.weights);
        return r.output;
      });
      x = this.sublayer(x, `${p}.final_layer_norm`, (h) => this.feedForward(p, h));
    }
    if (c.norm === 'pre') x = this.sumNorm(x, 'decoder.layer_norm');
    g.output('logits', this.lmLogits(x), 'float32', [BATCH, 'decoder_sequence', this.vocabSize()]);
    for (let i = 0; i < L; i++) {
      const out = (cache: 'decoder' | 'encoder', part: 'key' | 'value', value: Value): void =>
        g.output(seq2seqPresentName(i, cache, part), value, 'float32', [BATCH, H, cache === 'decoder' ? 'past_decoder_sequence + decoder_sequence' : 'encoder_sequence_out', D]);
      out('decoder', 'key', present[i]!.key);
      out('decoder', 'value', present[i]!.value);
      out('encoder', 'key', cross[i]!.key);
      out('encoder', 'value', cross[i]!.value);
    }
    if (withAttention) {
      this.outputMaps('decoder_attentions', selfMaps, 'decoder_sequence', 'past_decoder_sequence + decoder_sequence');
      this.outputMaps('cross_attentions', crossMaps, 'decoder_sequence', 'encoder_sequence');
    }
  }

  /** Cross-attention of `query` [B, Tq, d] to already projected keys and values [B, H, S, D]. */
  private cachedCrossAttention(prefix: string, query: Value, kv: KeyValue, bias: Value | undefined): { output: Value; weights: Value } {
    const { g, d } = this;
    return g.scope(prefix, () => {
      const q = this.splitHeads(this.linear(query, `${prefix}.q_proj`, d, d));
      const scores = this.scores(prefix, q, kv.key);
      const weights = g.softmax(bias ? g.add(scores, bias) : scores); // [B, H, Tq, S]
      const merged = g.reshape(g.transpose(g.matMul(weights, kv.value), [0, 2, 1, 3]), [0, 0, d]);
      return { output: this.linear(merged, `${prefix}.out_proj`, d, d), weights };
    });
  }

  // ---- embeddings and positions ---------------------------------------------------------

  private vocabSize(): number {
    const c = this.config;
    if (!('vocabSize' in c)) throw new ConfigError('preset', `'${c.preset}' has no token vocabulary`);
    return c.vocabSize;
  }

  private tokenTable(): Value {
    const V = this.vocabSize();
    return this.table('embed_tokens.weight', () => this.w.get('embed_tokens.weight', [V, this.d]), [V, this.d]);
  }

  /** A float32 initializer created once under `name`. */
  protected table(name: string, values: () => Float32Array, dims: number[]): Value {
    let v = this.tables.get(name);
    if (!v) {
      v = this.g.initializer(name, 'float32', dims, values());
      this.tables.set(name, v);
    }
    return v;
  }

  /** E[ids] (·√dModel when scaleEmbedding) (+ the token types' rows) + absolute positions, normalised when embeddingNorm. [B, T, d] */
  private embed(kind: StackKind, ids: Value, positions: Value, types?: Value): Value {
    const { g, config: c, d } = this;
    let x = g.gather(this.tokenTable(), ids);
    if (c.scaleEmbedding) x = g.mul(x, g.floats([Math.sqrt(d)]));
    if (types) {
      const rows = (c as EncoderClassifierConfig).typeVocabSize;
      x = g.add(x, g.gather(this.table(TOKEN_TYPES_WEIGHT, () => this.w.get(TOKEN_TYPES_WEIGHT, [rows, d]), [rows, d]), types));
    }
    const fixed = fixedPositionTable(c.positional, c.maxSeqLen, d);
    if (fixed) {
      x = g.add(x, g.gather(this.table('sinusoidal_positions', () => fixed, [c.maxSeqLen, d]), positions));
    } else if (c.positional === 'learned') {
      const name = `${kind}.embed_positions.weight`;
      x = g.add(x, g.gather(this.table(name, () => this.w.get(name, [c.maxSeqLen, d]), [c.maxSeqLen, d]), positions));
    }
    if (c.embeddingNorm) x = this.sumNorm(x, `${kind}.layernorm_embedding`);
    return x;
  }

  /**
   * Additive self-attention bias: padding (+ causal) (+ local window) mask, + ALiBi, from
   * positions: `queryPositions` [T] and `keyPositions` [K] shared by the batch, or per row
   * (`perRow`) [B, T] (position_ids) and [B, K]; `keyMask` [B, K].
   */
  private selfBias(keyMask: Value, queryPositions: Value, keyPositions: Value, causal: boolean, perRow: boolean): Value {
    const { g, config: c } = this;
    let allowed = g.unsqueeze(g.cast(keyMask, 'bool'), [1, 2]); // [B, 1, 1, K]
    const offset = perRow
      ? g.unsqueeze(g.sub(g.unsqueeze(queryPositions, [-1]), g.unsqueeze(keyPositions, [1])), [1]) // [B, 1, T, K]: i − j
      : g.sub(g.unsqueeze(queryPositions, [-1]), keyPositions); // [T, K]
    if (causal) allowed = g.and(allowed, g.greaterOrEqual(offset, g.int64s([0], [])));
    if (c.localWindow !== null) allowed = g.and(allowed, g.lessOrEqual(g.abs(offset), g.int64s([c.localWindow], [])));
    let bias = g.where(allowed, g.floats([0]), g.floats([MASKED_SCORE])); // [B, 1, T, T]
    if (c.positional === 'alibi') {
      const slopes = Array.from(alibiSlopes(this.H), (s) => -s);
      const alibi = g.mul(g.cast(g.abs(offset), 'float32'), g.floats(slopes, [this.H, 1, 1])); // [H, T, K] or [B, H, T, K]
      bias = g.add(bias, alibi); // [B, H, T, K]
    }
    return bias;
  }

  /** Cross-attention bias [B, 1, 1, S] masking padded source positions. */
  private crossBias(sourceMask: Value): Value {
    const { g } = this;
    return g.where(g.unsqueeze(g.cast(sourceMask, 'bool'), [1, 2]), g.floats([0]), g.floats([MASKED_SCORE]));
  }

  /**
   * The shared-cache graph's self-attention bias: `keyMask` [B, K]'s padding as crossBias,
   * widened to [B, 1, T, K] (T: the length of `ids` [B, T]), the shape GroupQueryAttention's
   * attention_bias takes; its rows and K are the shapes the graph already reads.
   */
  private paddingBias(keyMask: Value, ids: Value): Value {
    const { g } = this;
    const { rows, keys } = this.sharedCache!;
    const shape = g.concat([rows, g.int64s([1]), g.op('Shape', [ids], { start: attr.int(1) }), keys], 0);
    return g.op('Expand', [this.crossBias(keyMask), shape]);
  }

  /** RoPE tables at `positions` [T] → [T, D], or [B, T] → [B, 1, T, D] (broadcast over heads). */
  private rotary(positions: Value, perRow: boolean): Rotary | undefined {
    const { g, config: c, D } = this;
    if (c.positional !== 'rope') return undefined;
    const t = ropeTables(c.maxSeqLen, D);
    const at = (name: string, table: Float32Array): Value => {
      const rows = g.gather(this.table(name, () => table, [c.maxSeqLen, D]), positions);
      return perRow ? g.unsqueeze(rows, [1]) : rows;
    };
    if (this.mha) return { cos: '', sin: '', ids: perRow ? positions : g.slice(positions, [0], [1], [0]) };
    return { cos: at('rope_cos', t.cos), sin: at('rope_sin', t.sin), ids: '' };
  }

  /** RotaryEmbedding (com.microsoft) on x [B, T, H·D]: rotate-half RoPE with the first half of attend's tables (their halves are equal). */
  private fusedRotary(x: Value, r: Rotary): Value {
    const { g, config: c, D } = this;
    const half = D / 2;
    const t = ropeTables(c.maxSeqLen, D);
    const firstHalf = (table: Float32Array): Float32Array => Float32Array.from({ length: c.maxSeqLen * half }, (_, i) => table[Math.floor(i / half) * D + (i % half)]!);
    const cos = this.table('rope_cos_cache', () => firstHalf(t.cos), [c.maxSeqLen, half]);
    const sin = this.table('rope_sin_cache', () => firstHalf(t.sin), [c.maxSeqLen, half]);
    return g.msOp('RotaryEmbedding', [x, r.ids, cos, sin], [true], { interleaved: attr.int(0), num_heads: attr.int(this.H) })[0]!;
  }

  /** x·cos + rotateHalf(x)·sin, x [B, H, T, D]. */
  private applyRotary(x: Value, r: Rotary): Value {
    const { g, D } = this;
    const half = D / 2;
    const rotated = g.concat([g.neg(g.slice(x, [half], [D], [3])), g.slice(x, [0], [half], [3])], 3);
    return g.add(g.mul(x, r.cos), g.mul(rotated, r.sin));
  }

  // ---- layers ---------------------------------------------------------------------------

  /** x [..., in] · W + b for a checkpoint Linear `name` (weight [out, in]). */
  protected linear(x: Value, name: string, outDim: number, inDim: number, bias = true): Value {
    const { g } = this;
    const y = g.matMul(x, g.initializer(`${name}.weight`, 'float32', [inDim, outDim], this.w.linear(`${name}.weight`, outDim, inDim)));
    return bias ? g.add(y, this.vector(`${name}.bias`, outDim)) : y;
  }

  /** The checkpoint vector `name` [size] (a bias, a LayerNorm's scale or shift) as an initializer. */
  private vector(name: string, size: number): Value {
    return this.g.initializer(name, 'float32', [size], this.w.get(name, [size]));
  }

  private layerNorm(x: Value, name: string): Value {
    const { d } = this;
    return this.g.layerNormalization(x, this.vector(`${name}.weight`, d), this.vector(`${name}.bias`, d), this.config.layerNormEps);
  }

  /**
   * LayerNorm of a sum `x` [B, T, d] that nothing else reads (a post-norm residual, the last
   * residual before a pre-norm stack's final norm, token + position embeddings), taken through a
   * Reshape to [B, ·, d]: fed by the Add itself, ONNX Runtime (level 'all', when the Add's inputs
   * have the same known shape, as in the KV-cache graph) fuses the two into com.microsoft
   * SkipLayerNormalization, whose CPU kernel in onnxruntime-node 1.30 takes 2.4× the time of
   * Add + LayerNormalization at [12, 64, 128] (bench/results/export-graph-gap.md). ORT's Reshape
   * aliases its input: the view costs no copy.
   */
  private sumNorm(x: Value, name: string): Value {
    return this.layerNorm(this.g.reshape(x, [0, -1, this.d]), name);
  }

  /** [B, T, H·D] → [B, H, T, D] */
  private splitHeads(x: Value): Value {
    return this.g.transpose(this.g.reshape(x, [0, 0, this.H, this.D]), [0, 2, 1, 3]);
  }

  /** Raw scores [B, H, Tq, Tk] for q [B, H, Tq, D], k [B, H, Tk, D]. */
  private scores(prefix: string, q: Value, k: Value): Value {
    const { g, H, D } = this;
    const kT = (): Value => g.transpose(k, [0, 1, 3, 2]);
    const perHead = (name: string): Value => g.initializer(`${prefix}.${name}`, 'float32', [H, D, D], this.w.get(`${prefix}.${name}`, [H, D, D]));
    switch (this.config.attention) {
      case 'scaled_dot':
        return g.matMul(g.mul(q, g.floats([1 / Math.sqrt(D)])), kT());
      case 'dot':
        return g.matMul(q, kT());
      case 'general':
        return g.matMul(g.matMul(q, perHead('score.weight')), kT());
      case 'additive': {
        const qa = g.unsqueeze(g.matMul(q, perHead('score.query.weight')), [3]); // [B, H, Tq, 1, D]
        const ka = g.unsqueeze(g.matMul(k, perHead('score.key.weight')), [2]); // [B, H, 1, Tk, D]
        const v = g.initializer(`${prefix}.score.v`, 'float32', [H, 1, 1, D], this.w.get(`${prefix}.score.v`, [H, D]));
        return g.reduceSum(g.mul(g.tanh(g.add(qa, ka)), v), [-1], false); // [B, H, Tq, Tk]
      }
      case 'cosine': {
        const unit = (x: Value): Value => g.div(x, g.add(g.reduceL2(x, [-1], true), g.floats([1e-6])));
        const logitScale = g.initializer(`${prefix}.score.logit_scale`, 'float32', [H, 1, 1], this.w.get(`${prefix}.score.logit_scale`, [H]));
        return g.mul(g.matMul(unit(q), g.transpose(unit(k), [0, 1, 3, 2])), g.exp(logitScale));
      }
    }
  }

  /**
   * Multi-head attention from `query` [B, Tq, d] to `keyValue` [B, Tk, d]; with `past`
   * ([B, H, P, D]), the new keys and values are appended to it (self-attention with a cache).
   */
  private attention(prefix: string, query: Value, keyValue: Value, bias: Value | undefined, rotary?: Rotary, past?: KeyValue): AttentionResult {
    const { g, d } = this;
    if (this.mha) return this.fusedAttention(prefix, query, keyValue, bias, rotary, past);
    return g.scope(prefix, () => {
      let q = this.splitHeads(this.linear(query, `${prefix}.q_proj`, d, d));
      let k = this.splitHeads(this.linear(keyValue, `${prefix}.k_proj`, d, d));
      let v = this.splitHeads(this.linear(keyValue, `${prefix}.v_proj`, d, d));
      if (rotary) {
        q = this.applyRotary(q, rotary);
        k = this.applyRotary(k, rotary);
      }
      if (past) {
        k = g.concat([past.key, k], 2); // [B, H, P + T, D]
        v = g.concat([past.value, v], 2);
      }
      const scores = this.scores(prefix, q, k);
      const weights = g.softmax(bias ? g.add(scores, bias) : scores); // [B, H, Tq, Tk]
      const merged = g.reshape(g.transpose(g.matMul(weights, v), [0, 2, 1, 3]), [0, 0, d]); // [B, Tq, d]
      return { output: this.linear(merged, `${prefix}.out_proj`, d, d), weights, present: { key: k, value: v } };
    });
  }

  /**
   * `attention` as com.microsoft MultiHeadAttention (scaled_dot or dot scores): Q, K, V from one
   * MatMul [d, 3d] when `query` is `keyValue`, RoPE by RotaryEmbedding, `bias` as attention_bias
   * (widened to [B, 1 or H, Tq, Tk]), the past as past_key/value. No attention weights (`weights` is '').
   */
  private fusedAttention(prefix: string, query: Value, keyValue: Value, bias: Value | undefined, rotary?: Rotary, past?: KeyValue): AttentionResult {
    const { g, d, H, D } = this;
    return g.scope(prefix, () => {
      const names = ['q_proj', 'k_proj', 'v_proj'].map((p) => `${prefix}.${p}`);
      let q: Value, k: Value, v: Value;
      let packed: Value | undefined; // [B, T, 3d]: Q, K and V side by side
      if (query === keyValue) {
        const weight = concatColumns(names.map((n) => this.w.linear(`${n}.weight`, d, d)), d);
        const b = Float32Array.from(names.flatMap((n) => Array.from(this.w.get(`${n}.bias`, [d]))));
        packed = g.add(g.matMul(query, g.initializer(`${prefix}.qkv_proj.weight`, 'float32', [d, 3 * d], weight)), g.initializer(`${prefix}.qkv_proj.bias`, 'float32', [3 * d], b));
        // GroupQueryAttention (the shared-cache graph) takes them packed, without RoPE: no Split.
        [q, k, v] = past && this.sharedCache && !rotary ? [packed, '', ''] : (g.split(packed, 2, 3) as [Value, Value, Value]);
      } else {
        q = this.linear(query, names[0]!, d, d);
        k = this.linear(keyValue, names[1]!, d, d);
        v = this.linear(keyValue, names[2]!, d, d);
      }
      if (rotary) {
        q = this.fusedRotary(q, rotary);
        k = this.fusedRotary(k, rotary);
      }
      const scale = this.config.attention === 'dot' ? 1 : 1 / Math.sqrt(D);
      if (past && this.sharedCache) {
        // GroupQueryAttention (causal by itself): query, key, value, past_key, past_value, seqlens_k, total_sequence_length, cos, sin, position_ids, attention_bias.
        // The decoder's bias is [B, 1 or H, T, K] already (its causal part has the query length), which
        // GroupQueryAttention takes as it is on CPU, WASM and WebGPU: no Expand to the heads.
        const { seqlens, total, added } = this.sharedCache;
        added.push(...(k ? [k, v] : [packed!])); // this layer's block of new_key_values: [Q,] K, V
        this.sharedCache.width += k ? 2 * d : 3 * d;
        const inputs = [q, k, v, past.key, past.value, seqlens, total, '', '', '', bias ?? ''];
        const [merged, key, value] = g.msOp('GroupQueryAttention', inputs, [true, true, true], { num_heads: attr.int(H), kv_num_heads: attr.int(H), scale: attr.float(scale) });
        const present = { key: key!, value: value! };
        if (this.skipNorms) return { output: this.linear(merged!, `${prefix}.out_proj`, d, d, false), outputBias: this.vector(`${prefix}.out_proj.bias`, d), weights: '', present };
        return { output: this.linear(merged!, `${prefix}.out_proj`, d, d), weights: '', present };
      }
      const wideBias = bias ? this.queryWide(bias, query) : '';
      const inputs = [q, k, v, '', '', wideBias, past?.key ?? '', past?.value ?? ''];
      const [merged, key, value] = g.msOp('MultiHeadAttention', inputs, [true, !!past, !!past], { num_heads: attr.int(H), scale: attr.float(scale) });
      return { output: this.linear(merged!, `${prefix}.out_proj`, d, d), weights: '', present: { key: key!, value: value! } };
    });
  }

  /**
   * `bias` broadcast over the heads and the query length of `query` [B, Tq, d], to
   * [B, H, Tq, K], once per bias: a stack's layers share it and their query length.
   * MultiHeadAttention's attention_bias needs the query length on every EP, and all four
   * dimensions on onnxruntime-web's WebGPU EP ("Expect attention_bias shape (batch_size,
   * num_heads, sequence_length, total_sequence_length)"; the CPU kernel broadcasts the heads).
   */
  private queryWide(bias: Value, query: Value): Value {
    let wide = this.wideBiases.get(bias);
    if (!wide) {
      const { g } = this;
      const shape = g.concat([g.int64s([1, this.H]), g.unsqueeze(g.dimSize(query, 1), [0]), g.int64s([1])], 0);
      wide = g.op('Expand', [bias, shape]);
      this.wideBiases.set(bias, wide);
    }
    return wide;
  }

  /** fc2(act(fc1(x))); in a fused graph, gelu and gelu_new take fc1's bias (BiasGelu, FastGelu). */
  private feedForward(prefix: string, x: Value, withoutOutBias = false): Value {
    const { g, config: c, d } = this;
    return g.scope(prefix, () => {
      if (this.fused && (c.activation === 'gelu' || c.activation === 'gelu_new')) {
        const h = this.linear(x, `${prefix}.fc1`, c.dFf, d, false);
        const bias = this.vector(`${prefix}.fc1.bias`, c.dFf);
        const act = g.msOp(c.activation === 'gelu_new' ? 'FastGelu' : 'BiasGelu', [h, bias], [true])[0]!;
        return this.linear(act, `${prefix}.fc2`, d, c.dFf, !withoutOutBias);
      }
      const h = this.linear(x, `${prefix}.fc1`, c.dFf, d);
      return this.linear(this.activate(h), `${prefix}.fc2`, d, c.dFf, !withoutOutBias);
    });
  }

  /**
   * ReLU, swish h·σ(h), exact GELU 0.5·h·(1 + erf(h/√2)), or gelu_new 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³))).
   * Both are written as the node chains ONNX Runtime fuses when it loads a standard-ops graph
   * (GELU divides by √2, not × 1/√2; gelu_new cubes with Pow, not two Muls): into Gelu, or
   * FastGelu, which take fc1's bias Add with them (BiasGelu, FastGelu with bias).
   */
  private activate(h: Value): Value {
    const { g, config: c } = this;
    if (c.activation === 'relu') return g.relu(h);
    if (c.activation === 'swish') return g.mul(h, g.sigmoid(h));
    const inner =
      c.activation === 'gelu_new'
        ? g.tanh(g.mul(g.add(h, g.mul(g.op('Pow', [h, g.floats([3])]), g.floats([0.044715]))), g.floats([Math.sqrt(2 / Math.PI)])))
        : g.erf(g.div(h, g.floats([Math.SQRT2])));
    return g.mul(g.mul(h, g.floats([0.5])), g.add(inner, g.floats([1])));
  }

  /** Pre-norm: x + f(ln(x)); post-norm: ln(x + f(x)). */
  private sublayer(x: Value, norm: string, f: (h: Value) => Value): Value {
    if (this.config.norm === 'pre') return this.g.add(x, f(this.layerNorm(x, norm)));
    return this.sumNorm(this.g.add(x, f(x)), norm);
  }

  /**
   * An encoder or decoder stack; the decoder of an encoder–decoder also attends to `memory`.
   * With `cache`, token positions come from its position_ids, `mask` covers past + current
   * keys, and each layer's self-attention extends its past (returned as `present`).
   */
  private stack(
    kind: StackKind,
    ids: Value,
    mask: Value,
    memory?: { states: Value; mask: Value },
    cache?: DecoderCache,
    types?: Value,
  ): { states: Value; maps: { self: Value[]; cross: Value[] }; present: KeyValue[] } {
    const { g } = this;
    const perRow = cache !== undefined;
    if (cache && this.sharedCache && this.config.positional !== 'alibi' && this.config.localWindow === null) {
      // GroupQueryAttention is causal by buffer index, which orders the real tokens as their
      // positions (cumsum of the mask) do: its bias only masks the padding.
      const x = this.embed(kind, ids, cache.positionIds, types);
      return this.layers(kind, x, { bias: this.paddingBias(mask, ids), rotary: this.rotary(cache.positionIds, perRow) }, memory, cache);
    }
    const zero = g.int64s([0], []);
    const one = g.int64s([1], []);
    // Keys: [K] indices (K = T), or with a cache [B, K] counts of the real tokens before each key
    // (K = P + T), so left padding shifts no position.
    const keyPositions = cache ? g.sub(g.cumSum(mask, 1), one) : g.range(zero, g.dimSize(mask, 1), one);
    const positions = cache ? cache.positionIds : keyPositions; // [B, T] or [T]
    const x = this.embed(kind, ids, positions, types);
    const self: SelfAttentionInputs = { bias: this.selfBias(mask, positions, keyPositions, kind === 'decoder', perRow), rotary: this.rotary(positions, perRow) };
    return this.layers(kind, x, self, memory, cache);
  }

  /** The layers of a stack over `embedded` inputs [B, T, d], then its final norm (pre-norm). */
  protected layers(
    kind: StackKind,
    embedded: Value,
    self: SelfAttentionInputs,
    memory?: { states: Value; mask: Value },
    cache?: DecoderCache,
  ): { states: Value; maps: { self: Value[]; cross: Value[] }; present: KeyValue[] } {
    const { config: c } = this;
    if (this.skipNorms && cache && !memory) return this.skipNormLayers(embedded, self, cache);
    let x = embedded;
    const numLayers = kind === 'encoder' ? numEncoderLayers(c) : numDecoderLayers(c);
    const crossBias = memory ? this.crossBias(memory.mask) : undefined;
    const maps = { self: [] as Value[], cross: [] as Value[] };
    const present: KeyValue[] = [];
    for (let i = 0; i < numLayers; i++) {
      const p = `${kind}.layers.${i}`;
      x = this.sublayer(x, `${p}.self_attn_layer_norm`, (h) => {
        const r = this.attention(`${p}.self_attn`, h, h, self.bias, self.rotary, cache?.past[i]);
        maps.self.push(r.weights);
        present.push(r.present);
        return r.output;
      });
      if (memory && crossBias) {
        x = this.sublayer(x, `${p}.encoder_attn_layer_norm`, (h) => {
          const r = this.attention(`${p}.encoder_attn`, h, memory.states, crossBias);
          maps.cross.push(r.weights);
          return r.output;
        });
      }
      x = this.sublayer(x, `${p}.final_layer_norm`, (h) => this.feedForward(p, h));
    }
    if (c.norm === 'pre') x = this.sumNorm(x, `${kind}.layer_norm`);
    return { states: x, maps, present };
  }

  /**
   * The pre-norm decoder layers of the shared-cache graph, each residual sum, the bias of the
   * Linear before it and the LayerNorm after it one com.microsoft SkipLayerNormalization (its
   * fourth output is the sum, the next residual): 3 nodes fewer per sublayer. At one new token
   * ([1, 1, d]) ONNX Runtime's CPU kernel costs less than the Add, Add and LayerNormalization
   * it replaces (measured; at long sequences it costs more: bench/results/export-graph-gap.md,
   * which is why the other graphs keep Add + LayerNormalization).
   */
  private skipNormLayers(embedded: Value, self: SelfAttentionInputs, cache: DecoderCache): { states: Value; maps: { self: Value[]; cross: Value[] }; present: KeyValue[] } {
    const { config: c, d } = this;
    const numLayers = numDecoderLayers(c);
    const present: KeyValue[] = [];
    let sum = embedded;
    let h = this.layerNorm(embedded, 'decoder.layers.0.self_attn_layer_norm');
    for (let i = 0; i < numLayers; i++) {
      const p = `decoder.layers.${i}`;
      const r = this.attention(`${p}.self_attn`, h, h, self.bias, self.rotary, cache.past[i]);
      present.push(r.present);
      [h, sum] = this.skipNorm(r.output, sum, r.outputBias!, `${p}.final_layer_norm`);
      const next = i + 1 < numLayers ? `decoder.layers.${i + 1}.self_attn_layer_norm` : 'decoder.layer_norm';
      [h, sum] = this.skipNorm(this.feedForward(p, h, true), sum, this.vector(`${p}.fc2.bias`, d), next);
    }
    return { states: h, maps: { self: [], cross: [] }, present };
  }

  /**
   * LayerNorm `name` of x + skip + bias, and that sum: [normed, sum]. The sum is an output even
   * where nothing reads it (the last layer's): onnxruntime-web's JS WebGPU kernel refuses the
   * node without it ("zero-sized tensor(s)").
   */
  private skipNorm(x: Value, skip: Value, bias: Value, name: string): [Value, Value] {
    const { d } = this;
    const inputs = [x, skip, this.vector(`${name}.weight`, d), this.vector(`${name}.bias`, d), bias];
    const [normed, , , sum] = this.g.msOp('SkipLayerNormalization', inputs, [true, false, false, true], { epsilon: attr.float(this.config.layerNormEps) });
    return [normed!, sum!];
  }

  // ---- heads ----------------------------------------------------------------------------

  /** Vocabulary logits [B, T, V]: tied to the token table or a separate lm_head, + final_logits_bias when the config has one. */
  private lmLogits(states: Value): Value {
    const { g, config: c } = this;
    const V = this.vocabSize();
    const logits = 'tieEmbeddings' in c && c.tieEmbeddings ? g.matMul(states, g.transpose(this.tokenTable(), [1, 0])) : this.linear(states, 'lm_head', V, this.d, false);
    if (!('logitsBias' in c && c.logitsBias)) return logits;
    return g.add(logits, this.table('final_logits_bias', () => this.w.get('final_logits_bias', [V]), [V]));
  }

  /** Class logits [B, C] from mean-pooled (over valid tokens; needs `mask`) or first-token states, through tanh(pooler) when the config has one. */
  protected classify(states: Value, mask?: Value): Value {
    const { g, config: c } = this;
    let pooled: Value;
    if (!('numClasses' in c)) throw new ConfigError('preset', `'${c.preset}' has no classifier head`);
    if (c.pooling === 'cls') {
      pooled = g.gather(states, g.int64s([0], []), 1); // [B, d]
    } else {
      if (!mask) throw new ConfigError('pooling', "'mean' pooling needs the attention mask");
      const m = g.unsqueeze(g.cast(mask, 'float32'), [2]); // [B, T, 1]
      pooled = g.div(g.reduceSum(g.mul(states, m), [1], false), g.max(g.reduceSum(m, [1], false), g.floats([1])));
    }
    if (c.pooler) pooled = g.tanh(this.linear(pooled, 'pooler', this.d, this.d));
    return this.linear(pooled, 'classifier', c.numClasses, this.d);
  }
}

/** Row-major matrices [rows, ·] side by side: [rows, Σ cols]. */
function concatColumns(matrices: Float32Array[], rows: number): Float32Array {
  const widths = matrices.map((m) => m.length / rows);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let offset = r * total;
    matrices.forEach((m, i) => {
      out.set(m.subarray(r * widths[i]!, (r + 1) * widths[i]!), offset);
      offset += widths[i]!;
    });
  }
  return out;
}
