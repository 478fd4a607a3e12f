// Decoding over a backend-neutral step function, so tfjs models and ONNX sessions share one
// implementation: prepare → forward → pick → stop? → emit, one token per iteration for the
// whole batch. Greedy (argmax) search, sampling with temperature / top-k / top-p (nucleus,
// Holtzman et al. 2020) from a seeded generator, and beam search with a length penalty
// (score = Σ log p / length^α, as in Hugging Face transformers' `length_penalty`), stopping an
// input row once beamSize hypotheses have ended.
// A step may return, besides the logits, outputs of that step (attention weights, …) with one
// row per decoding row; the loop hands them to `onToken` and, through `decodeRows` and beam
// hypotheses, gives each generated token the outputs of the step that produced it.
// Cost per step is linear in the vocabulary: top-k and beam candidates are selected with a
// bounded heap and only the survivors sorted; top-p grows a partial selection until it holds
// the nucleus; with top-k 0 and top-p 1 tokens are drawn straight from the softmax.

import { ConfigError, DecodeError, ShapeError } from './errors.js';
import { fastExp, logSumExp, simdRow, sumExp } from './fast-exp.js';
import { createRng, type Rng } from './random.js';

export interface StepContext {
  /**
   * For each row of this call, the row of the previous call it extends. Identity for greedy
   * and sampling; beam search reorders and duplicates rows. A step function that keeps a
   * key/value cache must reorder its cache by it; a stateless one can ignore it.
   */
  parents?: Int32Array;
}

/** A tensor row-major with its shape. */
export interface StepTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** Outputs of one step by name (e.g. `cross_attentions.0`): each [rows, ...], one row per row of the call. */
export type StepOutputs = Record<string, StepTensor>;

/** One row's part of a step's outputs: each output without its row axis. */
export type RowOutputs = Record<string, StepTensor>;

/** What a step function returns when it has more than logits to say. */
export interface StepResult {
  /** [rows, vocabSize]. */
  logits: Float32Array;
  outputs?: StepOutputs;
}

/**
 * Logits for the next token of each row, given the tokens so far.
 * `tokens` is [batchSize, length] row-major (bos first); returns [batchSize, vocabSize], alone
 * or with per-step outputs.
 */
export type StepFunction = (tokens: Int32Array, batchSize: number, length: number, context?: StepContext) => Float32Array | StepResult | Promise<Float32Array | StepResult>;

export interface GreedyOptions {
  batchSize: number;
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
  /** Tokens to generate at most (not counting bos). */
  maxNewTokens: number;
  /**
   * New tokens the model's context has room for (maxSeqLen less the prompt); when it is below
   * maxNewTokens, decoding stops there and says so (finishReason 'context'). Default: no limit
   * (a step function that slides its window, or one with no context limit).
   */
  contextTokens?: number;
  /** Called with each row's new token after every step (streaming), and the step's outputs ({} when the step returned none). */
  onToken?: (step: number, tokens: Int32Array, outputs: StepOutputs) => void;
}

/** Row `row` of every output of a step. */
export function rowOutputs(outputs: StepOutputs, row: number): RowOutputs {
  const out: RowOutputs = {};
  for (const [name, t] of Object.entries(outputs)) {
    const size = t.data.length / t.dims[0]!;
    out[name] = { data: t.data.slice(row * size, (row + 1) * size), dims: t.dims.slice(1) };
  }
  return out;
}

/** The logits of what a step function returned. */
export function logitsOf(result: Float32Array | StepResult): Float32Array {
  return result instanceof Float32Array ? result : result.logits;
}

/** Calls `step` and checks what it returned: `rows` rows of logits, and outputs with `rows` rows. */
async function runStep(step: StepFunction, tokens: Int32Array, rows: number, length: number, parents: Int32Array, V: number, rowName: string): Promise<{ logits: Float32Array; outputs: StepOutputs }> {
  const result = await step(tokens, rows, length, { parents });
  const logits = logitsOf(result);
  const outputs = result instanceof Float32Array ? {} : (result.outputs ?? {});
  if (logits.length !== rows * V) throw new ShapeError(`step function returned ${logits.length} logits, expected ${rowName}·vocabSize = ${rows * V}`);
  for (const [name, t] of Object.entries(outputs)) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (t.dims[0] !== rows || t.data.length !== size) throw new ShapeError(`step output '${name}' has shape [${t.dims.join(', ')}] and ${t.data.length} values; expected ${rows} rows first`);
  }
  return { logits, outputs };
}

