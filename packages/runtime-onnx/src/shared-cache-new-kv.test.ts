// The shared-cache graph's new_key_values output (the new tokens' keys and values alone, every
// layer's in one tensor): on onnxruntime-node's CPU a call fetches it and writes it into the cache buffers, instead of
// fetching the buffers (bound as the present outputs, which onnxruntime-node copies back whole
// every call). A graph exported before those outputs existed still runs through the bound
// buffers. Both give the same logits, buffers and tokens (greedy, seeded sampling, beam search,
// left-padded prompts). A step GroupQueryAttention refuses (several new tokens after a past, in
// more than one row) is refused in one line before the run.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setupBackend, type TransformerModel } from '@attend/transformer';
import { createOnnxModel } from './node.js';
import { exportCheckpointFiles } from './export.js';
import { generateResults } from './generate.js';
import { NEW_KEY_VALUES, presentName } from './graph-io.js';
import { asSession } from './graph-session.js';
import { GraphBuilder } from './onnx/graph.js';
import type { KvCache } from './session.js';
import { SharedCacheLmSession } from './models/decoder-lm/session.js';
import { checkpointFiles, makeModel, MAX_LEN, maxAbsDiff } from './test-utils/models.js';

// GroupQueryAttention needs a head size that is a multiple of 8: dModel 16, 2 heads.
const CONFIG = { preset: 'decoder-lm', dModel: 16, numHeads: 2, dFf: 32, numDecoderLayers: 2, positional: 'rope', attention: 'scaled_dot', bosTokenId: 1, eosTokenId: 2 } as const;
const H = 2;
const D = 8;
const L = 2;

let model: TransformerModel;
let current: SharedCacheLmSession;
let older: SharedCacheLmSession;

