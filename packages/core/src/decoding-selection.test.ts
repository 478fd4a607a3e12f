// The selection-based filtering and beam candidates of decoding.ts against the sort-based
// implementation they replaced (kept here as the reference, verbatim in substance): the same
// filtered distributions, the same sampled tokens for a seed, the same beams — including ties
// and −∞ logits. Both take exp (and beam search its log-sum-exp) from fast-exp.ts (checked
// against Math.exp in its own test), so what is compared here is the selection, bit for bit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beamSearch, filteredProbabilities, sampleDecode, topKIndices, type BeamHypothesis, type StepFunction } from './decoding.js';
import { fastExp, logSumExp } from './fast-exp.js';
import { createRng } from './random.js';

const BOS = 1;
const EOS = 2;

function referenceFiltered(logits: ArrayLike<number>, offset: number, length: number, temperature: number, topK = 0, topP = 1): Float64Array {
  const order = Array.from({ length }, (_, i) => i).sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
  const keep = topK > 0 ? Math.min(topK, length) : length;
  const max = logits[offset + order[0]!]!;
  const probs = new Float64Array(length);
  let total = 0;
  for (let r = 0; r < keep; r++) {
    const v = order[r]!;
    probs[v] = fastExp((logits[offset + v]! - max) / temperature);
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

/** The old sampler: one uniform number per row and step, subtracted from the probabilities in id order. */
async function referenceSample(step: StepFunction, o: { batchSize: number; vocabSize: number; maxNewTokens: number; seed: number; temperature: number; topK: number; topP: number }): Promise<number[][]> {
  const rng = createRng(o.seed);
  const V = o.vocabSize;
  const out: number[][] = Array.from({ length: o.batchSize }, () => []);
  const done = new Uint8Array(o.batchSize);
  let rows = Array.from({ length: o.batchSize }, () => [BOS]);
  for (let t = 1; t <= o.maxNewTokens; t++) {
    const logits = (await step(Int32Array.from(rows.flat()), o.batchSize, t)) as Float32Array;
    rows = rows.map((row, b) => {
      if (done[b]) return [...row, EOS];
      const probs = referenceFiltered(logits, b * V, V, o.temperature, o.topK, o.topP);
      let u = rng.next();
      let pick = -1;
      for (let v = 0; v < V && pick < 0; v++) if ((u -= probs[v]!) < 0) pick = v;
      if (pick < 0) pick = probs.indexOf(Math.max(...probs));
      if (pick === EOS) done[b] = 1;
      else out[b]!.push(pick);
      return [...row, pick];
    });
    if (done.every((d) => d === 1)) break;
  }
  return out;
}

/** The old beam search: every beam's every token as a candidate object, all sorted. */
async function referenceBeamSearch(step: StepFunction, o: { batchSize: number; vocabSize: number; maxNewTokens: number; beamSize: number; lengthPenalty: number }): Promise<BeamHypothesis[][]> {
  const { batchSize: B, vocabSize: V, beamSize: K } = o;
  const score = (logProb: number, length: number): number => logProb / Math.pow(length, o.lengthPenalty);
  interface Beam { row: number; logProb: number; ids: number[] }
  const finished: BeamHypothesis[][] = Array.from({ length: B }, () => []);
  const open = new Uint8Array(B).fill(1);
  let beams: Beam[] = Array.from({ length: B }, (_, b) => ({ row: b, logProb: 0, ids: [] }));
  for (let t = 1; t <= o.maxNewTokens && beams.length > 0; t++) {
    const logits = (await step(Int32Array.from(beams.flatMap((beam) => [BOS, ...beam.ids])), beams.length, t)) as Float32Array;
    const next: Beam[] = [];
    for (let b = 0; b < B; b++) {
      const mine = beams.map((beam, i) => ({ beam, i })).filter(({ beam }) => beam.row === b);
      if (!open[b] || mine.length === 0) continue;
      const candidates: { i: number; v: number; logProb: number }[] = [];
      for (const { beam, i } of mine) {
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[i * V + v]!);
        const lse = logSumExp(logits, i * V, V, max);
        for (let v = 0; v < V; v++) candidates.push({ i, v, logProb: beam.logProb + logits[i * V + v]! - lse });
      }
      candidates.sort((x, y) => y.logProb - x.logProb || x.i - y.i || x.v - y.v);
      let kept = 0;
      for (const c of candidates.slice(0, 2 * K)) {
        const parent = beams[c.i]!;
        if (c.v === EOS) finished[b]!.push({ ids: parent.ids, logProb: c.logProb, score: score(c.logProb, t) });
        else if (kept < K) {
          next.push({ row: b, logProb: c.logProb, ids: [...parent.ids, c.v] });
          kept += 1;
        }
        if (kept === K) break;
      }
      finished[b]!.sort((x, y) => y.score - x.score);
      if (finished[b]!.length >= K) {
        open[b] = 0;
        for (let i = next.length - 1; i >= 0; i--) if (next[i]!.row === b) next.splice(i, 1);
      }
    }
    if (next.length === 0) break;
    beams = next;
  }
  for (const beam of beams) {
    if (open[beam.row]) finished[beam.row]!.push({ ids: beam.ids, logProb: beam.logProb, score: score(beam.logProb, Math.max(beam.ids.length, 1)) });
  }
  return finished.map((list) => list.sort((x, y) => y.score - x.score).slice(0, K));
}

/** Logits with many ties and some −∞ (never all −∞ in a row): a row's values hashed from its tokens. */
function tiedModel(V: number, seed: number, levels: number): StepFunction {
  return (tokens, batchSize, length) => {
    const out = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) {
      let h = seed >>> 0;
      for (let t = 0; t < length; t++) h = Math.imul(h ^ tokens[b * length + t]!, 2654435761) >>> 0;
      for (let v = 0; v < V; v++) {
        h = Math.imul(h ^ (v + 0x9e37), 2246822519) >>> 0;
        const level = h % (levels + 1);
        out[b * V + v] = level === levels && v > 0 ? -Infinity : level * 0.75 - 2 + (levels > 6 ? ((h >>> 12) % 1000) / 997 : 0);
      }
    }
    return out;
  };
}

