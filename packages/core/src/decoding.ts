// Decoding over a backend-neutral step function, so tfjs models and ONNX sessions share one
// implementation: prepare → forward → pick → stop? → emit, one token per iteration for the
// whole batch. Greedy (argmax) search, sampling with temperature / top-k / top-p (nucleus,
// Holtzman et al. 2020) from a seeded generator, and beam search with a length penalty
// (score = Σ log p / length^α, as in Hugging Face transformers' `length_penalty`), stopping an
// input row once beamSize hypotheses have ended.

import { ConfigError, ShapeError } from './errors.js';
import { createRng } from './random.js';

export interface StepContext {
  /**
   * For each row of this call, the row of the previous call it extends. Identity for greedy
   * and sampling; beam search reorders and duplicates rows. A step function that keeps a
   * key/value cache must reorder its cache by it; a stateless one can ignore it.
   */
  parents?: Int32Array;
}

/**
 * Logits for the next token of each row, given the tokens so far.
 * `tokens` is [batchSize, length] row-major (bos first); returns [batchSize, vocabSize].
 */
export type StepFunction = (tokens: Int32Array, batchSize: number, length: number, context?: StepContext) => Float32Array | Promise<Float32Array>;

export interface GreedyOptions {
  batchSize: number;
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
  /** Tokens to generate at most (not counting bos). */
  maxNewTokens: number;
  /** Called with each row's new token after every step (streaming). */
  onToken?: (step: number, tokens: Int32Array) => void;
}

/** Greedy decoding; returns each row's generated ids without bos and without the final eos. */
export async function greedyDecode(step: StepFunction, options: GreedyOptions): Promise<number[][]> {
  const V = options.vocabSize;
  return decodeLoop(step, options, (logits, row) => argmax(logits, row * V, V));
}

/** Index of the largest of `values[offset .. offset + length)`; the first one on ties. */
export function argmax(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

export interface SamplingOptions extends GreedyOptions {
  /** Divides the logits; 0 means greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 or undefined = all. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 or undefined = all. */
  topP?: number;
  /** Seed of the sampler: the same seed and model give the same text. */
  seed: number;
}

/** Sampled decoding; returns each row's generated ids without bos and the final eos. */
export async function sampleDecode(step: StepFunction, options: SamplingOptions): Promise<number[][]> {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new ConfigError('temperature', `${temperature} is not allowed; expected a finite number >= 0`);
  if (!Number.isInteger(topK) || topK < 0) throw new ConfigError('topK', `${topK} is not allowed; expected an integer >= 0`);
  if (!(topP > 0 && topP <= 1)) throw new ConfigError('topP', `${topP} is not allowed; expected a number in (0, 1]`);
  if (temperature === 0) return greedyDecode(step, options);
  const rng = createRng(options.seed);
  const V = options.vocabSize;
  return decodeLoop(step, options, (logits, row) => {
    const probs = filteredProbabilities(logits, row * V, V, temperature, topK, topP);
    let u = rng.next();
    for (let v = 0; v < V; v++) {
      u -= probs[v]!;
      if (u < 0) return v;
    }
    return argmax(probs);
  });
}

/** softmax(logits / T) restricted to the top-k tokens and then the top-p nucleus, renormalised. */
export function filteredProbabilities(logits: ArrayLike<number>, offset: number, length: number, temperature: number, topK = 0, topP = 1): Float64Array {
  const order = Array.from({ length }, (_, i) => i).sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
  const keep = topK > 0 ? Math.min(topK, length) : length;
  const max = logits[offset + order[0]!]!;
  const probs = new Float64Array(length);
  let total = 0;
  for (let r = 0; r < keep; r++) {
    const v = order[r]!;
    probs[v] = Math.exp((logits[offset + v]! - max) / temperature);
    total += probs[v]!;
  }
  let cumulative = 0;
  let kept = 0;
  for (let r = 0; r < keep; r++) {
    const v = order[r]!;
    if (cumulative >= topP) {
      probs[v] = 0;
      continue;
    }
    cumulative += probs[v]! / total;
    kept += probs[v]!;
  }
  for (let v = 0; v < length; v++) probs[v] = probs[v]! / kept;
  return probs;
}

/** The shared loop of greedy and sampled decoding: `pick(logits, row)` chooses each row's next token. */
async function decodeLoop(step: StepFunction, options: GreedyOptions, pick: (logits: Float32Array, row: number) => number): Promise<number[][]> {
  const { batchSize: B, vocabSize: V, bosTokenId, eosTokenId, maxNewTokens } = options;
  const outputs: number[][] = Array.from({ length: B }, () => []);
  const done = new Uint8Array(B);
  const parents = Int32Array.from({ length: B }, (_, i) => i);
  let tokens: Int32Array = new Int32Array(B).fill(bosTokenId);
  for (let t = 1; t <= maxNewTokens; t++) {
    const logits = await step(tokens, B, t, { parents });
    if (logits.length !== B * V) throw new ShapeError(`step function returned ${logits.length} logits, expected batchSize·vocabSize = ${B * V}`);
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      next[b] = done[b] ? eosTokenId : pick(logits, b);
      if (!done[b]) {
        if (next[b] === eosTokenId) done[b] = 1;
        else outputs[b]!.push(next[b]!);
      }
    }
    options.onToken?.(t, next);
    if (done.every((d) => d === 1)) break;
    tokens = appendColumn(tokens, B, t, next, parents);
  }
  return outputs;
}

