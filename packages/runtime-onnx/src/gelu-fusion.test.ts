// The standard-ops graph's GELUs are the node chains ONNX Runtime fuses when it loads a graph
// (exact: x / √2 → Erf → + 1 → × x·0.5, into Gelu then BiasGelu with fc1's bias Add; gelu_new:
// Pow(x, 3) → … → Tanh → …, into FastGelu), as it fuses the graph torch.onnx.export writes: the
// export folder's graph stays standard ONNX ops and runs one kernel per layer where it ran five
// or more (issue 19). Checked on the nodes ONNX Runtime's CPU session runs (its profile), for
// the plain forward graph and the KV-cache graph; the logits equal tfjs's (the parity tests in
// export.test.ts cover more).

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { setupBackend } from '@attend/transformer';
import { exportCheckpointFiles } from './export.js';
import { pastName } from './graph-io.js';
import { decodeModel } from './quantize.js';
import { checkpointFiles, forwardOf, makeModel, MAX_LEN, maxAbsDiff, opCounts, randomBatch } from './test-utils/models.js';
import { createOnnxModel } from './node.js';

let dir: string;
beforeAll(async () => {
  await setupBackend(['cpu']);
  dir = await mkdtemp(join(tmpdir(), 'attend-gelu-fusion-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The op types ONNX Runtime's CPU session runs for `bytes` (level 'all', its default), counted: its profile of one run. */
async function executedOps(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, name: string): Promise<Record<string, number>> {
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

// Per activation: the op the standard graph computes it with, and the fused ops ONNX Runtime runs instead.
const CASES = [
  { activation: 'gelu', op: 'Erf', fused: ['BiasGelu', 'Gelu'] },
  { activation: 'gelu_new', op: 'Tanh', fused: ['FastGelu'] },
] as const;

describe("decoder-lm: ONNX Runtime fuses the standard graph's GELU", () => {
  for (const [index, { activation, op, fused: fusedTypes }] of CASES.entries()) for (const kvCache of [false, true]) {
    it(`${activation}, ${kvCache ? 'KV-cache graph (the export folder’s model.onnx)' : 'plain forward graph'}`, async () => {
      const model = makeModel({ preset: 'decoder-lm', activation, numDecoderLayers: 2 }, 4 + index);
      const files = checkpointFiles(model);
      const bytes = exportCheckpointFiles(files, { kvCache });
      const standard = opCounts(bytes);
      expect(decodeModel(bytes).graph.nodes.every((n) => !n.domain)).toBe(true); // standard ONNX ops only
      expect(standard[op]).toBe(2);
      const batch = randomBatch(createRng(9), [MAX_LEN, 4], MAX_LEN);
      const onnx = await createOnnxModel(bytes, { numThreads: 1 });
      const out = await forwardOf(onnx).run({ inputIds: { data: batch.ids, batchSize: 2, seqLen: MAX_LEN }, attentionMask: { data: batch.mask, batchSize: 2, seqLen: MAX_LEN } });
      await onnx.release();
      const B = 2;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(batch.ids, BigInt), [B, MAX_LEN]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(batch.mask, BigInt), [B, MAX_LEN]),
      };
      if (kvCache) {
        feeds['position_ids'] = new ort.Tensor('int64', BigInt64Array.from({ length: B * MAX_LEN }, (_, i) => BigInt(i % MAX_LEN)), [B, MAX_LEN]);
        for (let i = 0; i < 2; i++) for (const part of ['key', 'value'] as const) feeds[pastName(i, part)] = new ort.Tensor('float32', new Float32Array(0), [B, 2, 0, 4]);
      }
      const fused = await executedOps(bytes, feeds, `${activation}-${kvCache ? 'cache' : 'forward'}`);
      expect(fused[op] ?? 0).toBe(0);
      expect(fusedTypes.reduce((n, t) => n + (fused[t] ?? 0), 0)).toBe(2);
      const expected = model.forward(batch);
      expect(maxAbsDiff(out.logits.data, expected.logits.dataSync())).toBeLessThanOrEqual(1e-4);
      model.dispose();
    });
  }
});
