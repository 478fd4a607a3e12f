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
import { imageSeqLen, modelTask, argmax, configAs, createRng, hasTokens, logitsOf, type ImageModelConfig, type ModelConfig, type StepFunction, type TokenFields, type TokenModelConfig, type VitClassifierConfig } from '@attend/core';
import type { ExportSessions } from '@attend/runtime-onnx';
import { EXPORT_FILES } from '@attend/runtime-onnx';
import { folderKind } from '../model-folder.js';
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

/** Median and fastest ms of `fn` after 2 warm-up calls, over ≥ 5 calls and ≥ `seconds`. */
async function timeMs(fn: () => Promise<unknown> | unknown, seconds: number): Promise<{ median: number; min: number }> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start < seconds * 1000 && samples.length < 1000)) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]! };
}

/** Median ms of `fn` (see timeMs). */
async function medianMs(fn: () => Promise<unknown> | unknown, seconds: number): Promise<number> {
  return (await timeMs(fn, seconds)).median;
}

/** What an image model runs over per image: a ViT's patches + CLS, a glimpse-classifier's glimpses. */
function imageSteps(config: ImageModelConfig): string {
  return 'numGlimpses' in config ? `${config.numGlimpses} glimpses` : `${imageSeqLen(config) - 1} patches + CLS`;
}

/** `count` random images [C, S, S] with raw values in [0, 1 / pixelScale] (an image model). */
function randomImages(config: ImageModelConfig, count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const top = 1 / config.pixelScale;
  return Float32Array.from({ length: count * config.numChannels * config.imageSize ** 2 }, () => rng.next() * top);
}

