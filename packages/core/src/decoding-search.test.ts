import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beamSearch, decodeRows, decodeWith, filteredProbabilities, greedyDecode, sampleDecode, type StepFunction } from './decoding.js';
import { ConfigError } from './errors.js';

const BOS = 1;
const EOS = 2;

/** A deterministic "model": logits are a hash of the row's tokens, so any decoder sees the same function. */
function hashedModel(V: number, seed: number): StepFunction {
  return (tokens, batchSize, length) => {
    const out = new Float32Array(batchSize * V);
    for (let b = 0; b < batchSize; b++) {
      let h = seed >>> 0;
      for (let t = 0; t < length; t++) h = Math.imul(h ^ tokens[b * length + t]!, 2654435761) >>> 0;
      for (let v = 0; v < V; v++) {
        h = Math.imul(h ^ (v + 0x9e37), 2246822519) >>> 0;
        out[b * V + v] = ((h >>> 8) / 2 ** 24) * 6 - 3;
      }
    }
    return out;
  };
}

/** Fixed next-token log-probabilities per prefix, written out as a table: prefix (without bos) → {token: p}. */
function tableModel(V: number, table: Record<string, Record<number, number>>): StepFunction {
  return (tokens, batchSize, length) => {
    const out = new Float32Array(batchSize * V).fill(Math.log(1e-9));
    for (let b = 0; b < batchSize; b++) {
      const prefix = Array.from(tokens.subarray(b * length + 1, (b + 1) * length)).join(',');
      for (const [v, p] of Object.entries(table[prefix] ?? { [EOS]: 1 })) out[b * V + Number(v)] = Math.log(p);
    }
    return out;
  };
}

describe('beam search', () => {
  it('with one beam equals greedy decoding (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 3 }), async (seed, batchSize) => {
        const step = hashedModel(7, seed);
        const options = { batchSize, vocabSize: 7, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 6 };
        const greedy = await greedyDecode(step, options);
        const beams = await beamSearch(step, { ...options, beamSize: 1 });
        expect(beams.map((h) => h[0]!.ids)).toEqual(greedy);
      }),
      { numRuns: 60 },
    );
  });

  it('finds the more probable sequence that greedy misses', async () => {
    // Greedy takes 3 (p .6) then must spread over two tokens: .6·.5·1 = .30.
    // Beam 2 also keeps 4 (p .4), after which 5 is certain: .4·1·1 = .40.
    const step = tableModel(8, { '': { 3: 0.6, 4: 0.4 }, '3': { 5: 0.5, 6: 0.5 }, '4': { 5: 1 }, '3,5': { [EOS]: 1 }, '3,6': { [EOS]: 1 }, '4,5': { [EOS]: 1 } });
    const options = { batchSize: 1, vocabSize: 8, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 5 };
    expect(await greedyDecode(step, options)).toEqual([[3, 5]]);
    const [hyps] = await beamSearch(step, { ...options, beamSize: 2, lengthPenalty: 0 });
    expect(hyps![0]!.ids).toEqual([4, 5]);
    expect(hyps![0]!.logProb).toBeCloseTo(Math.log(0.4), 5);
    expect(hyps![1]!.ids).toEqual([3, 5]);
    expect(hyps![1]!.logProb).toBeCloseTo(Math.log(0.3), 5);
  });

  it('length penalty trades probability for length', async () => {
    // [3] ends with p .6 (2 tokens with eos); [4, 5] ends with p .4 (3 tokens).
    // α = 0: log .6 > log .4. α = 2: log .6 / 4 = −0.128 < log .4 / 9 = −0.102.
    const step = tableModel(8, { '': { 3: 0.6, 4: 0.4 }, '3': { [EOS]: 1 }, '4': { 5: 1 }, '4,5': { [EOS]: 1 } });
    const options = { batchSize: 1, vocabSize: 8, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 5, beamSize: 2 };
    const [plain] = await beamSearch(step, { ...options, lengthPenalty: 0 });
    expect(plain!.map((h) => h.ids)).toEqual([[3], [4, 5]]);
    const [penalised] = await beamSearch(step, { ...options, lengthPenalty: 2 });
    expect(penalised!.map((h) => h.ids)).toEqual([[4, 5], [3]]);
    expect(penalised![0]!.score).toBeCloseTo(Math.log(0.4) / 9, 5);
  });

  it('passes parents that map each row to the row it extends', async () => {
    const V = 6;
    const base = hashedModel(V, 11);
    let previous: Int32Array | undefined;
    const step: StepFunction = (tokens, batchSize, length, context) => {
      const parents = context?.parents;
      expect(parents?.length).toBe(batchSize);
      if (previous && parents) {
        for (let i = 0; i < batchSize; i++) {
          // Row i's prefix is its parent's whole row from the previous call.
          const mine = Array.from(tokens.subarray(i * length, i * length + length - 1));
          const theirs = Array.from(previous.subarray(parents[i]! * (length - 1), (parents[i]! + 1) * (length - 1)));
          expect(mine).toEqual(theirs);
        }
      }
      previous = tokens.slice();
      return base(tokens, batchSize, length, context);
    };
    const out = await beamSearch(step, { batchSize: 2, vocabSize: V, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 5, beamSize: 3 });
    expect(out).toHaveLength(2);
    for (const hyps of out) expect(hyps.length).toBeGreaterThan(0);
  });

  it('rejects a bad beam size', async () => {
    await expect(beamSearch(hashedModel(5, 1), { batchSize: 1, vocabSize: 5, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 3, beamSize: 0 })).rejects.toThrow(ConfigError);
  });
});

