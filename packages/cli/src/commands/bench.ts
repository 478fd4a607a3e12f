// `attend bench`: measures a model folder on this machine and prints a table.
//   export folder: forward latency of one sequence (batch 1, n tokens; vit: one image) and tokens/s on
//     onnxruntime-node with 1 and 2 threads and onnxruntime-web (wasm, in Node); for the LM and
//     the encoder–decoder also the per-token decode latency with the KV cache (the GRU
//     encoder–decoder: with its recurrent state; its forward is the encoder plus the decoder
//     step graph over the target, one token at a time).
//   checkpoint: training throughput (tokens/s) of a few optimizer steps on random batches with
//     tfjs, and the tfjs forward latency of one sequence.
// Each figure is the median over repeated calls after warm-up calls (and, for the forward pass
// of an export, also the fastest call, which shows when stalls inflate the median).
// Every throughput names what it counts (`throughputUnit`): source + target tokens for an
// encoder–decoder's forward (teacher forcing), tokens for an LM's forward and generated tokens
// for its cached decoding (an encoder–decoder's: generated target tokens), sequences for a text
// classifier, images for a vit-classifier. --json prints the same figures as one object.

import Table from 'cli-table3';
import { modelTask, createRng, hasTokens, imagePositions, type ModelConfig } from '@attend/core';
import { EXPORT_FILES } from '@attend/runtime-onnx';
import { folderKind } from '../model-folder.js';
import { imagesRead, medianMs, randomIds, randomImages } from '../models/bench.js';
import type { ExportTimings } from '../models/kind.js';
import { cliKind } from '../models/registry.js';
import { openExportOn, type InferDevice } from '../runner.js';

export interface BenchCommandOptions {
  /** Print one JSON object instead of the table. */
  json?: boolean;
  /** Tokens per sequence; default min(32, maxSeqLen). */
  tokens?: number;
  /** Seconds each measurement runs at least. */
  seconds: number;
  /** Optimizer steps timed (checkpoints). */
  trainSteps: number;
  batchSize: number;
}

/** Table borders without a rule between rows. */
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** What one forward pass over a sequence of n tokens (or one image) counts, and its unit. */
export interface ThroughputUnit {
  /** e.g. 'source + target tokens/s', 'images/s'. */
  unit: string;
  /** Items one sequence (or image) of n tokens counts. */
  perSequence: (n: number) => number;
}

/**
 * The unit a throughput of `config`'s model is measured in: an encoder–decoder runs n source
 * and n target tokens (both counted); an LM n tokens; a classifier one sequence; a ViT one image.
 */
export function throughputUnit(config: ModelConfig): ThroughputUnit {
  const task = modelTask(config);
  if (task === 'translation') return { unit: 'source + target tokens/s', perSequence: (n) => 2 * n };
  if (task === 'text-generation') return { unit: 'tokens/s', perSequence: (n) => n };
  if (task === 'text-classification') return { unit: 'sequences/s', perSequence: () => 1 };
  return { unit: 'images/s', perSequence: () => 1 };
}

interface Row extends ExportTimings {
  runtime: string;
  /** A language model's KV-cache graph file (which the decode figure times). */
  kvCache?: string;
  /** Forward passes per second × what one counts (see `throughputUnit`). */
  throughput: number;
}

/**
 * Forward and cached-decode timings of the export in `dir` under one runtime configuration, and
 * the KV-cache graph a language model generates with there (`kvCache`).
 */
async function benchExport(dir: string, options: { device: InferDevice; numThreads?: number }, n: number, o: BenchCommandOptions): Promise<ExportTimings & { kvCache?: { file: string; inPlace: boolean } }> {
  const rt = await import('@attend/runtime-onnx');
  const { device, ...session } = options;
  const { opened, kvCache } = await openExportOn(dir, device, session);
  const { config, sessions, release } = opened;
  try {
    const ids = hasTokens(config) ? randomIds(config, n, 1) : new Int32Array(n); // a vit-classifier times images instead
    return { ...(await cliKind(config).bench.export(rt, config, sessions, ids, o.seconds)), ...(kvCache ? { kvCache } : {}) };
  } finally {
    await release();
  }
}

