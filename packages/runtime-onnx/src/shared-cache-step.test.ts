// What ONNX Runtime's CPU session runs for one decode step of the shared-cache graph (issue 19
// §2: at one new token a step is mostly ONNX Runtime's per-node and per-output overhead): per
// sublayer one SkipLayerNormalization for the Linear's bias, the residual Add and the next
// LayerNorm; the new keys and values as GroupQueryAttention's inputs in one Concat (no Slice of
// the present buffers); GroupQueryAttention's lengths from two Shape nodes; the attention bias
// the padding alone (GroupQueryAttention is causal by itself), not expanded to the heads; without
// RoPE, Q, K and V packed (no Split).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '@attend/transformer';
import { exportCheckpointFiles } from './export.js';
import { pastName } from './graph-io.js';
import { executedOps } from './test-utils/profile.js';
import { checkpointFiles, makeModel, MAX_LEN } from './test-utils/models.js';

const L = 3;
const H = 2;
const D = 8;
const P = 4;
let dir: string;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-shared-step-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Feeds of one decode step after `P` cached positions, buffers of MAX_LEN positions. */
function stepFeeds(): Record<string, ort.Tensor> {
  const int64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), [1, xs.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: int64([5]), attention_mask: int64(new Array(P + 1).fill(1)), position_ids: int64([P]) };
  for (let i = 0; i < L; i++) for (const part of ['key', 'value'] as const) feeds[pastName(i, part)] = new ort.Tensor('float32', new Float32Array(H * MAX_LEN * D), [1, H, MAX_LEN, D]);
  return feeds;
}

describe('shared-cache graph: one decode step', () => {
  it.each(['learned', 'rope'] as const)('pre-norm (%s positions): SkipLayerNormalization per sublayer, no Slice, one Concat for the new keys and values', async (positional) => {
    const model = makeModel({ preset: 'decoder-lm', dModel: H * D, numHeads: H, dFf: 32, numDecoderLayers: L, positional, attention: 'scaled_dot' }, 5);
    const bytes = exportCheckpointFiles(checkpointFiles(model), { kvCache: 'shared' });
    model.dispose();
    const ops = await executedOps(bytes, stepFeeds(), dir, `step-${positional}`);
    expect(ops.SkipLayerNormalization).toBe(2 * L);
    expect(ops.LayerNormalization).toBe(1); // the first layer's
    expect(ops.Slice).toBeUndefined();
    expect(ops.Concat).toBe(2); // the new keys and values, and the attention bias's shape
    expect(ops.Shape).toBe(3); // B and P + T for GroupQueryAttention, T for its attention bias
    expect(ops.Expand).toBe(2); // seqlens_k to B rows, the padding bias to [B, 1, T, K] (not to the heads)
    // GroupQueryAttention is causal by itself: the bias is the padding alone (no positions from
    // the mask's CumSum, no causal comparison).
    expect(ops.CumSum).toBeUndefined();
    expect(ops.GreaterOrEqual).toBeUndefined();
    expect(ops.And).toBeUndefined();
    expect(ops.Where).toBe(1);
    expect(ops.GroupQueryAttention).toBe(L);
    expect(ops.Split).toBe(positional === 'rope' ? L : undefined); // without RoPE GroupQueryAttention takes Q, K and V packed
    // The Q/K/V bias per layer, and the learned positions' embedding Add: no residual Adds, no out_proj or fc2 bias Adds.
    expect(ops.Add).toBe(L + (positional === 'learned' ? 1 : 0));
  });
});
