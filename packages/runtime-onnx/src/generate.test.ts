// The decoder-lm KV-cache graph and generation over it: step-by-step decoding with the cache
// gives the tfjs full-forward (no cache) logits at every step, for every positional encoding,
// local windows and several score functions; the first call handles right padding; beam
// search, sampling and greedy over the cached ONNX step function equal the same algorithms
// over the uncached tfjs step function (so the cache follows beam search's row reordering);
// streaming yields the same tokens; prompts of different lengths (left-padded in one batch)
// decode exactly as each does alone.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beamSearch, createRng, decodeResults, greedyDecode, sampleDecode, slidingWindow, type ModelConfigInput } from '@attend/core';
import { setupBackend, tfjsStepFunction, type TransformerModel } from '@attend/transformer';
import { createOnnxModel } from './node.js';
import { createOnnxModel as createWebModel } from './web.js';
import { exportCheckpointFiles } from './export.js';
import { generate, generateResults, lastQueryRows, onnxStepFunction, streamGenerate } from './generate.js';
import type { KvCache, OnnxModel } from './session.js';
import { cachedOf, checkpointFiles, forwardOf, makeModel, MAX_LEN, maxAbsDiff, randomBatch, VOCAB } from './test-utils/models.js';

const TOLERANCE = 1e-4;
type Case = Partial<ModelConfigInput> & { preset: 'decoder-lm' };

const CASES: Case[] = [
  { preset: 'decoder-lm', positional: 'rope', attention: 'scaled_dot' },
  { preset: 'decoder-lm', positional: 'alibi', attention: 'additive', norm: 'post' },
  { preset: 'decoder-lm', positional: 'learned', attention: 'cosine', tieEmbeddings: false },
  { preset: 'decoder-lm', positional: 'sinusoidal', attention: 'general', activation: 'relu' },
  { preset: 'decoder-lm', positional: 'rope', attention: 'dot', localWindow: 2 },
  { preset: 'decoder-lm', positional: 'alibi', attention: 'scaled_dot', localWindow: 3, norm: 'post' },
];

let maxDiff = 0;

beforeAll(async () => {
  await setupBackend();
});
afterAll(() => {
  if (process.env.PARITY_REPORT) console.log(`max |cached ONNX − tfjs|: ${maxDiff.toExponential(2)}`);
});