async function benchCheckpoint(dir: string, o: BenchCommandOptions): Promise<void> {
  const t = await import('@attend/transformer');
  const { imageTrainBatch, loadCheckpoint, setupBackend, train } = t;
  const backend = await setupBackend();
  const { model, config } = await loadCheckpoint(dir);
  try {
    const vit = !hasTokens(config);
    const n = vit ? imagePositions(config) : Math.min(o.tokens ?? 32, config.maxSeqLen - 1);
    const B = o.batchSize;
    const rng = createRng(7);
    const batch = () => cliKind(config).bench.trainBatch(t, config, B, n, rng);
    const seq2seq = modelTask(config) === 'translation';
    const { unit, perSequence } = throughputUnit(config);
    await train(model, batch, { steps: 2, learningRate: 1e-4, logEvery: 1000 }); // warm-up: kernels, optimizer state
    const start = performance.now();
    await train(model, batch, { steps: o.trainSteps, learningRate: 1e-4, logEvery: 1000 });
    const seconds = (performance.now() - start) / 1000;
    const one = vit ? imageTrainBatch(randomImages(config, 1, 3), new Int32Array(1), config).input : { ids: randomIds(config, n, 3), batchSize: 1, seqLen: n };
    // A captioner reads one scene and writes n words: the kind's own batch of one.
    const captioned = modelTask(config) === 'image-to-text' ? cliKind(config).bench.trainBatch(t, config, 1, n, createRng(3)) : undefined;
    const forwardMs = await medianMs(() => {
      const { logits } = captioned ? model.forward(captioned.input, captioned.target) : model.forward(one, seq2seq && !vit ? one : undefined);
      logits.dataSync();
      logits.dispose();
    }, o.seconds);
    const training = (o.trainSteps * B * perSequence(n)) / seconds;
    const forward = (1000 * perSequence(n)) / forwardMs;
    const shape = vit ? imagesRead(config, B) : `${B} × ${n} tokens${seq2seq ? ' (source and target each)' : ''}`;
    if (o.json) {
      console.log(JSON.stringify({
        folder: dir, kind: 'checkpoint', preset: config.preset, parameters: model.parameterCount(), runtime: `tfjs ${backend.name}`, unit,
        training: { batchSize: B, tokens: n, steps: o.trainSteps, msPerStep: (1000 * seconds) / o.trainSteps, throughput: training },
        forward: { batchSize: 1, tokens: n, ms: forwardMs, throughput: forward },
      }));
      return;
    }
    console.log(`checkpoint ${dir}: ${config.preset}, ${model.parameterCount().toLocaleString('en-US')} parameters, tfjs ${backend.name}`);
    const table = new Table({ head: ['measurement', 'value'], style: { head: [], border: [] }, chars: COMPACT });
    const rate = (x: number) => `${Math.round(x).toLocaleString('en-US')} ${unit}`;
    table.push(
      [`training, batch ${shape}`, `${rate(training)} (${((1000 * seconds) / o.trainSteps).toFixed(1)} ms/step over ${o.trainSteps} steps)`],
      [`forward, ${vit ? '1 image' : `1 × ${n} tokens`}`, `${forwardMs.toFixed(2)} ms (${rate(forward)})`],
    );
    console.log(table.toString());
  } finally {
    model.dispose();
  }
}

export async function benchCommand(dir: string, o: BenchCommandOptions): Promise<void> {
  if ((await folderKind(dir)) === 'checkpoint') return benchCheckpoint(dir, o);
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { readFolderConfig } = await import('@attend/runtime-onnx');
  const configPath = join(dir, EXPORT_FILES.config);
  const config = readFolderConfig(new Uint8Array(await readFile(configPath)), configPath);
  const vit = !hasTokens(config);
  const n = vit ? imagePositions(config) : Math.min(o.tokens ?? 32, config.maxSeqLen - (modelTask(config) === 'text-classification' ? 0 : 1));
  const seq2seq = modelTask(config) === 'translation';
  const what = vit ? imagesRead(config, 1) : `1 × ${n} tokens${seq2seq ? ` (source and target each)` : ''}`;
  const { unit, perSequence } = throughputUnit(config);
  const rows: Row[] = [];
  for (const [runtime, options] of [
    ['onnxruntime-node cpu, 1 thread', { device: 'cpu', numThreads: 1 }],
    ['onnxruntime-node cpu, 2 threads', { device: 'cpu', numThreads: 2 }],
    ['onnxruntime-web wasm', { device: 'wasm' }],
  ] as const) {
    const { kvCache, ...timed } = await benchExport(dir, options, n, o);
    // The label names the in-place KV-cache graph where it generates, as `generate --json`'s runtime does.
    rows.push({ runtime: `${runtime}${kvCache?.inPlace ? ' (in-place KV cache)' : ''}`, ...(kvCache ? { kvCache: kvCache.file } : {}), ...timed, throughput: (1000 * perSequence(n)) / timed.forwardMs });
  }
  // Cached decoding makes one token per step: generated tokens/s (an encoder–decoder's: target tokens).
  const generated = seq2seq ? 'generated target tokens/s' : 'generated tokens/s';
  if (o.json) {
    console.log(JSON.stringify({
      folder: dir, kind: 'export', preset: config.preset, forward: { batchSize: 1, ...(vit ? { images: 1 } : { tokens: n }) }, unit,
      rows: rows.map((r) => ({ runtime: r.runtime, ...(r.kvCache ? { kvCache: r.kvCache } : {}), forwardMs: r.forwardMs, fastestMs: r.forwardMinMs, throughput: r.throughput, ...(r.decodeMs === undefined ? {} : { decodeMsPerToken: r.decodeMs, generatedTokensPerSecond: 1000 / r.decodeMs }), ...(r.captionMs === undefined ? {} : { msPerCaption: r.captionMs }) })),
    }));
    return;
  }
  console.log(`export ${dir}: ${config.preset}, forward of ${what}`);
  const decodes = rows.some((r) => r.decodeMs !== undefined);
  const captions = rows.some((r) => r.captionMs !== undefined);
  const table = new Table({
    head: ['runtime', 'forward ms', 'fastest ms', unit, ...(decodes ? ['decode ms/token (KV cache)', generated] : []), ...(captions ? ['ms per caption (greedy)'] : [])],
    style: { head: [], border: [] },
    chars: COMPACT,
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const r of rows) {
    const decode = r.decodeMs === undefined ? ['–', '–'] : [r.decodeMs.toFixed(3), Math.round(1000 / r.decodeMs).toLocaleString('en-US')];
    table.push([r.runtime, r.forwardMs.toFixed(3), r.forwardMinMs.toFixed(3), Math.round(r.throughput).toLocaleString('en-US'), ...(decodes ? decode : []), ...(captions ? [r.captionMs?.toFixed(3) ?? '–'] : [])]);
  }
  console.log(table.toString());
  console.log(`forward ms and ${unit}: medians of the forward pass (${seq2seq ? 'encoder, then the decoder over the target: source and target tokens both counted' : what}); fastest: the quickest call${decodes ? `; decode: median per-token time of 16 cached steps, and the ${generated} it gives` : ''}${captions ? '; a caption: median time of one greedy caption of one random scene, up to maxSeqLen − 1 words' : ''}`);
}
