// A plain-array (float64) reference of the Transformer math for the numerics tests, written
// from the equations — Vaswani et al. (2017) §3, Luong et al. (2015) §3.1, Bahdanau et al.
// (2015) eq. 6, Ba et al. (2016) — one sequence, one head, one vector at a time, with loops
// instead of tensors, so that it shares no code (and no reshapes or transposes) with the tfjs layers.

import { numDecoderLayers, numEncoderLayers, type Activation, type DecoderLmConfig, type EncoderDecoderConfig, type ScoreFunction, type TransformerConfig } from '@attend/core';

export type Vec = number[];
/** Row-major matrix, [rows][cols]. */
export type Mat = number[][];

/** A parameter as plain numbers. */
export interface PlainParam {
  shape: number[];
  values: number[];
}

/** Parameters by their checkpoint name (`encoder.layers.0.self_attn.q_proj.weight`, …). */
export type PlainParams = Map<string, PlainParam>;

/** Copies named parameters (anything with a shape and dataSync) into plain numbers. */
export function plainParams(named: readonly { name: string; variable: { shape: number[]; dataSync(): ArrayLike<number> } }[]): PlainParams {
  return new Map(named.map((p) => [p.name, { shape: [...p.variable.shape], values: Array.from(p.variable.dataSync()) }]));
}

function param(p: PlainParams, name: string, rank: number): PlainParam {
  const found = p.get(name);
  if (!found) throw new Error(`reference: no parameter '${name}'`);
  if (found.shape.length !== rank) throw new Error(`reference: '${name}' has shape [${found.shape}], expected rank ${rank}`);
  return found;
}

export function vecOf(p: PlainParams, name: string): Vec {
  return [...param(p, name, 1).values];
}

export function matOf(p: PlainParams, name: string): Mat {
  const { shape, values } = param(p, name, 2);
  const [rows, cols] = shape as [number, number];
  return Array.from({ length: rows }, (_, r) => values.slice(r * cols, (r + 1) * cols));
}

export function matsOf(p: PlainParams, name: string): Mat[] {
  const { shape, values } = param(p, name, 3);
  const [n, rows, cols] = shape as [number, number, number];
  return Array.from({ length: n }, (_, i) => Array.from({ length: rows }, (_, r) => values.slice((i * rows + r) * cols, (i * rows + r + 1) * cols)));
}

// ---------------------------------------------------------------- elementary functions