describe('sampling', () => {
  const options = { batchSize: 3, vocabSize: 9, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 8 };

  it('is reproducible from its seed and varies with it', async () => {
    const step = hashedModel(9, 5);
    const a = await sampleDecode(step, { ...options, seed: 42 });
    expect(await sampleDecode(step, { ...options, seed: 42 })).toEqual(a);
    const others = await Promise.all([1, 2, 3, 4].map((seed) => sampleDecode(step, { ...options, seed })));
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a))).toBe(true);
  });

  it('temperature 0, top-k 1 and a tiny top-p all reduce to greedy', async () => {
    const step = hashedModel(9, 8);
    const greedy = await greedyDecode(step, options);
    expect(await sampleDecode(step, { ...options, seed: 1, temperature: 0 })).toEqual(greedy);
    expect(await sampleDecode(step, { ...options, seed: 2, topK: 1 })).toEqual(greedy);
    expect(await sampleDecode(step, { ...options, seed: 3, topP: 1e-6 })).toEqual(greedy);
  });

  it('draws tokens with the model probabilities', async () => {
    // Always p(3) = .7, p(4) = .3 for the first token.
    const step = tableModel(6, { '': { 3: 0.7, 4: 0.3 } });
    const counts = new Map<number, number>();
    const n = 4000;
    const rows = await sampleDecode(step, { batchSize: n, vocabSize: 6, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 1, seed: 7 });
    for (const r of rows) counts.set(r[0]!, (counts.get(r[0]!) ?? 0) + 1);
    expect((counts.get(3) ?? 0) / n).toBeGreaterThan(0.67);
    expect((counts.get(3) ?? 0) / n).toBeLessThan(0.73);
  });

  it('filters by top-k and top-p and renormalises (hand example)', () => {
    // logits ln(.5), ln(.3), ln(.15), ln(.05): softmax = [.5, .3, .15, .05].
    const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
    const k2 = filteredProbabilities(logits, 0, 4, 1, 2);
    expect(Array.from(k2).map((p) => +p.toFixed(6))).toEqual([0.625, 0.375, 0, 0]);
    // Nucleus .75: .5 < .75, .5 + .3 = .8 ≥ .75 → keep the first two.
    const p75 = filteredProbabilities(logits, 0, 4, 1, 0, 0.75);
    expect(Array.from(p75).map((p) => +p.toFixed(6))).toEqual([0.625, 0.375, 0, 0]);
    // Temperature 2 flattens: p ∝ sqrt(p).
    const t2 = filteredProbabilities(logits, 0, 4, 2);
    const roots = [0.5, 0.3, 0.15, 0.05].map(Math.sqrt);
    const z = roots.reduce((a, b) => a + b, 0);
    roots.forEach((r, i) => expect(t2[i]).toBeCloseTo(r / z, 6));
  });

  it('rejects bad settings with the field name', async () => {
    const step = hashedModel(9, 1);
    await expect(sampleDecode(step, { ...options, seed: 1, temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(sampleDecode(step, { ...options, seed: 1, topK: 1.5 })).rejects.toThrow(/topK/);
    await expect(sampleDecode(step, { ...options, seed: 1, topP: 0 })).rejects.toThrow(/topP/);
  });
});

describe('decodeWith', () => {
  const options = { batchSize: 2, vocabSize: 7, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 5 };

  it('dispatches each strategy to its decoder', async () => {
    const step = hashedModel(7, 21);
    expect(await decodeWith(step, options)).toEqual(await greedyDecode(step, options));
    expect(await decodeWith(step, options, { kind: 'sample', seed: 4 })).toEqual(await sampleDecode(step, { ...options, seed: 4 }));
    const beams = await beamSearch(step, { ...options, beamSize: 3 });
    expect(await decodeWith(step, options, { kind: 'beam', beamSize: 3 })).toEqual(beams.map((h) => h[0]!.ids));
  });

  it('refuses streaming with beam search', async () => {
    await expect(decodeWith(hashedModel(7, 1), { ...options, onToken: () => {} }, { kind: 'beam', beamSize: 2 })).rejects.toThrow(/onToken/);
  });
});

describe('per-step outputs', () => {
  // Each row's output `seen` = [its newest input token, its length]: what the row was when the
  // step that produced a token ran. Along a hypothesis, step s must have seen [ids[s − 1], s + 1].
  const withOutputs = (V: number, seed: number): StepFunction => {
    const base = hashedModel(V, seed);
    return (tokens, batchSize, length, context) => {
      const data = new Float32Array(batchSize * 2);
      for (let r = 0; r < batchSize; r++) data.set([tokens[r * length + length - 1]!, length], r * 2);
      return { logits: base(tokens, batchSize, length, context) as Float32Array, outputs: { seen: { data, dims: [batchSize, 2] } } };
    };
  };
  const options = { batchSize: 3, vocabSize: 7, bosTokenId: BOS, eosTokenId: EOS, maxNewTokens: 6 };
  const strategies = [{ kind: 'greedy' }, { kind: 'sample', seed: 3, topK: 4 }, { kind: 'beam', beamSize: 3 }] as const;

  it('decodeRows gives every produced token the outputs of its own row and step (greedy, sampling, beam)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(...strategies), async (seed, strategy) => {
        const step = withOutputs(7, seed);
        const rows = await decodeRows(step, options, strategy);
        expect(rows.map((r) => r.ids)).toEqual(await decodeWith(step, options, strategy));
        for (const { ids, steps } of rows) {
          expect(steps.length === ids.length || steps.length === ids.length + 1).toBe(true);
          steps.forEach((outputs, s) => {
            expect(outputs.seen!.dims).toEqual([2]);
            expect(Array.from(outputs.seen!.data)).toEqual([s === 0 ? BOS : ids[s - 1]!, s + 1]);
          });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('beam hypotheses carry their steps; onToken gets the whole step', async () => {
    const hyps = await beamSearch(withOutputs(7, 5), { ...options, beamSize: 2 });
    for (const h of hyps.flat()) expect(h.steps!.length).toBeGreaterThanOrEqual(h.ids.length);
    const seen: number[] = [];
    await greedyDecode(withOutputs(7, 5), { ...options, onToken: (_t, _tokens, outputs) => seen.push(outputs.seen!.dims[0]!) });
    expect(seen.every((rows) => rows === 3)).toBe(true);
    expect((await beamSearch(hashedModel(7, 5), { ...options, beamSize: 2 })).flat().every((h) => h.steps === undefined)).toBe(true);
  });

  it('rejects outputs whose first axis is not the rows of the call', async () => {
    const step: StepFunction = (_tokens, batchSize) => ({ logits: new Float32Array(batchSize * 7), outputs: { bad: { data: new Float32Array(2), dims: [2] } } });
    await expect(greedyDecode(step, options)).rejects.toThrow(/step output 'bad' has shape \[2\]/);
  });
});
