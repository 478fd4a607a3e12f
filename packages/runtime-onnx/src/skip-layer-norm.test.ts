// No SkipLayerNormalization in what ONNX Runtime runs of attend's graphs (issue 19): at level
// 'all' ORT fuses an Add whose output only a LayerNormalization reads into com.microsoft
// SkipLayerNormalization when the Add's inputs have the same known shape, and onnxruntime-node
// 1.30's CPU kernel for it takes 2.4× the time of Add + LayerNormalization (see
// bench/results/export-graph-gap.md). The builder takes such norms through a Reshape
// (transformer-graph.ts `sumNorm`): the export folder's KV-cache graph, standard and optimized,
// ran one at its final norm, a post-norm KV-cache graph one per sublayer and at its embedding
// norm. Checked on the nodes ORT's CPU session runs (its profile), with the logits equal to tfjs's.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@attend/core';
import { setupBackend } from '@attend/transformer';
import { exportCheckpointFiles } from './export.js';
import { createOnnxModel } from './node.js';
import { checkpointFiles, forwardOf, makeModel, MAX_LEN, maxAbsDiff, randomBatch } from './test-utils/models.js';
import { executedOps, lmFeeds } from './test-utils/profile.js';

let dir: string;
beforeAll(async () => {
  await setupBackend(['cpu']);
  dir = await mkdtemp(join(tmpdir(), 'attend-skip-layer-norm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// 2 layers: a pre-norm stack has 2 norms per layer and a final one; a post-norm stack 2 per layer, + 1 with embeddingNorm.
const CASES = [
  { name: 'pre-norm, KV-cache graph (the export folder’s model.onnx)', overrides: {}, optimize: false, norms: 5 },
  { name: 'pre-norm, optimized KV-cache graph', overrides: {}, optimize: true, norms: 5 },
  { name: 'post-norm with embedding norm, KV-cache graph', overrides: { norm: 'post', embeddingNorm: true }, optimize: false, norms: 5 },
] as const;

describe('decoder-lm KV-cache graph: ONNX Runtime runs LayerNormalization, not SkipLayerNormalization', () => {
  for (const [index, { name, overrides, optimize, norms }] of CASES.entries()) {
    it(name, async () => {
      const model = makeModel({ preset: 'decoder-lm', ...overrides }, 20 + index);
      const bytes = exportCheckpointFiles(checkpointFiles(model), { kvCache: true, optimize });
      const batch = randomBatch(createRng(11), [MAX_LEN, 6], MAX_LEN);
      const feeds = lmFeeds(batch.ids, batch.mask, 2, MAX_LEN, { layers: 2, heads: 2, headDim: 4 });
      const ops = await executedOps(bytes, feeds, dir, `case-${index}`);
      expect(ops['SkipLayerNormalization'] ?? 0).toBe(0);
      expect(ops['LayerNormalization']).toBe(norms);
      const onnx = await createOnnxModel(bytes, { numThreads: 1 });
      const out = await forwardOf(onnx).run({ inputIds: { data: batch.ids, batchSize: 2, seqLen: MAX_LEN }, attentionMask: { data: batch.mask, batchSize: 2, seqLen: MAX_LEN } });
      await onnx.release();
      const expected = model.forward(batch);
      expect(maxAbsDiff(out.logits.data, expected.logits.dataSync())).toBeLessThanOrEqual(1e-4);
      model.dispose();
    });
  }
});
