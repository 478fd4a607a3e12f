// The standard-ops graph's GELUs are the node chains ONNX Runtime fuses when it loads a graph
// (exact: x / √2 → Erf → + 1 → × x·0.5, into Gelu then BiasGelu with fc1's bias Add; gelu_new:
// Pow(x, 3) → … → Tanh → …, into FastGelu), as it fuses the graph torch.onnx.export writes: the
// export folder's graph stays standard ONNX ops and runs one kernel per layer where it ran five
// or more (issue 19). Checked on the nodes ONNX Runtime's CPU session runs (its profile), for
// the plain forward graph and the KV-cache graph; the logits equal tfjs's (the parity tests in
// export.test.ts cover more).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { setupBackend } from '@attend/transformer';
import { exportCheckpointFiles } from './export.js';
import { decodeModel } from './quantize.js';
import { checkpointFiles, forwardOf, makeModel, MAX_LEN, maxAbsDiff, opCounts, randomBatch } from './test-utils/models.js';
import { executedOps, lmFeeds } from './test-utils/profile.js';
import { createOnnxModel } from './node.js';

let dir: string;
beforeAll(async () => {
  await setupBackend(['cpu']);
  dir = await mkdtemp(join(tmpdir(), 'attend-gelu-fusion-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

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
      const feeds = lmFeeds(batch.ids, batch.mask, 2, MAX_LEN, kvCache ? { layers: 2, heads: 2, headDim: 4 } : undefined);
      const fused = await executedOps(bytes, feeds, dir, `${activation}-${kvCache ? 'cache' : 'forward'}`);
      expect(fused[op] ?? 0).toBe(0);
      expect(fusedTypes.reduce((n, t) => n + (fused[t] ?? 0), 0)).toBe(2);
      const expected = model.forward(batch);
      expect(maxAbsDiff(out.logits.data, expected.logits.dataSync())).toBeLessThanOrEqual(1e-4);
      model.dispose();
    });
  }
});