const logitsArb = fc
  .array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -8, max: 8, noNaN: true }), fc.constant(-Infinity)), { minLength: 1, maxLength: 40 })
  .filter((xs) => xs.some(Number.isFinite))
  .map((xs) => Float32Array.from(xs));

describe('topKIndices', () => {
  it('equals the first k of a stable descending sort (ties: smaller index first)', () => {
    fc.assert(
      fc.property(logitsArb, fc.integer({ min: 0, max: 45 }), (logits, k) => {
        const sorted = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
        expect(Array.from(topKIndices(logits, 0, logits.length, k))).toEqual(sorted.slice(0, k));
      }),
    );
  });

  it('reads a window: indices are relative to the offset', () => {
    expect(Array.from(topKIndices(Float32Array.from([9, 1, 5, 5, 0, 8]), 1, 4, 2))).toEqual([1, 2]);
  });
});

describe('filteredProbabilities against the sort-based reference', () => {
  const settings = fc.record({
    temperature: fc.double({ min: 0.05, max: 3, noNaN: true }),
    topK: fc.integer({ min: 0, max: 45 }),
    topP: fc.oneof(fc.constant(1), fc.double({ min: 0.001, max: 1, noNaN: true })),
  });

  it('is identical with top-k (same survivors, same order of sums) and equal within 1e-12 without it', () => {
    fc.assert(
      fc.property(logitsArb, settings, (logits, { temperature, topK, topP }) => {
        const got = Array.from(filteredProbabilities(logits, 0, logits.length, temperature, topK, topP));
        const want = Array.from(referenceFiltered(logits, 0, logits.length, temperature, topK, topP));
        if (topK > 0 && topK < logits.length) expect(got).toEqual(want);
        else got.forEach((p, v) => expect(Math.abs(p - want[v]!)).toBeLessThanOrEqual(1e-12));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the top-k and the nucleus of a large vocabulary exactly', () => {
    const rng = createRng(3);
    const logits = Float32Array.from({ length: 5000 }, () => Math.round(rng.normal() * 8) / 4);
    for (const [topK, topP] of [[50, 1], [50, 0.9], [0, 0.5], [0, 0.999], [4999, 0.3]] as const) {
      const got = filteredProbabilities(logits, 0, logits.length, 0.8, topK, topP);
      const want = referenceFiltered(logits, 0, logits.length, 0.8, topK, topP);
      expect(got.map((p) => +(p > 0))).toEqual(want.map((p) => +(p > 0)));
      got.forEach((p, v) => expect(Math.abs(p - want[v]!)).toBeLessThanOrEqual(1e-12));
    }
  });
});

describe('sampleDecode against the sort-based reference', () => {
  it('draws the same tokens for the same seed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 }),
          model: fc.integer({ min: 0, max: 2 ** 31 }),
          levels: fc.integer({ min: 1, max: 9 }),
          vocabSize: fc.integer({ min: 3, max: 60 }),
          batchSize: fc.integer({ min: 1, max: 4 }),
          temperature: fc.double({ min: 0.1, max: 2, noNaN: true }),
          topK: fc.integer({ min: 0, max: 70 }),
          topP: fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 1, noNaN: true })),
        }),
        async (o) => {
          const step = tiedModel(o.vocabSize, o.model, o.levels);
          const options = { ...o, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 6 };
          expect(await sampleDecode(step, options)).toEqual(await referenceSample(step, options));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('beamSearch against the sort-based reference', () => {
  it('finds the same hypotheses with the same scores', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          model: fc.integer({ min: 0, max: 2 ** 31 }),
          levels: fc.integer({ min: 1, max: 9 }),
          vocabSize: fc.integer({ min: 3, max: 40 }),
          batchSize: fc.integer({ min: 1, max: 3 }),
          beamSize: fc.integer({ min: 1, max: 5 }),
          lengthPenalty: fc.constantFrom(0, 0.6, 1, 2),
        }),
        async (o) => {
          const step = tiedModel(o.vocabSize, o.model, o.levels);
          const options = { ...o, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 6 };
          expect(await beamSearch(step, options)).toEqual(await referenceBeamSearch(step, options));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('beamSearch against the sort-based reference past the first 1024 logits', () => {
  // Past 1024 tokens a beam row's candidates are the values at or above the best of its first
  // 1024 (simd-row.ts); these rows put the best anywhere, in ties, behind −∞ or rising to the end.
  const rising = (V: number): StepFunction => (tokens, batchSize, length) => {
    const out = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) for (let v = 0; v < V; v++) out[b * V + v] = v / V + (tokens[b * length + length - 1]! % 3) * 1e-3 * Math.sin(v);
    return out;
  };
  const hiddenBehindInfinity = (V: number, seed: number): StepFunction => {
    const base = tiedModel(V, seed, 4);
    return (tokens, batchSize, length) => {
      const out = base(tokens, batchSize, length) as Float32Array;
      for (let b = 0; b < batchSize; b++) {
        out.fill(-Infinity, b * V, b * V + 1024);
        // tiedModel keeps token 0 finite; with it hidden, keep the row's last token finite instead.
        if (!out.subarray(b * V + 1024, (b + 1) * V).some(Number.isFinite)) out[(b + 1) * V - 1] = 0;
      }
      return out;
    };
  };

  it('finds the same hypotheses with the same scores', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          model: fc.integer({ min: 0, max: 2 ** 31 }),
          kind: fc.constantFrom('tied', 'rising', 'behind -Infinity'),
          levels: fc.integer({ min: 1, max: 9 }),
          vocabSize: fc.integer({ min: 1025, max: 2600 }),
          batchSize: fc.integer({ min: 1, max: 2 }),
          beamSize: fc.integer({ min: 1, max: 4 }),
          lengthPenalty: fc.constantFrom(0, 1),
        }),
        async ({ model, kind, levels, ...o }) => {
          const step = kind === 'tied' ? tiedModel(o.vocabSize, model, levels) : kind === 'rising' ? rising(o.vocabSize) : hiddenBehindInfinity(o.vocabSize, model);
          const options = { ...o, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 4 };
          expect(await beamSearch(step, options)).toEqual(await referenceBeamSearch(step, options));
        },
      ),
      // The example: both finite tokens −∞ too, a row with no finite logit unless the model keeps one (CI, seed −23710411).
      { numRuns: 30, examples: [[{ model: 2147483646, kind: 'behind -Infinity', levels: 1, vocabSize: 1026, batchSize: 1, beamSize: 1, lengthPenalty: 0 }]] },
    );
  });
});

