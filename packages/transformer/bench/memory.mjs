// Calibrates core's training-memory estimate (packages/core/src/memory.ts): trains a few models
// for 2 steps each, every one in a fresh process (the wasm heap never shrinks), and prints the
// peak wasm heap and RSS next to core's estimate without its overhead factor. The largest
// ratio heap / counted bytes is what TFJS_MEMORY_OVERHEAD should be at least.
//
//   node packages/transformer/bench/memory.mjs [--only N]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { args, flag } from './common.mjs';

const CASES = [
  { preset: 'decoder-lm', dModel: 128, layers: 4, context: 64, batchSize: 16 },
  { preset: 'decoder-lm', dModel: 128, layers: 4, context: 128, batchSize: 16 },
  { preset: 'decoder-lm', dModel: 128, layers: 4, context: 256, batchSize: 4 },
  { preset: 'decoder-lm', dModel: 128, layers: 4, context: 256, batchSize: 8 },
  { preset: 'decoder-lm', dModel: 128, layers: 4, context: 256, batchSize: 16 },
  { preset: 'decoder-lm', dModel: 256, layers: 2, context: 64, batchSize: 8 },
  { preset: 'encoder-decoder', dModel: 64, layers: 2, context: 12, source: 40, batchSize: 64 },
  { preset: 'encoder-decoder', dModel: 128, layers: 2, context: 64, source: 64, batchSize: 32 },
  // nanoGPT's Shakespeare model (6 × 384, 6 heads, dropout 0.2) in micro-batches of 1, 2 and 4.
  { preset: 'decoder-lm', dModel: 384, layers: 6, heads: 6, dropout: 0.2, context: 256, batchSize: 1 },
  { preset: 'decoder-lm', dModel: 384, layers: 6, heads: 6, dropout: 0.2, context: 256, batchSize: 2 },
  { preset: 'decoder-lm', dModel: 384, layers: 6, heads: 6, dropout: 0.2, context: 256, batchSize: 4 },
];
const VOCAB = 65;

if (args[0] === '--child') {
  const c = JSON.parse(args[1]);
  const tf = await import('@tensorflow/tfjs-core');
  const { createModelConfig, trainingMemory, TFJS_MEMORY_OVERHEAD, TFJS_BASE_BYTES } = await import('@attend/core');
  const { createModel, lmTask, seq2seqTask, setupBackend, train } = await import('@attend/transformer');
  const { CharTokenizer } = await import('@attend/core');
  await setupBackend();
  const heap = () => tf.backend().wasm.HEAPU8.length;
  const before = heap();
  const source = c.source ?? c.context;
  const layers = c.preset === 'decoder-lm' ? { numDecoderLayers: c.layers } : { numEncoderLayers: c.layers, numDecoderLayers: c.layers };
  const config = createModelConfig({ preset: c.preset, vocabSize: VOCAB, dModel: c.dModel, numHeads: c.heads ?? 4, dFf: 4 * c.dModel, maxSeqLen: Math.max(c.context, source) + 4, dropout: c.dropout ?? 0, ...layers });
  const model = createModel(config, { seed: 1 });
  let nextBatch;
  if (c.preset === 'decoder-lm') {
    const ids = Int32Array.from({ length: 20_000 }, (_, i) => 4 + ((i * 7919) % (VOCAB - 4)));
    nextBatch = lmTask(ids, ids.subarray(0, 2000), { batchSize: c.batchSize, contextLength: c.context, seed: 1 }).nextBatch;
  } else {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const word = (n, k) => Array.from({ length: n }, (_, i) => letters[(k * 31 + i * 7) % 26]).join('');
    const pairs = Array.from({ length: 500 }, (_, k) => ({ source: word(source - 2, k), target: word(c.context - 1, k + 1) }));
    const tokenizer = CharTokenizer.fromAlphabet(letters);
    nextBatch = seq2seqTask(pairs, pairs.slice(0, 10), tokenizer, { batchSize: c.batchSize, seed: 1, maxSrcLen: source, maxTgtLen: c.context }).nextBatch;
  }
  const start = performance.now();
  await train(model, nextBatch, { steps: 2, learningRate: 1e-3, evalEvery: 1000 });
  const estimate = trainingMemory(config, { batchSize: c.batchSize, context: c.context, source });
  const counted = (estimate.bytes - TFJS_BASE_BYTES) / TFJS_MEMORY_OVERHEAD;
  console.log(JSON.stringify({ ...c, heapBeforeMiB: before / 2 ** 20, heapMiB: heap() / 2 ** 20, rssMiB: process.resourceUsage().maxRSS / 1024, countedMiB: counted / 2 ** 20, estimateMiB: estimate.bytes / 2 ** 20, ratio: (heap() - before) / counted, seconds: (performance.now() - start) / 1000 }));
  process.exit(0);
}

const only = flag('only', -1);
console.log('preset            d  L  ctx src  B | counted MiB | heap MiB (before) | RSS MiB | heap/counted | estimate MiB');
for (const [i, c] of CASES.entries()) {
  if (only >= 0 && i !== only) continue;
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(c)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`${JSON.stringify(c)} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    continue;
  }
  const m = JSON.parse(r.stdout.trim().split('\n').at(-1));
  console.log(
    `${m.preset.padEnd(16)} ${String(m.dModel).padStart(3)} ${m.layers}  ${String(m.context).padStart(3)} ${String(m.source ?? m.context).padStart(3)} ${String(m.batchSize).padStart(3)} | ${m.countedMiB.toFixed(0).padStart(11)} | ${m.heapMiB.toFixed(0).padStart(8)} (${m.heapBeforeMiB.toFixed(0)}) | ${m.rssMiB.toFixed(0).padStart(7)} | ${m.ratio.toFixed(2).padStart(12)} | ${m.estimateMiB.toFixed(0)}`,
  );
}