/** [rows, t] tokens → [rows', t + 1]: row i of the result is `tokens[parents[i]]` followed by `next[i]`. */
function appendColumn(tokens: Int32Array, rows: number, t: number, next: Int32Array, parents: Int32Array): Int32Array {
  const out = new Int32Array(next.length * (t + 1));
  for (let i = 0; i < next.length; i++) {
    const p = parents[i]!;
    if (p < 0 || p >= rows) throw new ShapeError(`parent row ${p} is outside [0, ${rows})`);
    out.set(tokens.subarray(p * t, (p + 1) * t), i * (t + 1));
    out[i * (t + 1) + t] = next[i]!;
  }
  return out;
}

export interface BeamSearchOptions {
  batchSize: number;
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
  maxNewTokens: number;
  /** Beams kept per input row. */
  beamSize: number;
  /** α in score = Σ log p / length^α (length counts generated tokens, eos included). Default 1. */
  lengthPenalty?: number;
}

export interface BeamHypothesis {
  /** Generated ids without bos and eos. */
  ids: number[];
  /** Σ log p / length^α. */
  score: number;
  /** Σ log p of the generated tokens (eos included when it was generated). */
  logProb: number;
}

/**
 * Beam search. Each call of `step` holds every live beam of every input row (at most
 * batchSize·beamSize rows); `context.parents` says which previous row each one extends.
 * Returns, per input row, its hypotheses best first (up to beamSize).
 */