describe('beamSearch where rounding ties distinct logits', () => {
  it('orders the tied continuations by token id, as the full sort does', async () => {
    // Beam [4] has log p ≈ −1e16, where one ulp is 2: its continuations 3…7 (logits 0.1…1)
    // all get the same log p, so the sort keeps 3 and 4 — and 3 has the smallest logit, outside
    // the four best logits a selection by logit alone would keep.
    const V = 9;
    const step: StepFunction = (tokens, batchSize, length) => {
      const out = new Float32Array(batchSize * V).fill(-Infinity);
      for (let b = 0; b < batchSize; b++) {
        const row = out.subarray(b * V, (b + 1) * V);
        const last = tokens[b * length + length - 1]!;
        if (length === 1) row.set([0, -1e16], 3);
        else if (last === 3) row[EOS] = 0;
        else if (last === 4) row.set([0.1, 0.5, 0.25, 0.75, 1], 3);
        else row[EOS] = 0;
      }
      return out;
    };
    const options = { batchSize: 1, vocabSize: V, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 3, beamSize: 2, lengthPenalty: 0 };
    const got = await beamSearch(step, options);
    expect(got).toEqual(await referenceBeamSearch(step, options));
    expect(got[0]!.map((h) => h.ids)).toEqual([[3], [4, 3]]);
  });
});

describe('beamSearch where continuations of different beams tie', () => {
  it('orders them by beam, then by token id, as the full sort does', async () => {
    // Step 1 ties 3 and 4, so beams [3] and [4] have one log p; every later row is the same, so
    // (beam [3], 5), (beam [3], 6), (beam [4], 5), (beam [4], 6) all tie: the first beam's two win.
    const V = 8;
    const step: StepFunction = (tokens, batchSize, length) => {
      const out = new Float32Array(batchSize * V).fill(-Infinity);
      for (let b = 0; b < batchSize; b++) {
        const row = out.subarray(b * V, (b + 1) * V);
        if (length === 1) row.set([0, 0, -1], 3);
        else if (length === 2) row.set([0, 0, -3], 5);
        else row[EOS] = 0;
      }
      return out;
    };
    const options = { batchSize: 2, vocabSize: V, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 4, beamSize: 2, lengthPenalty: 1 };
    const got = await beamSearch(step, options);
    expect(got).toEqual(await referenceBeamSearch(step, options));
    for (const hyps of got) expect(hyps.map((h) => h.ids)).toEqual([[3, 5], [3, 6]]);
  });
});
