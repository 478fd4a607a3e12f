// The shared-cache graph (kvCache: 'shared'): one [B, H, maxSeqLen, D] buffer per layer key and
// value, written in place by GroupQueryAttention. Its step-by-step logits equal the tfjs full
// forward (≤ 1e-4) for every positional encoding, dot scores and local windows; left-padded
// batches give each row's unpadded logits; generation (greedy, sampling, beam search, left-padded
// prompts, the sliding window) gives what the standard KV-cache graph gives; the buffers never
// grow past maxSeqLen (they double as a run needs them), and growth past maxSeqLen is refused.
// On onnxruntime-web's wasm the graph returns its cache as present outputs and generates the
// standard graph's tokens there too.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, type ModelConfigInput } from '@attend/core';
import { setupBackend, type TransformerModel } from '@attend/transformer';
import { createOnnxModel } from './node.js';
import { createOnnxModel as createWebModel } from './web.js';
import { exportCheckpointFiles } from './export.js';
import { generate, generateResults } from './generate.js';
import { openDecodeCache } from './kv-cache.js';
import type { KvCache, OnnxModel } from './session.js';
import { asSession } from './graph-session.js';
import { CachedLmSession, SharedCacheLmSession } from './models/decoder-lm/session.js';
import { checkpointFiles, makeModel, MAX_LEN, maxAbsDiff, randomBatch, VOCAB } from './test-utils/models.js';

const TOLERANCE = 1e-4;
type Case = Partial<ModelConfigInput> & { preset: 'decoder-lm' };

// GroupQueryAttention needs a head size that is a multiple of 8: dModel 16, 2 heads.
const SIZE = { dModel: 16, numHeads: 2, dFf: 32 };
const D = 8;
const CASES: Case[] = [
  { preset: 'decoder-lm', ...SIZE, positional: 'learned', attention: 'scaled_dot' },
  { preset: 'decoder-lm', ...SIZE, positional: 'rope', attention: 'scaled_dot', norm: 'post' },
  { preset: 'decoder-lm', ...SIZE, positional: 'alibi', attention: 'dot', localWindow: 2 },
  { preset: 'decoder-lm', ...SIZE, positional: 'sinusoidal', attention: 'scaled_dot', localWindow: 3, tieEmbeddings: false, activation: 'relu' },
];

let maxDiff = 0;
beforeAll(async () => {
  await setupBackend();
});
afterAll(() => {
  if (process.env.PARITY_REPORT) console.log(`max |shared-cache ONNX − tfjs|: ${maxDiff.toExponential(2)}`);
});

function check(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const d = maxAbsDiff(got, want);
  maxDiff = Math.max(maxDiff, d);
  expect(d, what).toBeLessThanOrEqual(TOLERANCE);
}

/** tfjs logits of one unpadded sequence at its last position [V]. */
function lastLogits(model: TransformerModel, ids: number[]): Float32Array {
  const result = model.forward({ ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length });
  const data = result.logits.dataSync() as Float32Array;
  result.logits.dispose();
  return data.slice((ids.length - 1) * VOCAB);
}

/** The tfjs model, its shared-cache export and its standard KV-cache export in onnxruntime-node. */
async function exported(c: Case, seed: number): Promise<{ model: TransformerModel; shared: SharedCacheLmSession; past: CachedLmSession }> {
  const model = makeModel(c, seed);
  const files = checkpointFiles(model);
  const shared = asSession(await createOnnxModel(exportCheckpointFiles(files, { kvCache: 'shared' })), SharedCacheLmSession);
  const past = asSession(await createOnnxModel(exportCheckpointFiles(files, { kvCache: true })), CachedLmSession);
  return { model, shared, past };
}

async function release(...models: OnnxModel[]): Promise<void> {
  for (const m of models) await m.release();
}

