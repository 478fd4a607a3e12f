// One decode step of a batch-1 decoder-lm session at a fixed position p, for timing per-token
// latency against the position (bench:infer, bench:kv-cache): the prefix seq[0, p) is run once,
// and the returned function runs token seq[p] against it, as often as it is called.
//   - `inPlace` false: the copying cache graph (past_key_values.* in, present.* out: the whole
//     cache crosses into JavaScript and back every step);
//   - `inPlace` true: the shared-cache graph (kvCache: 'shared'), whose step writes position p
//     into buffers of the capacity generation has there (kv-cache.ts: 32 doubled until p + 1
//     fits, at most maxSeqLen; on onnxruntime-web, the filled positions alone) — each call
//     rewrites position p.

/**
 * @param model a session of the matching graph (createOnnxModel of exportCheckpointFiles with
 *   kvCache true, or 'shared' when `inPlace`)
 * @param shape `{ numHeads, headDim, numLayers, maxSeqLen }` of the model
 * @returns a function that runs the step at position p (and resolves to its outputs)
 */
export async function positionStep(model, seq, p, inPlace, { numHeads: H, headDim: D, numLayers: L, maxSeqLen }) {
  const prefix = { inputIds: { data: Array.from(seq.slice(0, p)), batchSize: 1, seqLen: p } };
  const feeds = { inputIds: { data: [seq[p]], batchSize: 1, seqLen: 1 }, attentionMask: { data: new Array(p + 1).fill(1), batchSize: 1, seqLen: p + 1 } };
  if (!inPlace) {
    const past = (await model.runCached(prefix)).present;
    return () => model.runCached({ ...feeds, past });
  }
  const C = model.inPlace ? Math.min(maxSeqLen, 32 * 2 ** Math.ceil(Math.log2(Math.max(1, (p + 1) / 32)))) : 0;
  const buffer = () => ({ data: new Float32Array(H * C * D), dims: [1, H, C, D] });
  const empty = Array.from({ length: L }, () => ({ key: buffer(), value: buffer() }));
  const filled = (await model.runSharedCache(prefix, empty, 0)).cache;
  return () => model.runSharedCache(feeds, filled, p);
}