function label(c: Case): string {
  return Object.entries(c)
    .filter(([k]) => k !== 'preset')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** tfjs logits [B, T, V] of the whole (unpadded) sequences `ids` [B, T]. */
function tfjsLogits(model: TransformerModel, ids: Int32Array, B: number, T: number, lengths?: number[]): Float32Array {
  const result = model.forward({ ids, batchSize: B, seqLen: T, ...(lengths ? { lengths: Int32Array.from(lengths) } : {}) });
  const data = result.logits.dataSync() as Float32Array;
  result.logits.dispose();
  return data;
}

/** Position `t` of logits [B, T, V]. */
function at(logits: Float32Array, B: number, T: number, t: number): Float32Array {
  const out = new Float32Array(B * VOCAB);
  for (let b = 0; b < B; b++) out.set(logits.subarray((b * T + t) * VOCAB, (b * T + t + 1) * VOCAB), b * VOCAB);
  return out;
}

function check(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const d = maxAbsDiff(got, want);
  maxDiff = Math.max(maxDiff, d);
  expect(d, what).toBeLessThanOrEqual(TOLERANCE);
}

/** The tfjs model and its KV-cache export in onnxruntime-node (or -web, single-threaded WASM). */
async function exported(c: Case, seed: number, runtime: 'node' | 'web' = 'node'): Promise<{ model: TransformerModel; onnx: OnnxModel }> {
  const model = makeModel(c, seed);
  const bytes = exportCheckpointFiles(checkpointFiles(model), { kvCache: true, withAttention: seed % 2 === 0 });
  const onnx = runtime === 'node' ? await createOnnxModel(bytes) : await createWebModel(bytes, { numThreads: 1 });
  return { model, onnx };
}

describe('decoder-lm KV-cache graph', () => {
  const runs = [...CASES.map((c, index) => ({ c, index, runtime: 'node' as const })), { c: CASES[0]!, index: 0, runtime: 'web' as const }];
  runs.forEach(({ c, index, runtime }) => {
    it(`cached steps equal the full tfjs forward at every step (${runtime}): ${label(c)}`, async () => {
      const { model, onnx } = await exported(c, 40 + index, runtime);
      try {
        expect(onnx.outputNames.includes('attentions.1')).toBe(index % 2 === 0);
        expect([...onnx.inputNames]).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
        const B = 2;
        const T = MAX_LEN;
        const { ids } = randomBatch(createRng(index), [T, T], T);
        const full = tfjsLogits(model, ids, B, T);
        // First call: a 3-token prompt on an empty (zero-length) past.
        const P0 = 3;
        const prompt = Int32Array.from({ length: B * P0 }, (_, i) => ids[Math.floor(i / P0) * T + (i % P0)]!);
        let out = await cachedOf(onnx).runCached({ inputIds: { data: prompt, batchSize: B, seqLen: P0 } });
        for (let t = 0; t < P0; t++) check(at(out.logits.data, B, P0, t), at(full, B, T, t), `prompt position ${t}`);
        let cache: KvCache = out.present;
        expect(cache[0]!.key.dims).toEqual([B, 2, P0, 4]);
        // Then one token at a time, feeding the cache back.
        for (let t = P0; t < T; t++) {
          const next = Int32Array.from({ length: B }, (_, b) => ids[b * T + t]!);
          out = await cachedOf(onnx).runCached({ inputIds: { data: next, batchSize: B, seqLen: 1 }, past: cache });
          check(out.logits.data, at(full, B, T, t), `step at position ${t}`);
          cache = out.present;
        }
        expect(cache[1]!.value.dims).toEqual([B, 2, T, 4]);
      } finally {
        await onnx.release();
        model.dispose();
      }
    });
  });

  it('is for decoder-lm only', () => {
    const s2s = makeModel({ preset: 'encoder-decoder' }, 8);
    const files = checkpointFiles(s2s);
    s2s.dispose();
    expect(() => exportCheckpointFiles(files, { kvCache: true })).toThrow("preset: the KV-cache export is for 'decoder-lm', got 'encoder-decoder'");
  });

  it('the first call takes a right-padded batch; run() on the cache graph is the plain forward', async () => {
    const { model, onnx } = await exported(CASES[1]!, 7);
    try {
      const batch = randomBatch(createRng(3), [7, 4, 1], 7);
      const want = tfjsLogits(model, batch.ids, 3, 7, [7, 4, 1]);
      const out = await cachedOf(onnx).runCached({ inputIds: { data: batch.ids, batchSize: 3, seqLen: 7 }, attentionMask: { data: batch.mask, batchSize: 3, seqLen: 7 } });
      check(out.logits.data, want, 'padded prefill');
      const plain = await forwardOf(onnx).run({ inputIds: { data: batch.ids, batchSize: 3, seqLen: 7 }, attentionMask: { data: batch.mask, batchSize: 3, seqLen: 7 } });
      expect(maxAbsDiff(plain.logits.data, out.logits.data)).toBe(0);
      await expect(cachedOf(onnx).runCached({ inputIds: { data: [1], batchSize: 1, seqLen: 1 }, past: out.present })).rejects.toThrow('past_key_values.0.key is [3,2,7,4] (168 values), expected [1,2,7,4]');
      const zeros = () => ({ data: new Float32Array(3 * 2 * MAX_LEN * 4), dims: [3, 2, MAX_LEN, 4] });
      const long = out.present.map(() => ({ key: zeros(), value: zeros() }));
      await expect(cachedOf(onnx).runCached({ inputIds: { data: [1, 1, 1], batchSize: 3, seqLen: 1 }, past: long })).rejects.toThrow(`past length ${MAX_LEN} + 1 new tokens exceeds maxSeqLen ${MAX_LEN}`);
    } finally {
      await onnx.release();
      model.dispose();
    }
  });
});

describe('generation over the KV cache', () => {
  it('greedy, sampling and beam search equal the uncached tfjs step function; beam 1 equals greedy', async () => {
    const c: Case = { preset: 'decoder-lm', positional: 'rope', attention: 'scaled_dot', bosTokenId: 1, eosTokenId: 2 };
    const { model, onnx } = await exported(c, 11);
    try {
      const base = { batchSize: 3, vocabSize: VOCAB, bosTokenId: 1, eosTokenId: 2, maxNewTokens: MAX_LEN - 1 };
      const tfjsGreedy = await greedyDecode(tfjsStepFunction(model), base);
      expect(await greedyDecode(onnxStepFunction(onnx), base)).toEqual(tfjsGreedy);
      expect(await generate(onnx, { batchSize: 3, maxNewTokens: 20 })).toEqual(tfjsGreedy);
      expect(await generate(onnx, { batchSize: 3, maxNewTokens: 20, strategy: { kind: 'beam', beamSize: 1 } })).toEqual(tfjsGreedy);

      const sampling = { ...base, seed: 5, temperature: 1.5, topK: 8 };
      expect(await sampleDecode(onnxStepFunction(onnx), sampling)).toEqual(await sampleDecode(tfjsStepFunction(model), sampling));

      const beams = { ...base, batchSize: 2, beamSize: 3, lengthPenalty: 0.8 };
      const want = await beamSearch(tfjsStepFunction(model), beams);
      const got = await beamSearch(onnxStepFunction(onnx), beams);
      expect(got.map((h) => h.map((x) => x.ids))).toEqual(want.map((h) => h.map((x) => x.ids)));
      got.flat().forEach((h, i) => expect(Math.abs(h.score - want.flat()[i]!.score)).toBeLessThan(1e-4));
    } finally {
      await onnx.release();
      model.dispose();
    }
  });

  it('continues prompts like a tfjs forward loop, and streams the same tokens', async () => {
    const c: Case = { preset: 'decoder-lm', positional: 'alibi', attention: 'additive', localWindow: 3 };
    const { model, onnx } = await exported(c, 12);
    try {
      const prompts = [
        [1, 5, 7],
        [1, 9, 3],
      ];
      // tfjs greedy: the whole sequence through the forward each step, argmax of the last position.
      const want: number[][] = [];
      for (const prompt of prompts) {
        const seq = [...prompt];
        const generated: number[] = [];
        while (seq.length < MAX_LEN) {
          const logits = tfjsLogits(model, Int32Array.from(seq), 1, seq.length);
          const last = Array.from(at(logits, 1, seq.length, seq.length - 1));
          const next = last.indexOf(Math.max(...last));
          if (next === model.config.eosTokenId) break;
          generated.push(next);
          seq.push(next);
        }
        want.push(generated);
      }
      const streamed: number[][] = [[], []];
      const got = await generate(onnx, { prompts, maxNewTokens: MAX_LEN, onToken: (_, tokens) => tokens.forEach((t, b) => streamed[b]!.push(t)) });
      expect(got).toEqual(want);
      expect(streamed.map((s, b) => s.slice(0, want[b]!.length))).toEqual(want);

      const fromIterator: number[][] = [[], []];
      let steps = 0;
      for await (const { step, tokens } of streamGenerate(onnx, { prompts, maxNewTokens: MAX_LEN })) {
        expect(step).toBe(++steps);
        tokens.forEach((t, b) => fromIterator[b]!.push(t));
      }
      expect(fromIterator).toEqual(streamed);
      // Leaving the loop early stops generation.
      for await (const { step } of streamGenerate(onnx, { prompts, maxNewTokens: MAX_LEN })) if (step === 2) break;

      await expect(generate(onnx, { prompts: [[1, 2], []], maxNewTokens: 3 })).rejects.toThrow('prompts[1] is empty');
    } finally {
      await onnx.release();
      model.dispose();
    }
  });
});

describe('left padding: prompts of different lengths in one batch', () => {
  const prompts = [[1, 5, 7, 4], [1], [1, 9, 3], [1, 6]];
  const maxNewTokens = MAX_LEN - 4; // what the longest prompt leaves

  it.each(CASES)('each row decodes as it would alone: $positional $attention window $localWindow', async (c) => {
    const { model, onnx } = await exported(c, 13);
    try {
      for (const strategy of [undefined, { kind: 'beam', beamSize: 3 } as const]) {
        const alone: number[][] = [];
        for (const p of prompts) alone.push((await generate(onnx, { prompts: [p], maxNewTokens, strategy }))[0]!);
        expect(await generate(onnx, { prompts, maxNewTokens, strategy }), strategy?.kind ?? 'greedy').toEqual(alone);
      }
    } finally {
      await onnx.release();
      model.dispose();
    }
  });

  it('left-padded cached steps give the tfjs logits of the unpadded sequences', async () => {
    const c: Case = { preset: 'decoder-lm', positional: 'alibi', attention: 'scaled_dot', localWindow: 2 };
    const { model, onnx } = await exported(c, 14);
    try {
      const rows = [[1, 5, 7, 4, 8, 9], [1, 6, 3, 2, 5, 11]]; // row 1 is padded by 3 on the left
      const skip = [0, 3];
      const T = rows[0]!.length;
      const prompt = 3;
      const ids = Int32Array.from(rows.flatMap((r, b) => r.map((x, t) => (t < skip[b]! ? 0 : x))));
      const mask = Int32Array.from(rows.flatMap((r, b) => r.map((_, t) => (t < skip[b]! ? 0 : 1))));
      const first = await cachedOf(onnx).runCached({
        inputIds: { data: ids.filter((_, i) => i % T < prompt), batchSize: 2, seqLen: prompt },
        attentionMask: { data: mask.filter((_, i) => i % T < prompt), batchSize: 2, seqLen: prompt },
      });
      let past = first.present;
      for (let t = prompt; t < T; t++) {
        const out = await cachedOf(onnx).runCached({
          inputIds: { data: [ids[t]!, ids[T + t]!], batchSize: 2, seqLen: 1 },
          attentionMask: { data: mask.filter((_, i) => i % T <= t), batchSize: 2, seqLen: t + 1 },
          past,
        });
        past = out.present;
        rows.forEach((r, b) => {
          const real = r.slice(skip[b]!, t + 1);
          const want = at(tfjsLogits(model, Int32Array.from(real), 1, real.length), 1, real.length, real.length - 1);
          check(out.logits.data.subarray(b * VOCAB, (b + 1) * VOCAB), want, `row ${b}, position ${t}`);
        });
      }
    } finally {
      await onnx.release();
      model.dispose();
    }
  });
});

describe('lastQueryRows', () => {
  it('takes each head’s last query row of every [B, H, Q, K] attention', () => {
    const data = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i); // B 1, H 2, Q 3, K 2
    expect(lastQueryRows({ 'attentions.0': { data, dims: [1, 2, 3, 2] } })).toEqual({ 'attentions.0': { data: Float32Array.of(4, 5, 10, 11), dims: [1, 2, 2] } });
  });
});