/** Greedy decoding; returns each row's generated ids without bos and without the final eos. */
export async function greedyDecode(step: StepFunction, options: GreedyOptions): Promise<number[][]> {
  return (await greedyRows(step, options, false)).map((r) => r.ids);
}

function greedyRows(step: StepFunction, options: GreedyOptions, collect: boolean): Promise<DecodedRow[]> {
  const V = options.vocabSize;
  return decodeLoop(step, options, (logits, row) => argmax(logits, row * V, V), collect);
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

/**
 * Indices (relative to `offset`) of the `k` largest of `values[offset .. offset + length)`,
 * largest first, the smaller index first on ties — the order of a full stable sort, found with
 * a bounded min-heap in one pass (O(length · log k) at worst, one comparison per value once
 * the heap holds k values that beat most of the rest).
 */
export function topKIndices(values: ArrayLike<number>, offset: number, length: number, k: number): Int32Array {
  const n = Math.max(0, Math.min(k, length));
  const heap = new Int32Array(n); // heap[0]: the worst kept index
  if (n === 0) return heap;
  for (let i = 0; i < n; i++) {
    heap[i] = i;
    siftUp(values, offset, heap, i);
  }
  let threshold = values[offset + heap[0]!]!;
  for (let i = n; i < length; i++) {
    // A later index never beats an equal value, so only a strictly larger one enters. The
    // tight inner loop (skip to the next such value) is what V8 runs fast.
    while (i < length && !(values[offset + i]! > threshold)) i++;
    if (i === length) break;
    heap[0] = i;
    siftDown(values, offset, heap, n);
    threshold = values[offset + heap[0]!]!;
  }
  // Heap sort: pop the worst into the back, so the array ends up best first.
  for (let size = n - 1; size > 0; size--) {
    const t = heap[0]!;
    heap[0] = heap[size]!;
    heap[size] = t;
    siftDown(values, offset, heap, size);
  }
  return heap;
}

/** Whether index a ranks below index b: a smaller value, or the same value and a later index. */
function below(values: ArrayLike<number>, offset: number, a: number, b: number): boolean {
  const x = values[offset + a]!;
  const y = values[offset + b]!;
  return x < y || (x === y && a > b);
}

/** Restores the min-heap `heap[0 .. size)` after its root changed. */
function siftDown(values: ArrayLike<number>, offset: number, heap: Int32Array, size: number): void {
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= size) return;
    const r = l + 1;
    const c = r < size && below(values, offset, heap[r]!, heap[l]!) ? r : l;
    if (!below(values, offset, heap[c]!, heap[i]!)) return;
    const t = heap[i]!;
    heap[i] = heap[c]!;
    heap[c] = t;
    i = c;
  }
}

/** Restores the min-heap after `heap[j]` was appended. */
function siftUp(values: ArrayLike<number>, offset: number, heap: Int32Array, j: number): void {
  while (j > 0) {
    const p = (j - 1) >> 1;
    if (!below(values, offset, heap[j]!, heap[p]!)) return;
    const t = heap[j]!;
    heap[j] = heap[p]!;
    heap[p] = t;
    j = p;
  }
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
  return (await sampleRows(step, options, false)).map((r) => r.ids);
}

function sampleRows(step: StepFunction, options: SamplingOptions, collect: boolean): Promise<DecodedRow[]> {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new ConfigError('temperature', `${temperature} is not allowed; expected a finite number >= 0`);
  if (!Number.isInteger(topK) || topK < 0) throw new ConfigError('topK', `${topK} is not allowed; expected an integer >= 0`);
  if (!(topP > 0 && topP <= 1)) throw new ConfigError('topP', `${topP} is not allowed; expected a number in (0, 1]`);
  if (temperature === 0) return greedyRows(step, options, collect);
  const draw = sampler(createRng(options.seed), options.vocabSize, temperature, topK, topP);
  return decodeLoop(step, options, (logits, row) => draw(logits, row * options.vocabSize), collect);
}