export async function beamSearch(step: StepFunction, options: BeamSearchOptions): Promise<BeamHypothesis[][]> {
  const { batchSize: B, vocabSize: V, bosTokenId, eosTokenId, maxNewTokens, beamSize: K, lengthPenalty = 1 } = options;
  if (!Number.isInteger(K) || K < 1) throw new ConfigError('beamSize', `${K} is not allowed; expected an integer >= 1`);
  const score = (logProb: number, length: number): number => logProb / Math.pow(length, lengthPenalty);
  interface Beam { row: number; logProb: number; ids: number[] }
  const finished: BeamHypothesis[][] = Array.from({ length: B }, () => []);
  const open = new Uint8Array(B).fill(1);
  // One beam per input row to start, so the first step does not pick K copies of one token.
  let beams: Beam[] = Array.from({ length: B }, (_, b) => ({ row: b, logProb: 0, ids: [] }));
  let tokens: Int32Array = new Int32Array(B).fill(bosTokenId);
  let parents = Int32Array.from({ length: B }, (_, i) => i);
  for (let t = 1; t <= maxNewTokens && beams.length > 0; t++) {
    const logits = await step(tokens, beams.length, t, { parents });
    if (logits.length !== beams.length * V) throw new ShapeError(`step function returned ${logits.length} logits, expected ${beams.length}·${V}`);
    const next: Beam[] = [];
    const nextParents: number[] = [];
    const nextTokens: number[] = [];
    for (let b = 0; b < B; b++) {
      const mine = beams.map((beam, i) => ({ beam, i })).filter(({ beam }) => beam.row === b);
      if (!open[b] || mine.length === 0) continue;
      // The 2K best continuations over all of this row's beams (K may end in eos).
      const candidates: { i: number; v: number; logProb: number }[] = [];
      for (const { beam, i } of mine) {
        const lse = logSumExp(logits, i * V, V);
        for (let v = 0; v < V; v++) candidates.push({ i, v, logProb: beam.logProb + logits[i * V + v]! - lse });
      }
      candidates.sort((x, y) => y.logProb - x.logProb || x.i - y.i || x.v - y.v);
      let kept = 0;
      for (const c of candidates.slice(0, 2 * K)) {
        const parent = beams[c.i]!;
        if (c.v === eosTokenId) {
          finished[b]!.push({ ids: parent.ids, logProb: c.logProb, score: score(c.logProb, t) });
        } else if (kept < K) {
          next.push({ row: b, logProb: c.logProb, ids: [...parent.ids, c.v] });
          nextParents.push(c.i);
          nextTokens.push(c.v);
          kept += 1;
        }
        if (kept === K) break;
      }
      finished[b]!.sort((x, y) => y.score - x.score);
      // Done as soon as K hypotheses have ended (`early_stopping=True` in Hugging Face terms),
      // which also makes one beam exactly greedy decoding.
      if (finished[b]!.length >= K) {
        open[b] = 0;
        for (let i = next.length - 1; i >= 0; i--) {
          if (next[i]!.row === b) {
            next.splice(i, 1);
            nextParents.splice(i, 1);
            nextTokens.splice(i, 1);
          }
        }
      }
    }
    if (next.length === 0) break;
    parents = Int32Array.from(nextParents);
    tokens = appendColumn(tokens, beams.length, t, Int32Array.from(nextTokens), parents);
    beams = next;
  }
  // Beams still open at the length limit count as hypotheses without eos.
  for (const beam of beams) {
    if (open[beam.row]) finished[beam.row]!.push({ ids: beam.ids, logProb: beam.logProb, score: score(beam.logProb, Math.max(beam.ids.length, 1)) });
  }
  return finished.map((list) => list.sort((x, y) => y.score - x.score).slice(0, K));
}

function logSumExp(values: ArrayLike<number>, offset: number, length: number): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, values[offset + i]!);
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(values[offset + i]! - max);
  return max + Math.log(sum);
}

/** How to pick tokens: the strategies above as one JSON-friendly union. */
export type DecodeStrategy =
  | { kind: 'greedy' }
  | { kind: 'sample'; seed: number; temperature?: number; topK?: number; topP?: number }
  | { kind: 'beam'; beamSize: number; lengthPenalty?: number };

/** Runs `strategy` over `step`; returns each row's ids (for beam search, its best hypothesis). */
export async function decodeWith(step: StepFunction, options: GreedyOptions, strategy: DecodeStrategy = { kind: 'greedy' }): Promise<number[][]> {
  switch (strategy.kind) {
    case 'greedy':
      return greedyDecode(step, options);
    case 'sample':
      return sampleDecode(step, { ...options, ...strategy });
    case 'beam':
      if (options.onToken) throw new ConfigError('onToken', 'streaming is for greedy and sampling; beam search returns whole hypotheses');
      return (await beamSearch(step, { ...options, ...strategy })).map((hyps) => hyps[0]?.ids ?? []);
  }
}