function randomIds(config: TokenFields, n: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const first = config.vocabSize > 8 ? 4 : 0;
  return Int32Array.from({ length: n }, () => first + rng.int(config.vocabSize - first));
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

interface Row {
  runtime: string;
  forwardMs: number;
  /** The fastest forward call: far below the median when some calls stall (GC, a busy machine). */
  forwardMinMs: number;
  /** Forward passes per second × what one counts (see `throughputUnit`). */
  throughput: number;
  decodeMs?: number;
}

/** Forward and cached-decode timings of the export in `dir` under one runtime configuration. */
async function benchExport(dir: string, options: { device: InferDevice; numThreads?: number }, n: number, o: BenchCommandOptions): Promise<Omit<Row, 'runtime' | 'throughput'>> {
  const rt = await import('@attend/runtime-onnx');
  const { device, ...session } = options;
  const { config, sessions, release } = (await openExportOn(dir, device, session)).opened;
  try {
    return await benchSessions(rt, config, sessions, n, o);
  } finally {
    await release();
  }
}

/** The timings of `benchExport` over opened sessions. */
async function benchSessions(rt: typeof import('@attend/runtime-onnx'), config: ModelConfig, sessions: ExportSessions, n: number, o: BenchCommandOptions): Promise<Omit<Row, 'runtime' | 'throughput'>> {
  const ids = hasTokens(config) ? randomIds(config, n, 1) : new Int32Array(n); // a vit-classifier times images instead
  const tokens = { data: ids, batchSize: 1, seqLen: n };
  if (config.preset === 'rnn-seq2seq' && 'encoder' in sessions) {
    // Forward: the encoder, then the decoder-step graph over the n target tokens (teacher forcing).
    const target = Int32Array.from(ids, (x, i) => (i === 0 ? config.bosTokenId : x));
    const source = { ids, batchSize: 1, seqLen: n };
    const { median: forwardMs, min: forwardMinMs } = await timeMs(async () => {
      await rt.runRnnDecoder(sessions.decoder, await rt.encodeRnnSource(sessions.encoder, source), { data: target, batchSize: 1, seqLen: n });
    }, o.seconds);
    const memory = await rt.encodeRnnSource(sessions.encoder, source);
    const decodeMs = await cachedDecodeMs(() => rt.onnxRnnStepFunction(sessions.decoder, memory), config, Math.min(16, config.maxSeqLen - 1), o.seconds);
    return { forwardMs, forwardMinMs, decodeMs };
  }
  if ('encoder' in sessions) {
    const seq2seq = configAs(config, ['encoder-decoder'], 'bench');
    const target = Int32Array.from(ids, (x, i) => (i === 0 ? seq2seq.bosTokenId : x));
    const { median: forwardMs, min: forwardMinMs } = await timeMs(async () => {
      const { lastHiddenState } = await sessions.encoder.encode({ inputIds: tokens });
      await sessions.decoder.runSeq2SeqDecoder({ inputIds: { data: target, batchSize: 1, seqLen: n }, encoderHiddenStates: lastHiddenState });
    }, o.seconds);
    const memory = await rt.encodeSource(sessions.encoder, { ids, batchSize: 1, seqLen: n });
    const decodeMs = await cachedDecodeMs(() => rt.onnxSeq2SeqStepFunction(sessions.decoder, memory), seq2seq, Math.min(16, config.maxSeqLen - 1), o.seconds);
    return { forwardMs, forwardMinMs, decodeMs };
  }
  const model = sessions.model;
  if (!hasTokens(config)) {
    const image = randomImages(config, 1, 1);
    const { median: forwardMs, min: forwardMinMs } = await timeMs(() => model.runImages(image, 1), o.seconds);
    return { forwardMs, forwardMinMs };
  }
  const { median: forwardMs, min: forwardMinMs } = await timeMs(() => model.run({ inputIds: tokens }), o.seconds);
  if (config.preset === 'encoder-classifier') return { forwardMs, forwardMinMs };
  const prompt = Array.from(ids.subarray(0, Math.min(8, n)));
  const decodeMs = await cachedDecodeMs(() => rt.onnxStepFunction(model, { prompts: [prompt] }), config, Math.min(16, config.maxSeqLen - prompt.length), o.seconds);
  return { forwardMs, forwardMinMs, decodeMs };
}

/**
 * Per-token latency of cached decoding: a fresh step function runs its first call (the prompt),
 * then `steps` calls of one new token each (greedy, eos not stopping); the median of the mean
 * time of those one-token calls.
 */
async function cachedDecodeMs(
  makeStep: () => StepFunction,
  config: TokenModelConfig,
  steps: number,
  seconds: number,
): Promise<number | undefined> {
  if (steps < 2) return undefined;
  const perToken: number[] = [];
  const parents = Int32Array.of(0);
  await medianMs(async () => {
    const step = makeStep();
    const tokens = [config.bosTokenId];
    let logits = logitsOf(await step(Int32Array.from(tokens), 1, 1, { parents }));
    const start = performance.now();
    for (let i = 0; i < steps; i++) {
      tokens.push(argmax(logits, 0, config.vocabSize));
      logits = logitsOf(await step(Int32Array.from(tokens), 1, tokens.length, { parents }));
    }
    perToken.push((performance.now() - start) / steps);
  }, seconds);
  perToken.sort((a, b) => a - b);
  return perToken[Math.floor(perToken.length / 2)];
}

async function benchCheckpoint(dir: string, o: BenchCommandOptions): Promise<void> {
  const { imageTrainBatch, loadCheckpoint, setupBackend, train } = await import('@attend/transformer');
  const backend = await setupBackend();
  const { model, config } = await loadCheckpoint(dir);
  try {
    const vit = !hasTokens(config);
    const n = vit ? imageSeqLen(config) : Math.min(o.tokens ?? 32, config.maxSeqLen - 1);
    const B = o.batchSize;
    const rng = createRng(7);
    const batch = () => {
      if (vit) return imageTrainBatch(randomImages(config, B, rng.int(1 << 30)), Int32Array.from({ length: B }, () => rng.int(config.numClasses)), config);
      const rows = randomIds(config, B * n, rng.int(1 << 30));
      const input = { ids: rows, batchSize: B, seqLen: n };
      if (config.preset === 'encoder-classifier') return { input, labels: Int32Array.from({ length: B }, () => rng.int(config.numClasses)) };
      const labels = randomIds(config, B * n, rng.int(1 << 30));
      if (config.preset === 'decoder-lm') return { input, labels };
      return { input, target: { ids: randomIds(config, B * n, rng.int(1 << 30)), batchSize: B, seqLen: n }, labels };
    };
    const seq2seq = modelTask(config) === 'translation';
    const { unit, perSequence } = throughputUnit(config);
    await train(model, batch, { steps: 2, learningRate: 1e-4, logEvery: 1000 }); // warm-up: kernels, optimizer state
    const start = performance.now();
    await train(model, batch, { steps: o.trainSteps, learningRate: 1e-4, logEvery: 1000 });
    const seconds = (performance.now() - start) / 1000;
    const one = vit ? imageTrainBatch(randomImages(config, 1, 3), new Int32Array(1), config).input : { ids: randomIds(config, n, 3), batchSize: 1, seqLen: n };
    const forwardMs = await medianMs(() => {
      const { logits } = model.forward(one, seq2seq && !vit ? one : undefined);
      logits.dataSync();
      logits.dispose();
    }, o.seconds);
    const training = (o.trainSteps * B * perSequence(n)) / seconds;
    const forward = (1000 * perSequence(n)) / forwardMs;
    const shape = vit ? `${B} images (${imageSteps(config)})` : `${B} × ${n} tokens${seq2seq ? ' (source and target each)' : ''}`;
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
  const n = vit ? imageSeqLen(config) : Math.min(o.tokens ?? 32, config.maxSeqLen - (modelTask(config) === 'text-classification' ? 0 : 1));
  const seq2seq = modelTask(config) === 'translation';
  const what = vit ? `1 image (${imageSteps(config)})` : `1 × ${n} tokens${seq2seq ? ` (source and target each)` : ''}`;
  const { unit, perSequence } = throughputUnit(config);
  const rows: Row[] = [];
  for (const [runtime, options] of [
    ['onnxruntime-node cpu, 1 thread', { device: 'cpu', numThreads: 1 }],
    ['onnxruntime-node cpu, 2 threads', { device: 'cpu', numThreads: 2 }],
    ['onnxruntime-web wasm', { device: 'wasm' }],
  ] as const) {
    const timed = await benchExport(dir, options, n, o);
    rows.push({ runtime, ...timed, throughput: (1000 * perSequence(n)) / timed.forwardMs });
  }
  // Cached decoding makes one token per step: generated tokens/s (an encoder–decoder's: target tokens).
  const generated = seq2seq ? 'generated target tokens/s' : 'generated tokens/s';
  if (o.json) {
    console.log(JSON.stringify({
      folder: dir, kind: 'export', preset: config.preset, forward: { batchSize: 1, ...(vit ? { images: 1 } : { tokens: n }) }, unit,
      rows: rows.map((r) => ({ runtime: r.runtime, forwardMs: r.forwardMs, fastestMs: r.forwardMinMs, throughput: r.throughput, ...(r.decodeMs === undefined ? {} : { decodeMsPerToken: r.decodeMs, generatedTokensPerSecond: 1000 / r.decodeMs }) })),
    }));
    return;
  }
  console.log(`export ${dir}: ${config.preset}, forward of ${what}`);
  const decodes = rows.some((r) => r.decodeMs !== undefined);
  const table = new Table({
    head: ['runtime', 'forward ms', 'fastest ms', unit, ...(decodes ? ['decode ms/token (KV cache)', generated] : [])],
    style: { head: [], border: [] },
    chars: COMPACT,
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const r of rows) {
    const decode = r.decodeMs === undefined ? ['–', '–'] : [r.decodeMs.toFixed(3), Math.round(1000 / r.decodeMs).toLocaleString('en-US')];
    table.push([r.runtime, r.forwardMs.toFixed(3), r.forwardMinMs.toFixed(3), Math.round(r.throughput).toLocaleString('en-US'), ...(decodes ? decode : [])]);
  }
  console.log(table.toString());
  console.log(`forward ms and ${unit}: medians of the forward pass (${seq2seq ? 'encoder, then the decoder over the target: source and target tokens both counted' : what}); fastest: the quickest call${decodes ? `; decode: median per-token time of 16 cached steps, and the ${generated} it gives` : ''}`);
}