describe('shared-cache graph', () => {
  it.each(CASES)('left-padded steps give each row’s unpadded tfjs logits, buffers updated in place: $positional $attention window $localWindow', async (c) => {
    const { model, shared, past } = await exported(c, 31);
    try {
      expect(shared.graph).toBe('decoder-shared-cache');
      // Row 1 is padded by 3 on the left; a 4-token prompt, then one token at a time to maxSeqLen.
      const rows = [Array.from({ length: MAX_LEN }, (_, t) => 1 + ((t * 5 + 3) % (VOCAB - 1))), Array.from({ length: MAX_LEN }, (_, t) => 1 + ((t * 7 + 1) % (VOCAB - 1)))];
      const skip = [0, 3];
      const T = MAX_LEN;
      const prompt = 4;
      const ids = rows.flatMap((r, b) => r.map((x, t) => (t < skip[b]! ? 0 : x)));
      const mask = rows.flatMap((r, b) => r.map((_, t) => (t < skip[b]! ? 0 : 1)));
      const columns = (data: number[], from: number, to: number) => ({ data: data.filter((_, i) => i % T >= from && i % T < to), batchSize: 2, seqLen: to - from });
      const cache = openDecodeCache(shared);
      let out = await cache.start({ inputIds: columns(ids, 0, prompt), attentionMask: columns(mask, 0, prompt) });
      const buffers = (cache as unknown as { buffers: KvCache }).buffers;
      const key0 = buffers[0]!.key.data;
      expect(buffers[0]!.key.dims).toEqual([2, 2, MAX_LEN, D]);
      rows.forEach((r, b) => check(out.logits.data.subarray((b * prompt + prompt - 1) * VOCAB, (b * prompt + prompt) * VOCAB), lastLogits(model, r.slice(skip[b]!, prompt)), `row ${b}, prompt`));
      for (let t = prompt; t < T; t++) {
        out = await cache.extend({ inputIds: columns(ids, t, t + 1), attentionMask: columns(mask, 0, t + 1) }, Int32Array.of(0, 1));
        rows.forEach((r, b) => check(out.logits.data.subarray(b * VOCAB, (b + 1) * VOCAB), lastLogits(model, r.slice(skip[b]!, t + 1)), `row ${b}, position ${t}`));
        // The same buffer holds the new key: written in place, never reallocated.
        const now = (cache as unknown as { buffers: KvCache }).buffers[0]!.key.data;
        expect(now).toBe(key0);
        expect(now.subarray(t * D, (t + 1) * D).some((x) => x !== 0)).toBe(true);
      }
      // The standard graph's present equals the shared buffer's filled part.
      const standard = await past.runCached({ inputIds: { data: ids, batchSize: 2, seqLen: T }, attentionMask: { data: mask, batchSize: 2, seqLen: T } });
      check(key0, standard.present[0]!.key.data, 'layer 0 keys');
      // Full: one more token is refused, in one line, before ONNX Runtime runs.
      await expect(cache.extend({ inputIds: { data: [1, 1], batchSize: 2, seqLen: 1 }, attentionMask: { data: new Array(2 * (T + 1)).fill(1), batchSize: 2, seqLen: T + 1 } }, Int32Array.of(0, 1))).rejects.toThrow(`past length ${MAX_LEN} + 1 new tokens exceeds maxSeqLen ${MAX_LEN}`);
    } finally {
      await release(shared, past);
      model.dispose();
    }
  });

  it('generation equals the standard KV-cache graph’s: greedy, sampling, beam search, left-padded prompts, sliding window', async () => {
    const { model, shared, past } = await exported({ preset: 'decoder-lm', ...SIZE, positional: 'rope', attention: 'scaled_dot', bosTokenId: 1, eosTokenId: 2 }, 11);
    try {
      const prompts = [[1, 5, 7, 4], [1], [1, 9, 3], [1, 6]];
      const runs = [
        { batchSize: 3, maxNewTokens: MAX_LEN },
        { batchSize: 2, maxNewTokens: MAX_LEN, strategy: { kind: 'sample', seed: 5, temperature: 1.5, topK: 8 } as const },
        { batchSize: 2, maxNewTokens: MAX_LEN, strategy: { kind: 'beam', beamSize: 3 } as const },
        { prompts, maxNewTokens: MAX_LEN - 4 },
        { prompts, maxNewTokens: MAX_LEN - 4, strategy: { kind: 'beam', beamSize: 3 } as const },
        { batchSize: 2, maxNewTokens: 2 * MAX_LEN, slidingWindow: true },
      ];
      for (const options of runs) expect(await generateResults(shared, options), JSON.stringify(options)).toEqual(await generateResults(past, options));
    } finally {
      await release(shared, past);
      model.dispose();
    }
  });

  it('grows its buffers by doubling as a long run needs them, up to maxSeqLen, and decodes as the standard graph', async () => {
    const { model, shared, past } = await exported({ preset: 'decoder-lm', ...SIZE, vocabSize: 100, maxSeqLen: 80, positional: 'learned', attention: 'scaled_dot', bosTokenId: 1, eosTokenId: 99 }, 12);
    try {
      const capacities: number[] = [];
      const run = shared.runSharedCache.bind(shared);
      shared.runSharedCache = (feeds, cache, pastLength) => {
        if (capacities.at(-1) !== cache[0]!.key.dims[2]) capacities.push(cache[0]!.key.dims[2]!);
        return run(feeds, cache, pastLength);
      };
      const options = { prompts: [[1, 5, 7], [1, 3]], maxNewTokens: 76 };
      const want = await generateResults(past, options);
      expect(Math.max(...want.map((r) => r.ids.length))).toBe(76); // the batch runs to maxSeqLen
      expect(await generateResults(shared, options)).toEqual(want);
      expect(capacities).toEqual([32, 64, 80]);
    } finally {
      await release(shared, past);
      model.dispose();
    }
  });

  it('runs on onnxruntime-web’s wasm too, where the present outputs come back as the next cache: the standard graph’s tokens there', async () => {
    const model = makeModel({ preset: 'decoder-lm', ...SIZE, positional: 'rope', attention: 'scaled_dot', bosTokenId: 1, eosTokenId: 2 }, 13);
    const files = checkpointFiles(model);
    model.dispose();
    const shared = asSession(await createWebModel(exportCheckpointFiles(files, { kvCache: 'shared' }), { numThreads: 1 }), SharedCacheLmSession);
    const past = asSession(await createWebModel(exportCheckpointFiles(files, { kvCache: true }), { numThreads: 1 }), CachedLmSession);
    try {
      expect(shared.inPlace).toBe(false);
      const lengths: number[] = [];
      const run = shared.runSharedCache.bind(shared);
      shared.runSharedCache = (feeds, cache, pastLength) => {
        lengths.push(cache[0]!.key.dims[2]!);
        return run(feeds, cache, pastLength);
      };
      const runs = [
        { batchSize: 2, maxNewTokens: MAX_LEN },
        { batchSize: 2, maxNewTokens: MAX_LEN, strategy: { kind: 'sample', seed: 5, temperature: 1.5, topK: 8 } as const },
        { prompts: [[1, 5, 7, 4], [1], [1, 9, 3]], maxNewTokens: MAX_LEN - 4, strategy: { kind: 'beam', beamSize: 2 } as const },
      ];
      for (const options of runs) expect(await generateResults(shared, options), JSON.stringify(options)).toEqual(await generateResults(past, options));
      expect(lengths.slice(0, 3)).toEqual([0, 1, 2]); // the filled positions alone, no spare capacity
    } finally {
      await release(shared, past);
    }
  });

  it('refuses what it cannot do, in one line', async () => {
    const additive = makeModel({ preset: 'decoder-lm', ...SIZE, attention: 'additive' }, 3);
    expect(() => exportCheckpointFiles(checkpointFiles(additive), { kvCache: 'shared' })).toThrow("attention: the shared-cache graph needs 'scaled_dot' or 'dot' scores (GroupQueryAttention), got 'additive'");
    additive.dispose();
    const narrow = makeModel({ preset: 'decoder-lm' }, 3); // head size 4
    expect(() => exportCheckpointFiles(checkpointFiles(narrow), { kvCache: 'shared' })).toThrow('numHeads: the shared-cache graph needs a head size (dModel / numHeads) that is a multiple of 8 (GroupQueryAttention), got 4');
    narrow.dispose();
    const model = makeModel({ preset: 'decoder-lm', ...SIZE }, 4);
    const files = checkpointFiles(model);
    model.dispose();
    expect(() => exportCheckpointFiles(files, { kvCache: 'shared', withAttention: true })).toThrow('withAttention: the shared-cache graph has no attention weight outputs');
    const bytes = exportCheckpointFiles(files, { kvCache: 'shared' });
    const node = await createOnnxModel(bytes);
    try {
      const { ids } = randomBatch(createRng(1), [3], 3);
      // The shared-cache graph loads as its own session, which has no runCached: asking for the standard one is one line.
      expect(() => asSession(node, CachedLmSession)).toThrow("'decoder-shared-cache' graph, which CachedLmSession does not run");
      const shared = asSession(node, SharedCacheLmSession);
      const buffers = (dims: number[]): KvCache => [0, 1].map(() => ({ key: { data: new Float32Array(dims.reduce((a, b) => a * b)), dims }, value: { data: new Float32Array(dims.reduce((a, b) => a * b)), dims } }));
      await expect(shared.runSharedCache({ inputIds: { data: ids, batchSize: 1, seqLen: 3 } }, buffers([1, 3, 4, D]), 0)).rejects.toThrow(`past_key_values.0.key is [1,3,4,${D}] (${12 * D} values), expected [1,2,4,${D}]`);
      await expect(shared.runSharedCache({ inputIds: { data: ids, batchSize: 1, seqLen: 3 } }, buffers([1, 2, 4, D]), 2)).rejects.toThrow("past length 2 + 3 new tokens exceeds the cache's capacity 4");
    } finally {
      await node.release();
    }
  });
});