/**
 * The tokens that survive top-k and then top-p, most likely first, with their unnormalised
 * weights exp((logit − max) / T) and the sum of the survivors' weights; undefined when nothing
 * is filtered (top-k 0 or ≥ length, top-p 1).
 */
interface Nucleus {
  ids: Int32Array;
  count: number;
  max: number;
  kept: number;
}

function nucleus(logits: ArrayLike<number>, offset: number, length: number, temperature: number, topK: number, topP: number): Nucleus | undefined {
  const keep = topK > 0 ? Math.min(topK, length) : length;
  if (keep === length && topP >= 1) return undefined;
  let ids: Int32Array;
  let total = 0;
  if (keep < length) {
    ids = topKIndices(logits, offset, length, keep);
    const max = logits[offset + ids[0]!]!;
    for (let r = 0; r < keep; r++) total += fastExp((logits[offset + ids[r]!]! - max) / temperature);
  } else {
    // Top-p alone: the mass of the whole softmax, then the best m tokens, m grown ×4 until the nucleus fits in them.
    const max = logits[offset + argmax(logits, offset, length)]!;
    total = sumExp(logits, offset, length, max, 1 / temperature);
    for (let m = Math.min(length, 64); ; m = Math.min(length, 4 * m)) {
      ids = topKIndices(logits, offset, length, m);
      if (m === length || cut(logits, offset, ids, m, temperature, total, topP).count < m) break;
    }
  }
  return cut(logits, offset, ids, ids.length, temperature, total, topP);
}

/** The nucleus of the ranked `ids[0 .. n)`: ranks are kept while the mass before them is below topP. */
function cut(logits: ArrayLike<number>, offset: number, ids: Int32Array, n: number, temperature: number, total: number, topP: number): Nucleus {
  const max = logits[offset + ids[0]!]!;
  let cumulative = 0;
  let kept = 0;
  let count = 0;
  while (count < n && cumulative < topP) {
    const w = fastExp((logits[offset + ids[count]!]! - max) / temperature);
    cumulative += w / total;
    kept += w;
    count += 1;
  }
  return { ids, count, max, kept };
}

/** softmax(logits / T) restricted to the top-k tokens and then the top-p nucleus, renormalised. */
export function filteredProbabilities(logits: ArrayLike<number>, offset: number, length: number, temperature: number, topK = 0, topP = 1): Float64Array {
  const probs = new Float64Array(length);
  const kept = nucleus(logits, offset, length, temperature, topK, topP);
  if (kept === undefined) {
    const max = logits[offset + argmax(logits, offset, length)]!;
    let total = 0;
    for (let v = 0; v < length; v++) total += probs[v] = fastExp((logits[offset + v]! - max) / temperature);
    for (let v = 0; v < length; v++) probs[v] = probs[v]! / total;
    return probs;
  }
  for (let r = 0; r < kept.count; r++) {
    const v = kept.ids[r]!;
    probs[v] = fastExp((logits[offset + v]! - kept.max) / temperature) / kept.kept;
  }
  return probs;
}

/**
 * Draws a token from `filteredProbabilities` of one row with one uniform number: the first
 * token, in id order, at which the running sum passes it. Only the survivors are visited;
 * without filtering, the softmax weights go through one scratch buffer reused across rows.
 */
function sampler(rng: Rng, V: number, temperature: number, topK: number, topP: number): (logits: Float32Array, offset: number) => number {
  const weights = new Float64Array(V);
  return (logits, offset) => {
    const kept = nucleus(logits, offset, V, temperature, topK, topP);
    let u = rng.next();
    if (kept === undefined) {
      const best = argmax(logits, offset, V);
      const max = logits[offset + best]!;
      let total = 0;
      for (let v = 0; v < V; v++) total += weights[v] = fastExp((logits[offset + v]! - max) / temperature);
      for (let v = 0; v < V; v++) {
        u -= weights[v]! / total;
        if (u < 0) return v;
      }
      return best;
    }
    const byId = kept.ids.slice(0, kept.count).sort();
    for (const v of byId) {
      u -= fastExp((logits[offset + v]! - kept.max) / temperature) / kept.kept;
      if (u < 0) return v;
    }
    return kept.ids[0]!;
  };
}