describe('sliding window past maxSeqLen', () => {
  // A random model whose greedy text runs 80 tokens without eos (the first such seed), so the window must slide 17 times.
  it.each(['learned', 'rope'] as const)('80 new tokens from a maxSeqLen-64 model, as the uncached tfjs model on the last 64 tokens; without it, finishReason context at 64 tokens (%s)', async (positional) => {
    for (let seed = 0; seed < 20; seed++) {
      const model = makeModel({ preset: 'decoder-lm', positional, maxSeqLen: 64 }, seed);
      const options = { batchSize: 1, vocabSize: VOCAB, bosTokenId: model.config.bosTokenId, eosTokenId: model.config.eosTokenId, maxNewTokens: 80 };
      const [want] = await decodeResults(slidingWindow(tfjsStepFunction(model), 64), options);
      if (want!.finishReason !== 'length') {
        model.dispose();
        continue;
      }
      const onnx = await createOnnxModel(exportCheckpointFiles(checkpointFiles(model), { kvCache: true }));
      try {
        const [slid] = await generateResults(onnx, { maxNewTokens: 80, slidingWindow: true });
        expect(slid!.ids).toHaveLength(80);
        expect(slid).toEqual(want);
        const [stopped] = await generateResults(onnx, { maxNewTokens: 80 });
        expect(stopped).toEqual({ ids: want!.ids.slice(0, 63), finishReason: 'context', steps: [] }); // bos + 63 = 64 tokens
        const [short] = await generateResults(onnx, { maxNewTokens: 5 });
        expect(short!.finishReason).toBe('length');
      } finally {
        await onnx.release();
        model.dispose();
      }
      return;
    }
    throw new Error('no seed in 0..19 gives 80 tokens without eos');
  });
});
