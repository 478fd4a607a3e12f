// What a step function of either backend returns besides logits: the attention of the token
// each call predicts, under the graph I/O names (`decoder_attentions.l`, `cross_attentions.l`,
// `attentions.l`), so the decoding loop's per-step outputs read the same from tfjs and ONNX.

import type { StepOutputs, StepTensor } from './decoding.js';

/**
 * The per-step outputs of a call with attention: each [B, H, Q, K] attention (a layer's, by
 * its output name) → the last query's row [B, H, K], the attention of the token this call
 * predicts.
 */
export function lastQueryRows(attentions: Readonly<Record<string, StepTensor>>): StepOutputs {
  const out: StepOutputs = {};
  for (const [name, t] of Object.entries(attentions)) {
    const [B, H, Q, K] = t.dims as [number, number, number, number];
    const data = new Float32Array(B * H * K);
    for (let r = 0; r < B * H; r++) data.set(t.data.subarray((r * Q + Q - 1) * K, (r * Q + Q) * K), r * K);
    out[name] = { data, dims: [B, H, K] };
  }
  return out;
}