/**
 * Why a row's decoding ended: `eos` (the model ended the text), `length` (maxNewTokens
 * reached) or `context` (the model's context, maxSeqLen, was full first).
 */
export type FinishReason = 'eos' | 'length' | 'context';

/** One row's decoding: its ids, why it ended, and per generating step (one per id, and the eos step when it ended) that row's step outputs. */
export interface DecodedRow {
  ids: number[];
  finishReason: FinishReason;
  steps: RowOutputs[];
}

/** New tokens decoding runs to at most: maxNewTokens, or less when the context is full first. */
function tokenLimit(options: { maxNewTokens: number; contextTokens?: number }): number {
  return Math.min(options.maxNewTokens, options.contextTokens ?? Infinity);
}

/**
 * Why a row of `length` generated ids ended, decoded with `options`' limits. Decoding stops a
 * row only at eos or at the token limit, and a row that reached the limit holds exactly that
 * many ids, so fewer means eos.
 */
export function finishReasonOf(length: number, options: { maxNewTokens: number; contextTokens?: number }): FinishReason {
  const limit = tokenLimit(options);
  if (length < limit) return 'eos';
  return limit < options.maxNewTokens ? 'context' : 'length';
}

/** The shared loop of greedy and sampled decoding: `pick(logits, row)` chooses each row's next token. */
async function decodeLoop(step: StepFunction, options: GreedyOptions, pick: (logits: Float32Array, row: number) => number, collect: boolean): Promise<DecodedRow[]> {
  const { batchSize: B, vocabSize: V, bosTokenId, eosTokenId } = options;
  const maxNewTokens = tokenLimit(options);
  const rows: DecodedRow[] = Array.from({ length: B }, () => ({ ids: [], finishReason: 'length', steps: [] }));
  const done = new Uint8Array(B);
  const parents = Int32Array.from({ length: B }, (_, i) => i);
  let tokens: Int32Array = new Int32Array(B).fill(bosTokenId);
  for (let t = 1; t <= maxNewTokens; t++) {
    const { logits, outputs } = await runStep(step, tokens, B, t, parents, V, 'batchSize');
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      next[b] = done[b] ? eosTokenId : pick(logits, b);
      if (!done[b]) {
        if (!Number.isFinite(logits[b * V + next[b]!])) throw noChoice(t, b, logits[b * V + next[b]!]!);
        if (collect) rows[b]!.steps.push(rowOutputs(outputs, b));
        if (next[b] === eosTokenId) done[b] = 1;
        else rows[b]!.ids.push(next[b]!);
      }
    }
    options.onToken?.(t, next, outputs);
    if (done.every((d) => d === 1)) break;
    tokens = appendColumn(tokens, B, t, next, parents);
  }
  for (const row of rows) row.finishReason = finishReasonOf(row.ids.length, options);
  return rows;
}

/**
 * The error for a row whose logits decoding cannot choose from (every logit −∞ or NaN, or a
 * +∞ one), where greedy and sampling would otherwise pick an arbitrary token and beam search
 * score NaN. `value`: the chosen token's logit, or the best token's log-softmax.
 */