beforeAll(async () => {
  await setupBackend();
  model = makeModel(CONFIG, 21);
  const files = checkpointFiles(model);
  current = asSession(await createOnnxModel(exportCheckpointFiles(files, { kvCache: 'shared' })), SharedCacheLmSession);
  // The graph as exported before new_key_values existed: the same builder, without that output.
  const output = GraphBuilder.prototype.output;
  const spy = vi.spyOn(GraphBuilder.prototype, 'output').mockImplementation(function (this: GraphBuilder, name, ...rest) {
    if (name !== NEW_KEY_VALUES) output.call(this, name, ...rest);
  });
  try {
    older = asSession(await createOnnxModel(exportCheckpointFiles(files, { kvCache: 'shared' })), SharedCacheLmSession);
  } finally {
    spy.mockRestore();
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await current?.release();
  await older?.release();
  model?.dispose();
});

/** Empty cache buffers [B, H, C, D] for every layer. */
function buffers(B: number, C: number): KvCache {
  return Array.from({ length: L }, () => ({ key: { data: new Float32Array(B * H * C * D), dims: [B, H, C, D] }, value: { data: new Float32Array(B * H * C * D), dims: [B, H, C, D] } }));
}

/** The fetch names of every ONNX Runtime call `session` makes from now on. */
function recordFetches(session: SharedCacheLmSession): string[][] {
  const calls: string[][] = [];
  const ort = session.ortSession.session;
  const run = ort.run.bind(ort) as (...args: unknown[]) => Promise<unknown>;
  vi.spyOn(ort, 'run').mockImplementation(((feeds: unknown, fetches: unknown, options: unknown) => {
    calls.push(Object.keys(fetches as Record<string, unknown>));
    return run(feeds, fetches, options);
  }) as never);
  return calls;
}

describe('shared-cache graph: new_key_values', () => {
  it('is one output before the present ones; onnxruntime-node fetches it, not the buffers, and the buffers end as the bound ones do', async () => {
    const presents = Array.from({ length: L }, (_, i) => (['key', 'value'] as const).map((p) => presentName(i, p))).flat();
    expect(current.outputNames).toEqual(['logits', NEW_KEY_VALUES, ...presents]);
    expect(older.outputNames).toEqual(['logits', ...presents]);

    const calls = recordFetches(current);
    const olderCalls = recordFetches(older);
    const mine = buffers(2, MAX_LEN);
    const bound = buffers(2, MAX_LEN);
    // Row 1 is padded by 2 on the left; a 3-token prompt, then one token at a time.
    const ids = [[1, 5, 7, 4, 9, 3, 8], [0, 0, 1, 6, 2, 5, 4]];
    const mask = ids.map((row, b) => row.map((_, t) => (b === 1 && t < 2 ? 0 : 1)));
    const columns = (rows: number[][], from: number, to: number) => ({ data: rows.flatMap((r) => r.slice(from, to)), batchSize: 2, seqLen: to - from });
    let filled = 0;
    for (const [from, to] of [[0, 3], [3, 4], [4, 5], [5, 6], [6, 7]] as const) {
      const feeds = { inputIds: columns(ids, from, to), attentionMask: columns(mask, 0, to) };
      const a = await current.runSharedCache(feeds, mine, filled);
      const b = await older.runSharedCache(feeds, bound, filled);
      expect(a.cache).toBe(mine);
      expect(b.cache).toBe(bound);
      expect(a.logits.dims).toEqual([2, to - from, model.config.vocabSize]);
      expect(maxAbsDiff(a.logits.data, b.logits.data), `logits after ${to} positions`).toBeLessThanOrEqual(1e-6);
      filled = to;
      for (let i = 0; i < L; i++) {
        for (const part of ['key', 'value'] as const) expect(maxAbsDiff(mine[i]![part].data, bound[i]![part].data), `layer ${i} ${part} after ${to}`).toBeLessThanOrEqual(1e-6);
      }
      expect(mine[0]!.key.data.subarray((to - 1) * D, to * D).some((x) => x !== 0)).toBe(true);
    }
    expect(calls).toHaveLength(5);
    for (const fetched of calls) expect(fetched).toEqual(['logits', NEW_KEY_VALUES]);
    for (const fetched of olderCalls) expect(fetched).toEqual(['logits', ...presents]);
  });

  it('refuses new keys that do not fit the buffers, in one line', async () => {
    const ort = current.ortSession.session;
    const run = ort.run.bind(ort) as (...args: unknown[]) => Promise<Record<string, { dims: readonly number[]; data: unknown }>>;
    const ortTensor = current.ortSession.ort.Tensor;
    const spy = vi.spyOn(ort, 'run').mockImplementation((async (...args: unknown[]) => {
      const out = await run(...args);
      // One head's values too few: what a foreign graph under the same output name might return.
      return { ...out, [NEW_KEY_VALUES]: new ortTensor('float32', new Float32Array(3 * (2 * L * H - 1) * D), [1, 3, (2 * L * H - 1) * D]) };
    }) as never);
    await expect(current.runSharedCache({ inputIds: { data: [1, 5, 7], batchSize: 1, seqLen: 3 } }, buffers(1, MAX_LEN), 0)).rejects.toThrow(`new keys and values [1,3,${(2 * L * H - 1) * D}] do not fit ${L} layers of [1,${H},${MAX_LEN},${D}] at position 0`);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("refuses, in one line and before running, several new tokens after a past in more than one row (GroupQueryAttention's limit); one row takes them", async () => {
    const ids = [1, 5, 7, 4, 9, 3, 8, 6];
    // One row: 2 tokens after 2 give the logits of two one-token calls.
    const chunked = buffers(1, MAX_LEN);
    const stepped = buffers(1, MAX_LEN);
    await current.runSharedCache({ inputIds: { data: ids.slice(0, 2), batchSize: 1, seqLen: 2 } }, chunked, 0);
    const two = await current.runSharedCache({ inputIds: { data: ids.slice(2, 4), batchSize: 1, seqLen: 2 } }, chunked, 2);
    await current.runSharedCache({ inputIds: { data: ids.slice(0, 2), batchSize: 1, seqLen: 2 } }, stepped, 0);
    const third = await current.runSharedCache({ inputIds: { data: ids.slice(2, 3), batchSize: 1, seqLen: 1 } }, stepped, 2);
    const fourth = await current.runSharedCache({ inputIds: { data: ids.slice(3, 4), batchSize: 1, seqLen: 1 } }, stepped, 3);
    expect(maxAbsDiff(two.logits.data, [...third.logits.data, ...fourth.logits.data])).toBeLessThanOrEqual(1e-5);
    // Two rows: the prompt (no past) runs; 2 more tokens after it are refused, the buffers left as they were.
    const cache = buffers(2, MAX_LEN);
    await current.runSharedCache({ inputIds: { data: [...ids.slice(0, 2), ...ids.slice(4, 6)], batchSize: 2, seqLen: 2 } }, cache, 0);
    const before = cache.map((layer) => [layer.key.data.slice(), layer.value.data.slice()]);
    const run = vi.spyOn(current.ortSession.session, 'run');
    await expect(current.runSharedCache({ inputIds: { data: [...ids.slice(2, 4), ...ids.slice(6, 8)], batchSize: 2, seqLen: 2 } }, cache, 2)).rejects.toThrow(
      /: 2 new tokens after a past of 2 in 2 rows; the shared-cache graph's GroupQueryAttention takes several new tokens after a past in one row only \(run one row, or one token, per call\)$/,
    );
    expect(run).not.toHaveBeenCalled();
    cache.forEach((layer, i) => expect([layer.key.data, layer.value.data]).toEqual(before[i]));
  });

  it('generation is token-identical to the graph without them: greedy, seeded sampling, beam search, left-padded prompts', async () => {
    const prompts = [[1, 5, 7, 4], [1], [1, 9, 3]];
    const runs = [
      { batchSize: 2, maxNewTokens: MAX_LEN },
      { batchSize: 2, maxNewTokens: MAX_LEN, strategy: { kind: 'sample', seed: 7, temperature: 1.3, topK: 8, topP: 0.95 } as const },
      { batchSize: 2, maxNewTokens: MAX_LEN, strategy: { kind: 'beam', beamSize: 3 } as const },
      { prompts, maxNewTokens: MAX_LEN - 4 },
      { prompts, maxNewTokens: MAX_LEN - 4, strategy: { kind: 'sample', seed: 3, temperature: 0.8, topK: 5 } as const },
    ];
    for (const options of runs) expect(await generateResults(current, options), JSON.stringify(options)).toEqual(await generateResults(older, options));
  });
});