export function dot(a: Vec, b: Vec): number {
  if (a.length !== b.length) throw new Error(`reference: dot of lengths ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** y_o = Σ_i x_i·W[i][o] + b_o, with W stored [in][out] as the library's Linear kernels are. */
export function affine(x: Vec, W: Mat, b?: Vec): Vec {
  if (W.length !== x.length) throw new Error(`reference: affine of a ${x.length}-vector with a [${W.length}, …] kernel`);
  const out = W[0]!.length;
  const y = b ? [...b] : new Array<number>(out).fill(0);
  for (let i = 0; i < x.length; i++) for (let o = 0; o < out; o++) y[o]! += x[i]! * W[i]![o]!;
  return y;
}

/** Softmax over the visible entries; the others get weight 0. A row with nothing visible is uniform. */
export function maskedSoftmax(scores: Vec, visible: boolean[]): Vec {
  if (!visible.some(Boolean)) return scores.map(() => 1 / scores.length);
  let max = -Infinity;
  scores.forEach((s, j) => {
    if (visible[j] && s > max) max = s;
  });
  const e = scores.map((s, j) => (visible[j] ? Math.exp(s - max) : 0));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** (x − mean)/√(var + eps)·γ + β with the biased variance. */
export function layerNormRef(x: Vec, gamma: Vec, beta: Vec, eps: number): Vec {
  const n = x.length;
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * gamma[i]! + beta[i]!);
}

/** erf by its Maclaurin series (float64-accurate to ~1e-11 for |x| < 4; erfc(4) ≈ 1.5e-8). */
export function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

export function relu(x: number): number {
  return Math.max(0, x);
}

// ---------------------------------------------------------------- attention

export interface LinearWeights {
  /** [in][out] */
  weight: Mat;
  bias: Vec;
}

export interface AttentionWeights {
  q: LinearWeights;
  k: LinearWeights;
  v: LinearWeights;
  out: LinearWeights;
  /** general: W_h [D][D] per head. */
  general?: Mat[];
  /** additive: Wq_h, Wk_h [D][D] and v_h [D] per head. */
  additiveQuery?: Mat[];
  additiveKey?: Mat[];
  additiveV?: Mat;
  /** cosine: log of the per-head temperature. */
  cosineLogitScale?: Vec;
}

const linearOf = (p: PlainParams, name: string): LinearWeights => ({ weight: matOf(p, `${name}.weight`), bias: vecOf(p, `${name}.bias`) });

/** Reads `${prefix}.q_proj.weight`, …, `${prefix}.score.*` as named by MultiHeadAttention.namedParams(prefix). */
export function attentionWeightsOf(p: PlainParams, prefix: string, score: ScoreFunction): AttentionWeights {
  const name = (local: string): string => (prefix ? `${prefix}.${local}` : local);
  const w: AttentionWeights = { q: linearOf(p, name('q_proj')), k: linearOf(p, name('k_proj')), v: linearOf(p, name('v_proj')), out: linearOf(p, name('out_proj')) };
  if (score === 'general') w.general = matsOf(p, name('score.weight'));
  if (score === 'additive') {
    w.additiveQuery = matsOf(p, name('score.query.weight'));
    w.additiveKey = matsOf(p, name('score.key.weight'));
    w.additiveV = matOf(p, name('score.v'));
  }
  if (score === 'cosine') w.cosineLogitScale = vecOf(p, name('score.logit_scale'));
  return w;
}

const need = <T>(x: T | undefined, what: string): T => {
  if (x === undefined) throw new Error(`reference: ${what} is needed for this score function`);
  return x;
};

/** Score of one query vector q against one key vector k in head h (both of the head size D). */
export function scoreRef(score: ScoreFunction, q: Vec, k: Vec, h: number, w: AttentionWeights): number {
  const D = q.length;
  switch (score) {
    case 'scaled_dot':
      return dot(q, k) / Math.sqrt(D);
    case 'dot':
      return dot(q, k);
    case 'general': {
      // (q·W_h)·k = Σ_a Σ_b q_a W_h[a][b] k_b
      const W = need(w.general, 'general')[h]!;
      let s = 0;
      for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) s += q[a]! * W[a]![b]! * k[b]!;
      return s;
    }
    case 'additive': {
      // Σ_a v_h[a]·tanh((q·Wq_h)[a] + (k·Wk_h)[a])
      const qa = affine(q, need(w.additiveQuery, 'additiveQuery')[h]!);
      const ka = affine(k, need(w.additiveKey, 'additiveKey')[h]!);
      const v = need(w.additiveV, 'additiveV')[h]!;
      let s = 0;
      for (let a = 0; a < qa.length; a++) s += v[a]! * Math.tanh(qa[a]! + ka[a]!);
      return s;
    }
    case 'cosine': {
      const nq = Math.sqrt(dot(q, q)) + 1e-6;
      const nk = Math.sqrt(dot(k, k)) + 1e-6;
      return Math.exp(need(w.cosineLogitScale, 'cosineLogitScale')[h]!) * (dot(q, k) / (nq * nk));
    }
  }
}

/** Rotary embedding of a head vector at position pos, "rotate half" layout: pairs (i, i + D/2) turn by pos·10000^(−2i/D). */
export function ropeRef(x: Vec, pos: number): Vec {
  const D = x.length;
  const half = D / 2;
  const out = [...x];
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(10000, (-2 * i) / D);
    const a = x[i]!;
    const b = x[i + half]!;
    out[i] = a * Math.cos(angle) - b * Math.sin(angle);
    out[i + half] = b * Math.cos(angle) + a * Math.sin(angle);
  }
  return out;
}

export interface SeqAttentionOptions {
  numHeads: number;
  score: ScoreFunction;
  /** May query i see key j? Default: always. */
  visible?: (i: number, j: number) => boolean;
  /** Additive score bias per head (ALiBi); default 0. */
  bias?: (h: number, i: number, j: number) => number;
  /** Rotate queries and keys by their positions (self-attention with RoPE). */
  rope?: boolean;
}

/**
 * Multi-head attention of one sequence: query [Tq][d] attends to keyValue [Tk][d].
 * Returns the output [Tq][d] and the weights [H][Tq][Tk].
 */
export function attendSeqRef(query: Mat, keyValue: Mat, w: AttentionWeights, o: SeqAttentionOptions): { output: Mat; weights: Mat[] } {
  const d = w.q.weight.length;
  const H = o.numHeads;
  const D = d / H;
  const head = (x: Vec, h: number): Vec => x.slice(h * D, (h + 1) * D);
  const Q = query.map((x) => affine(x, w.q.weight, w.q.bias));
  const K = keyValue.map((x) => affine(x, w.k.weight, w.k.bias));
  const V = keyValue.map((x) => affine(x, w.v.weight, w.v.bias));
  const weights: Mat[] = [];
  const merged: Mat = query.map(() => new Array<number>(d).fill(0));
  for (let h = 0; h < H; h++) {
    const qs = Q.map((x, i) => (o.rope ? ropeRef(head(x, h), i) : head(x, h)));
    const ks = K.map((x, j) => (o.rope ? ropeRef(head(x, h), j) : head(x, h)));
    const vs = V.map((x) => head(x, h));
    const rows: Mat = qs.map((q, i) => {
      const scores = ks.map((k, j) => scoreRef(o.score, q, k, h, w) + (o.bias ? o.bias(h, i, j) : 0));
      const visible = ks.map((_, j) => (o.visible ? o.visible(i, j) : true));
      return maskedSoftmax(scores, visible);
    });
    rows.forEach((row, i) => {
      for (let j = 0; j < row.length; j++) for (let c = 0; c < D; c++) merged[i]![h * D + c]! += row[j]! * vs[j]![c]!;
    });
    weights.push(rows);
  }
  return { output: merged.map((x) => affine(x, w.out.weight, w.out.bias)), weights };
}

/** Which keys a query sees, from the mask definitions (padding AND causal AND local window). */
export function visibility(spec: { length?: number; causal?: boolean; window?: number | null }): (i: number, j: number) => boolean {
  return (i, j) =>
    (spec.length === undefined || j < spec.length) &&
    (!spec.causal || j <= i) &&
    (spec.window === undefined || spec.window === null || Math.abs(i - j) <= spec.window);
}

/** ALiBi slopes 2^(−8(h+1)/H) for a power-of-two head count H (Press et al., 2022). */
export function alibiSlopesRef(numHeads: number): Vec {
  if (!Number.isInteger(Math.log2(numHeads))) throw new Error('reference: ALiBi slopes are only written out for power-of-two head counts');
  return Array.from({ length: numHeads }, (_, h) => Math.pow(2, (-8 * (h + 1)) / numHeads));
}

// ---------------------------------------------------------------- layers

export function feedForwardRef(x: Vec, p: PlainParams, prefix: string, activation: Activation): Vec {
  const act = { relu, gelu, gelu_new: geluNew, swish: (x: number) => x / (1 + Math.exp(-x)) }[activation];
  const hidden = affine(x, matOf(p, `${prefix}.fc1.weight`), vecOf(p, `${prefix}.fc1.bias`)).map(act);
  return affine(hidden, matOf(p, `${prefix}.fc2.weight`), vecOf(p, `${prefix}.fc2.bias`));
}

export function layerNormOf(p: PlainParams, prefix: string, eps: number): (x: Vec) => Vec {
  const gamma = vecOf(p, `${prefix}.weight`);
  const beta = vecOf(p, `${prefix}.bias`);
  return (x) => layerNormRef(x, gamma, beta, eps);
}

export interface LayerRefConfig {
  numHeads: number;
  score: ScoreFunction;
  norm: 'pre' | 'post';
  activation: Activation;
  layerNormEps: number;
}

const addRows = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((x, c) => x + b[i]![c]!));

/**
 * One encoder layer (or a decoder layer when `memory` is given) of one sequence x [T][d], with
 * the parameter names of TransformerLayer.namedParams(prefix).
 * Pre-norm: x + attn(ln(x)), then + ffn(ln(·)). Post-norm: ln(x + attn(x)), then ln(· + ffn(·)).
 */
export function transformerLayerRef(
  x: Mat,
  p: PlainParams,
  prefix: string,
  c: LayerRefConfig,
  self: Omit<SeqAttentionOptions, 'numHeads' | 'score'>,
  memory?: { states: Mat; visible?: (i: number, j: number) => boolean },
): Mat {
  const attnOptions = { numHeads: c.numHeads, score: c.score };
  const selfW = attentionWeightsOf(p, `${prefix}.self_attn`, c.score);
  const sublayer = (input: Mat, normName: string, fn: (h: Mat) => Mat): Mat => {
    const ln = layerNormOf(p, `${prefix}.${normName}`, c.layerNormEps);
    if (c.norm === 'pre') return addRows(input, fn(input.map(ln)));
    return addRows(input, fn(input)).map(ln);
  };
  let h = sublayer(x, 'self_attn_layer_norm', (y) => attendSeqRef(y, y, selfW, { ...attnOptions, ...self }).output);
  if (memory) {
    const crossW = attentionWeightsOf(p, `${prefix}.encoder_attn`, c.score);
    h = sublayer(h, 'encoder_attn_layer_norm', (y) => attendSeqRef(y, memory.states, crossW, { ...attnOptions, visible: memory.visible }).output);
  }
  return sublayer(h, 'final_layer_norm', (y) => y.map((row) => feedForwardRef(row, p, prefix, c.activation)));
}

// ---------------------------------------------------------------- whole model

/** One sequence of token ids and its valid length (default: all of it). */
export interface RefSequence {
  ids: number[];
  length?: number;
}

/** PE[pos][2i] = sin(pos/10000^(2i/d)), PE[pos][2i+1] = cos(pos/10000^(2i/d)). */
export function sinusoidRef(pos: number, d: number, split = false): Vec {
  return Array.from({ length: d }, (_, c) => {
    // Interleaved: sin at even columns, cos at odd ones; split (Marian): sines in [0, d/2), cosines in [d/2, d).
    const i = split ? c % (d / 2) : Math.floor(c / 2);
    const angle = pos / Math.pow(10000, (2 * i) / d);
    return (split ? c < d / 2 : c % 2 === 0) ? Math.sin(angle) : Math.cos(angle);
  });
}

function stackRef(config: TransformerConfig, p: PlainParams, kind: 'encoder' | 'decoder', seq: RefSequence, memory?: { states: Mat; length?: number }): Mat {
  const d = config.dModel;
  const E = matOf(p, 'embed_tokens.weight');
  const positions = config.positional === 'learned' ? matOf(p, `${kind}.embed_positions.weight`) : undefined;
  let x: Mat = seq.ids.map((id, t) => {
    const e = E[id]!.map((v) => (config.scaleEmbedding ? v * Math.sqrt(d) : v));
    if (config.positional === 'sinusoidal' || config.positional === 'sinusoidal_split') return e.map((v, c) => v + sinusoidRef(t, d, config.positional === 'sinusoidal_split')[c]!);
    if (positions) return e.map((v, c) => v + positions[t]![c]!);
    return e;
  });
  if (config.embeddingNorm) x = x.map(layerNormOf(p, `${kind}.layernorm_embedding`, config.layerNormEps));
  const slopes = config.positional === 'alibi' ? alibiSlopesRef(config.numHeads) : undefined;
  const self = {
    visible: visibility({ length: seq.length, causal: kind === 'decoder', window: config.localWindow }),
    bias: slopes ? (h: number, i: number, j: number) => -slopes[h]! * Math.abs(i - j) : undefined,
    rope: config.positional === 'rope',
  };
  const layerConfig: LayerRefConfig = { numHeads: config.numHeads, score: config.attention, norm: config.norm, activation: config.activation, layerNormEps: config.layerNormEps };
  const layers = kind === 'encoder' ? numEncoderLayers(config) : numDecoderLayers(config);
  const cross = memory ? { states: memory.states, visible: visibility({ length: memory.length }) } : undefined;
  for (let i = 0; i < layers; i++) x = transformerLayerRef(x, p, `${kind}.layers.${i}`, layerConfig, self, cross);
  if (config.norm === 'pre') x = x.map(layerNormOf(p, `${kind}.layer_norm`, config.layerNormEps));
  return x;
}

function lmLogitsRef(config: DecoderLmConfig | EncoderDecoderConfig, p: PlainParams, states: Mat): Mat {
  const E = config.tieEmbeddings ? matOf(p, 'embed_tokens.weight') : undefined;
  const logits = E ? states.map((s) => E.map((row) => dot(s, row))) : states.map((s) => affine(s, matOf(p, 'lm_head.weight')));
  if (!('logitsBias' in config && config.logitsBias)) return logits;
  const bias = vecOf(p, 'final_logits_bias');
  return logits.map((row) => row.map((v, i) => v + bias[i]!));
}

/**
 * The whole model on one example: class logits [C] for the classifier, vocabulary logits
 * [T][V] for the LM and (given the decoder input `target`) for the encoder–decoder.
 */
export function modelRef(config: TransformerConfig, p: PlainParams, input: RefSequence, target?: RefSequence): Vec | Mat {
  switch (config.preset) {
    case 'encoder-classifier': {
      const states = stackRef(config, p, 'encoder', input);
      let pooled: Vec;
      if (config.pooling === 'cls') {
        pooled = states[0]!;
      } else {
        const n = input.length ?? input.ids.length;
        pooled = new Array<number>(config.dModel).fill(0);
        for (let t = 0; t < n; t++) pooled = pooled.map((v, c) => v + states[t]![c]! / n);
      }
      if (config.pooler) pooled = affine(pooled, matOf(p, 'pooler.weight'), vecOf(p, 'pooler.bias')).map(Math.tanh);
      return affine(pooled, matOf(p, 'classifier.weight'), vecOf(p, 'classifier.bias'));
    }
    case 'decoder-lm':
      return lmLogitsRef(config, p, stackRef(config, p, 'decoder', input));
    case 'encoder-decoder': {
      if (!target) throw new Error('reference: the encoder–decoder needs a target');
      const memory = stackRef(config, p, 'encoder', input);
      return lmLogitsRef(config, p, stackRef(config, p, 'decoder', target, { states: memory, length: input.length }));
    }
  }
}
