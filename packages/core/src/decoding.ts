// Decoding over a backend-neutral step function, so tfjs models and ONNX sessions share one
// implementation: prepare → forward → pick → stop? → emit, one token per iteration for the
// whole batch. Greedy (argmax) search.

import { ShapeError } from './errors.js';

/**
 * Logits for the next token of each row, given the tokens so far.
 * `tokens` is [batchSize, length] row-major (bos first); returns [batchSize, vocabSize].
 */
export type StepFunction = (tokens: Int32Array, batchSize: number, length: number) => Float32Array | Promise<Float32Array>;

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
  const { batchSize: B, vocabSize: V, bosTokenId, eosTokenId, maxNewTokens } = options;
  const outputs: number[][] = Array.from({ length: B }, () => []);
  const done = new Uint8Array(B);
  let tokens = new Int32Array(B).fill(bosTokenId);
  for (let t = 1; t <= maxNewTokens; t++) {
    const logits = await step(tokens, B, t);
    if (logits.length !== B * V) throw new ShapeError(`step function returned ${logits.length} logits, expected batchSize·vocabSize = ${B * V}`);
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      next[b] = done[b] ? eosTokenId : argmax(logits, b * V, V);
      if (!done[b]) {
        if (next[b] === eosTokenId) done[b] = 1;
        else outputs[b]!.push(next[b]!);
      }
    }
    options.onToken?.(t, next);
    if (done.every((d) => d === 1)) break;
    const grown = new Int32Array(B * (t + 1));
    for (let b = 0; b < B; b++) {
      grown.set(tokens.subarray(b * t, (b + 1) * t), b * (t + 1));
      grown[b * (t + 1) + t] = next[b]!;
    }
    tokens = grown;
  }
  return outputs;
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
