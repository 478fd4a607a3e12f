// ONNX Runtime's kernel time per run from a profiled session's events (enableProfiling), for the
// benches that say where a graph's time goes (bench:infer, int4-models.mjs).

/**
 * Kernel ms per run: each node's median over the profiled runs, summed over the graph and by op
 * type (largest first).
 * @param events the profile file's JSON array
 */
export function kernelTimes(events) {
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const n = byNode.get(e.name) ?? { op: e.args.op_name, us: [] };
    n.us.push(e.dur);
    byNode.set(e.name, n);
  }
  const byOp = {};
  let total = 0;
  for (const { op, us } of byNode.values()) {
    us.sort((a, b) => a - b);
    const median = us[Math.floor(us.length / 2)] / 1000;
    byOp[op] = (byOp[op] ?? 0) + median;
    total += median;
  }
  return { ms: total, byOp: Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1])) };
}
