// Test helper: the nodes ONNX Runtime's CPU session actually runs for a graph (after its own
// fusions at level 'all', its default), read from its profile of one run.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { pastName } from '../graph-io.js';

/** The op types ONNX Runtime's CPU session runs for `bytes`, counted: its profile of one run, written under `dir` as `name_*.json`. */
export async function executedOps(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, dir: string, name: string): Promise<Record<string, number>> {
  const prefix = join(dir, name);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: prefix });
  await session.run(feeds);
  session.endProfiling();
  await session.release();
  const [file] = (await readdir(dir)).filter((f) => f.startsWith(`${name}_`));
  const counts: Record<string, number> = {};
  for (const e of JSON.parse(await readFile(join(dir, file!), 'utf8')) as { cat: string; name: string; args: { op_name?: string } }[]) {
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) counts[e.args.op_name!] = (counts[e.args.op_name!] ?? 0) + 1;
  }
  return counts;
}

/**
 * Feeds of a decoder-lm text graph for rows of `ids` and `mask` [B, T]: input_ids and
 * attention_mask, and with `cache` (the KV-cache graph's shape) position_ids 0 … T − 1 and an
 * empty past per layer, as the first call of a generation.
 */
export function lmFeeds(ids: Int32Array, mask: Int32Array, B: number, T: number, cache?: { layers: number; heads: number; headDim: number }): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [B, T]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [B, T]),
  };
  if (cache) {
    feeds['position_ids'] = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), [B, T]);
    for (let i = 0; i < cache.layers; i++) for (const part of ['key', 'value'] as const) feeds[pastName(i, part)] = new ort.Tensor('float32', new Float32Array(0), [B, cache.heads, 0, cache.headDim]);
  }
  return feeds;
}