function noChoice(t: number, row: number, value: number): DecodeError {
  return new DecodeError(`decoding step ${t}, row ${row}: the logits leave no finite choice (got ${value}); the model, or a mask over its logits, put every token at −∞ or NaN`);
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

/**
 * The last `window` columns of [rows, length] tokens (all of them when length <= window): what
 * a model with context `window` reads once generation has gone past it, as nanoGPT's sampler
 * crops `idx[:, -block_size:]`.
 */
export function cropWindow(tokens: Int32Array, rows: number, length: number, window: number): { tokens: Int32Array; length: number } {
  if (!Number.isInteger(window) || window < 1) throw new ConfigError('window', `${window} is not allowed; expected an integer >= 1`);
  if (length <= window) return { tokens, length };
  const out = new Int32Array(rows * window);
  for (let r = 0; r < rows; r++) out.set(tokens.subarray(r * length + length - window, (r + 1) * length), r * window);
  return { tokens: out, length: window };
}

/**
 * A step function that hands `step` at most the last `window` tokens of each row, so that a
 * model of context `window` (maxSeqLen) continues past it on a sliding window; decode with no
 * `contextTokens` limit. For step functions that recompute their rows each call (no cache).
 */
export function slidingWindow(step: StepFunction, window: number): StepFunction {
  return (tokens, batchSize, length, context) => {
    const cropped = cropWindow(tokens, batchSize, length, window);
    return step(cropped.tokens, batchSize, cropped.length, context);
  };
}

export interface BeamSearchOptions {
  batchSize: number;
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
  maxNewTokens: number;
  /** As in GreedyOptions: new tokens the context has room for; default no limit. */
  contextTokens?: number;
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
  /** When the step function returns outputs: per generated token (and the eos), the outputs of the row that produced it. */
  steps?: RowOutputs[];
}

/**
 * Beam search. Each call of `step` holds every live beam of every input row (at most
 * batchSize·beamSize rows); `context.parents` says which previous row each one extends.
 * Returns, per input row, its hypotheses best first (up to beamSize).
 */
export async function beamSearch(step: StepFunction, options: BeamSearchOptions): Promise<BeamHypothesis[][]> {
  const { batchSize: B, vocabSize: V, bosTokenId, eosTokenId, beamSize: K, lengthPenalty = 1 } = options;
  const maxNewTokens = tokenLimit(options);
  if (!Number.isInteger(K) || K < 1) throw new ConfigError('beamSize', `${K} is not allowed; expected an integer >= 1`);
  const score = (logProb: number, length: number): number => logProb / Math.pow(length, lengthPenalty);
  /** `path[s]`: the row of call s + 1 that produced the beam's token s. */
  interface Beam { row: number; logProb: number; ids: number[]; path: number[] }
  type Ended = BeamHypothesis & { path: number[] };
  const finished: Ended[][] = Array.from({ length: B }, () => []);
  const open = new Uint8Array(B).fill(1);
  const stepOutputs: StepOutputs[] = [];
  // One beam per input row to start, so the first step does not pick K copies of one token.
  let beams: Beam[] = Array.from({ length: B }, (_, b) => ({ row: b, logProb: 0, ids: [], path: [] }));
  let tokens: Int32Array = new Int32Array(B).fill(bosTokenId);
  let parents = Int32Array.from({ length: B }, (_, i) => i);
  const perBeam = Math.min(2 * K, V);
  const candLogProb = new Float64Array(K * perBeam);
  const candBeam = new Int32Array(K * perBeam);
  const candToken = new Int32Array(K * perBeam);
  for (let t = 1; t <= maxNewTokens && beams.length > 0; t++) {
    const { logits, outputs } = await runStep(step, tokens, beams.length, t, parents, V, 'beams');
    stepOutputs.push(outputs);
    const next: Beam[] = [];
    for (let b = 0; b < B; b++) {
      if (!open[b]) continue;
      // The 2K best continuations over all of this row's beams (K may end in eos): each beam's
      // 2K best by selection, then the few candidates merged.
      let n = 0;
      for (let i = 0; i < beams.length; i++) {
        const beam = beams[i]!;
        if (beam.row !== b) continue;
        const best = continuations(logits, i * V, V, beam.logProb, perBeam);
        if (!Number.isFinite(best.top)) throw noChoice(t, i, best.top);
        for (let r = 0; r < best.ids.length; r++) {
          candLogProb[n] = best.logProbs[r]!;
          candBeam[n] = i;
          candToken[n] = best.ids[r]!;
          n += 1;
        }
      }
      if (n === 0) continue;
      const order = Array.from({ length: n }, (_, c) => c).sort((x, y) => candLogProb[y]! - candLogProb[x]! || candBeam[x]! - candBeam[y]! || candToken[x]! - candToken[y]!);
      let kept = 0;
      for (const c of order.slice(0, 2 * K)) {
        const parent = beams[candBeam[c]!]!;
        const logProb = candLogProb[c]!;
        const path = [...parent.path, candBeam[c]!];
        if (candToken[c] === eosTokenId) {
          finished[b]!.push({ ids: parent.ids, logProb, score: score(logProb, t), path });
        } else if (kept < K) {
          next.push({ row: b, logProb, ids: [...parent.ids, candToken[c]!], path });
          kept += 1;
        }
        if (kept === K) break;
      }
      finished[b]!.sort((x, y) => y.score - x.score);
      // Done as soon as K hypotheses have ended (`early_stopping=True` in Hugging Face terms),
      // which also makes one beam exactly greedy decoding.
      if (finished[b]!.length >= K) {
        open[b] = 0;
        for (let i = next.length - 1; i >= 0; i--) if (next[i]!.row === b) next.splice(i, 1);
      }
    }
    if (next.length === 0) break;
    parents = Int32Array.from(next, (beam) => beam.path[t - 1]!);
    tokens = appendColumn(tokens, beams.length, t, Int32Array.from(next, (beam) => beam.ids[t - 1]!), parents);
    beams = next;
  }
  // Beams still open at the length limit count as hypotheses without eos.
  for (const beam of beams) {
    if (open[beam.row]) finished[beam.row]!.push({ ids: beam.ids, logProb: beam.logProb, score: score(beam.logProb, Math.max(beam.ids.length, 1)), path: beam.path });
  }
  const withSteps = stepOutputs.some((o) => Object.keys(o).length > 0);
  return finished.map((list) =>
    list
      .sort((x, y) => y.score - x.score)
      .slice(0, K)
      .map(({ path, ...h }) => (withSteps ? { ...h, steps: path.map((row, s) => rowOutputs(stepOutputs[s]!, row)) } : h)),
  );
}

/**
 * The `n` best next tokens of one beam by log p = logProb + logit − logsumexp(logits) (as
 * `logSumExp`, to LOG_SUM_EXP_ERROR), best first (ties: smaller id first), and their log p. The
 * tokens are selected by logit (the order of log p up to rounding, which can make neighbouring
 * logits equal in log p); the rare tokens rounding ties with the last one are found in a second
 * cheap pass and merged in. `top`: the best token's log-softmax, finite for any row whose best
 * logit is finite.
 */
function continuations(logits: Float32Array, offset: number, V: number, logProb: number, n: number): { ids: Int32Array; logProbs: Float64Array; top: number } {
  // One more than needed: when it is clearly below the n-th, no other token can tie with it.
  const { picked, lse } = bestWithLogSumExp(logits, offset, V, Math.min(n + 1, V));
  let ids = picked.subarray(0, n);
  const last = logits[offset + ids[n - 1]!]!;
  const lastLogP = logProb + last - lse;
  // A smaller logit can round to the same log p only within a few ulps of the operands.
  const low = last - 2 ** -48 * (Math.abs(logProb) + Math.abs(last) + Math.abs(lse) + 1);
  const ties: number[] = [];
  if (picked.length > n && logits[offset + picked[n]!]! >= low) {
    for (let v = 0; v < V; v++) {
      while (v < V && logits[offset + v]! < low) v++;
      if (v === V) break;
      const l = logits[offset + v]!;
      if (l < last && logProb + l - lse === lastLogP) ties.push(v);
    }
  }
  if (ties.length > 0) ids = bestByLogP(logits, offset, logProb, lse, [...ids, ...ties], n);
  const logProbs = new Float64Array(ids.length);
  for (let r = 0; r < ids.length; r++) logProbs[r] = logProb + logits[offset + ids[r]!]! - lse;
  return { ids, logProbs, top: logits[offset + ids[0]!]! - lse };
}

/** Values of a row ranked by JavaScript before the SIMD kernel picks the candidates of the rest. */
const SAMPLE = 1024;

/**
 * `topKIndices(logits, offset, V, k)` and `logSumExp` of the row with its max. With the SIMD
 * kernel, on one copy of the row: the k-th best of the first SAMPLE values is a lower bound of
 * the row's k-th best, so only the values at or above it (the kernel finds them, in index order,
 * a few hundred at V = 50,257) are ranked — the same indices in the same order.
 */
function bestWithLogSumExp(logits: Float32Array, offset: number, V: number, k: number): { picked: Int32Array; lse: number } {
  const sample = Math.min(V, Math.max(SAMPLE, 4 * k));
  const row = simdRow();
  if (row === undefined || sample === V) {
    const picked = topKIndices(logits, offset, V, k);
    return { picked, lse: logSumExp(logits, offset, V, logits[offset + picked[0]!]!) };
  }
  row.load(logits, offset, V);
  let picked = topKIndices(logits, offset, sample, k);
  const bound = logits[offset + picked[k - 1]!]!;
  const found = Number.isNaN(bound) ? undefined : row.atLeast(bound);
  if (found !== undefined && found.length >= k) {
    const values = new Float32Array(found.length);
    for (let i = 0; i < found.length; i++) values[i] = logits[offset + found[i]!]!;
    picked = topKIndices(values, 0, values.length, k);
    for (let r = 0; r < k; r++) picked[r] = found[picked[r]!]!;
  } else {
    picked = topKIndices(logits, offset, V, k); // NaN logits among the first SAMPLE: no bound
  }
  const max = logits[offset + picked[0]!]!;
  return { picked, lse: max + Math.log(row.expSum(max)) };
}

/** The `n` best of `tokens` by log p, ties by id (kept apart from `continuations` so its loops read no closure variables). */
function bestByLogP(logits: Float32Array, offset: number, logProb: number, lse: number, tokens: number[], n: number): Int32Array {
  const logP = (v: number): number => logProb + logits[offset + v]! - lse;
  return Int32Array.from(tokens.sort((a, b) => logP(b) - logP(a) || a - b).slice(0, n));
}

/** How to pick tokens: the strategies above as one JSON-friendly union. */
export type DecodeStrategy =
  | { kind: 'greedy' }
  | { kind: 'sample'; seed: number; temperature?: number; topK?: number; topP?: number }
  | { kind: 'beam'; beamSize: number; lengthPenalty?: number };

/** Runs `strategy` over `step`; returns each row's ids (for beam search, its best hypothesis). */
export async function decodeWith(step: StepFunction, options: GreedyOptions, strategy: DecodeStrategy = { kind: 'greedy' }): Promise<number[][]> {
  return (await decode(step, options, strategy, false)).map((r) => r.ids);
}

/** `decodeWith`, returning per row its ids and why it ended (`steps` empty). */
export function decodeResults(step: StepFunction, options: GreedyOptions, strategy: DecodeStrategy = { kind: 'greedy' }): Promise<DecodedRow[]> {
  return decode(step, options, strategy, false);
}

/**
 * `decodeWith`, also returning per row why it ended and the outputs of every step that
 * produced one of its tokens (for beam search, along the best hypothesis's own path of rows).
 */
export function decodeRows(step: StepFunction, options: GreedyOptions, strategy: DecodeStrategy = { kind: 'greedy' }): Promise<DecodedRow[]> {
  return decode(step, options, strategy, true);
}

async function decode(step: StepFunction, options: GreedyOptions, strategy: DecodeStrategy, collect: boolean): Promise<DecodedRow[]> {
  switch (strategy.kind) {
    case 'greedy':
      return greedyRows(step, options, collect);
    case 'sample':
      return sampleRows(step, { ...options, ...strategy }, collect);
    case 'beam':
      if (options.onToken) throw new ConfigError('onToken', 'streaming is for greedy and sampling; beam search returns whole hypotheses');
      return (await beamSearch(step, { ...options, ...strategy })).map((hyps) => {
        const ids = hyps[0]?.ids ?? [];
        return { ids, finishReason: finishReasonOf(ids.length, options), steps: hyps[0]?.steps ?? [] };
      });
  }
}

/** Options of `translate` in @attend/transformer (tfjs) and @attend/runtime-onnx (ONNX Runtime) alike. */
export interface TranslateOptions {
  /** Tokens to generate at most per row; capped by maxSeqLen − 1. */
  maxNewTokens: number;
  /** Default greedy. */
  strategy?: DecodeStrategy;
  /** Called with every row's new token after each step (greedy and sampling only). */
  onToken?: GreedyOptions['onToken'];
}

/** One classified row, as `classify` in @attend/transformer and @attend/runtime-onnx returns it. */
export interface Classification {
  /** Index of the most probable class (the first on ties). */
  label: number;
  /** Softmax over the classes, [numClasses]. */
  probabilities: Float32Array;
}
