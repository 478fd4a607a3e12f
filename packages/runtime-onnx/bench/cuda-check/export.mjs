#!/usr/bin/env node
// CUDA check, part 1 (runs here, with Node): exports a tiny export folder of every model kind
// (random, visibly non-uniform weights) into one new folder, runs each through the library's own
// paths on onnxruntime-node's CPU provider (generate with a padded batch, translate, translateRnn,
// classify, classifyImages) and records the first calls of every graph — the inputs and the
// outputs — as .npy files with a manifest. `run_cuda.py`, copied beside them, replays those calls
// with onnxruntime's CUDA execution provider on a machine with an NVIDIA GPU (Python, no Node) and
// compares. See README.md here.
//   node packages/runtime-onnx/bench/cuda-check/export.mjs <new folder>   (build first)

import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharTokenizer, createModelConfig, createRng, hasTokens, pickFields } from '@attend/core';
import { createModel, serializeCheckpoint, setupBackend } from '@attend/transformer';
import { classify, classifyImages, exportFolderFiles, generate, OnnxModel, translate, translateRnn } from '../../dist/node.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Calls recorded per graph: the prompt (empty past) and the first decode steps. */
const CALLS_PER_GRAPH = 3;

const usage = 'usage: node packages/runtime-onnx/bench/cuda-check/export.mjs <new folder>';
const outArg = process.argv[2];
if (!outArg || process.argv.length > 3) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}
const out = resolve(outArg);
if (existsSync(out)) {
  process.stderr.write(`${outArg}: already exists; name a new folder (nothing is written into an existing one)\n`);
  process.exit(2);
}

// ---- .npy (format 1.0): what numpy.load reads ----------------------------------------------------

const NPY_DTYPES = { float32: '<f4', int64: '<i8', int32: '<i4', bool: '|b1' };

/** An ORT tensor as .npy bytes (C order). */
function npy(tensor) {
  const descr = NPY_DTYPES[tensor.type];
  if (!descr) throw new Error(`cuda-check: no .npy dtype for ORT type ${tensor.type}`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // magic + header length: a multiple of 64
  const prefix = new Uint8Array(10);
  prefix.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(prefix.buffer).setUint16(8, header.length, true);
  const data = tensor.data;
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([prefix, new TextEncoder().encode(header), body]);
}

// ---- recording sessions ----------------------------------------------------------------------------

/** onnxruntime-node whose sessions remember their first CALLS_PER_GRAPH runs (feeds and results) in `calls`. */
function recordingOrt(calls) {
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(bytes, options) {
        const session = await ort.InferenceSession.create(bytes, options);
        const recorded = [];
        calls.push(recorded);
        return new Proxy(session, {
          get(target, prop) {
            if (prop !== 'run') {
              const value = Reflect.get(target, prop, target);
              return typeof value === 'function' ? value.bind(target) : value;
            }
            return async (feeds, ...rest) => {
              const results = await target.run(feeds, ...rest);
              if (recorded.length < CALLS_PER_GRAPH) recorded.push({ feeds, results });
              return results;
            };
          },
        });
      },
    },
  };
}

// ---- tiny models of every kind -------------------------------------------------------------------

const tokenizer = CharTokenizer.fromAlphabet('abcdefgh');
const SHARED = { vocabSize: tokenizer.vocabSize, numClasses: 3, dModel: 16, numHeads: 2, numEncoderLayers: 2, numDecoderLayers: 2, dFf: 32, maxSeqLen: 16, dropout: 0 };

/** The export folder files of a `preset` model with `overrides`, weights N(0, 0.4²) (layer-norm scales around 1). */
function folderFiles(preset, overrides, seed) {
  const config = createModelConfig({ ...pickFields(preset, SHARED), ...overrides, preset });
  const model = createModel(config, { seed });
  const rng = createRng(100 + seed);
  for (const { name, variable } of model.namedParams()) {
    const offset = /layer_norm\.weight$/.test(name) ? 1 : /logit_scale$/.test(name) ? Math.log(4) : 0;
    tf.tidy(() => variable.assign(tf.tensor(Float32Array.from({ length: variable.size }, () => offset + 0.4 * rng.normal()), variable.shape, 'float32')));
  }
  const files = exportFolderFiles(serializeCheckpoint({ model, ...(hasTokens(config) ? { tokenizer: tokenizer.toJSON() } : {}) }), { withAttention: true });
  model.dispose();
  return files;
}

/** `count` single-channel S×S images of visibly varied values. */
const images = (count, S) => Float32Array.from({ length: count * S * S }, (_, i) => (i * 7) % 17);

const prompts = ['abc', 'hgfedcb'].map((s) => [1, ...tokenizer.encode(s)]);
const source = (texts) => {
  const rows = texts.map((s) => tokenizer.encode(s));
  const seqLen = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * seqLen);
  rows.forEach((r, b) => ids.set(r, b * seqLen));
  return { ids, batchSize: rows.length, seqLen, lengths: rows.map((r) => r.length) };
};

/** Each case: a name, its folder's files, and how the library runs it (graph file → OnnxModel). */
const CASES = [
  { name: 'decoder-lm', files: () => folderFiles('decoder-lm', {}, 1), run: (m) => generate(m['onnx/model.onnx'], { prompts, maxNewTokens: 6 }) },
  { name: 'decoder-lm-rope', files: () => folderFiles('decoder-lm', { positional: 'rope' }, 2), run: (m) => generate(m['onnx/model.onnx'], { prompts, maxNewTokens: 6 }) },
  { name: 'decoder-lm-alibi-local', files: () => folderFiles('decoder-lm', { positional: 'alibi', localWindow: 4 }, 3), run: (m) => generate(m['onnx/model.onnx'], { prompts, maxNewTokens: 6 }) },
  { name: 'encoder-classifier', files: () => folderFiles('encoder-classifier', {}, 4), run: (m) => classify(m['onnx/model.onnx'], source(['abcabc', 'hg'])) },
  { name: 'vit-classifier', files: () => folderFiles('vit-classifier', { imageSize: 8, patchSize: 2, numChannels: 1, pixelScale: 1 / 16, maxSeqLen: 17 }, 5), run: (m) => classifyImages(m['onnx/model.onnx'], Float32Array.from({ length: 2 * 64 }, (_, i) => (i * 7) % 17), 2) },
  { name: 'canvas-classifier', files: () => folderFiles('canvas-classifier', { imageSize: 8, numChannels: 1, maxSeqLen: 1 }, 8), run: (m) => classifyImages(m['onnx/model.onnx'], images(2, 8), 2) },
  { name: 'stn-classifier', files: () => folderFiles('stn-classifier', { imageSize: 8, numChannels: 1, maxSeqLen: 1, outputSize: 6 }, 9), run: (m) => classifyImages(m['onnx/model.onnx'], images(2, 8), 2) },
  { name: 'glimpse-classifier', files: () => folderFiles('glimpse-classifier', { imageSize: 16, numChannels: 1 }, 10), run: (m) => classifyImages(m['onnx/model.onnx'], images(2, 16), 2) },
  {
    name: 'encoder-decoder',
    files: () => folderFiles('encoder-decoder', {}, 6),
    run: (m) => translate({ encoder: m['onnx/encoder_model.onnx'], decoder: m['onnx/decoder_model_merged.onnx'] }, source(['abcdef', 'gh']), { maxNewTokens: 6 }),
  },
  {
    name: 'rnn-seq2seq',
    files: () => folderFiles('rnn-seq2seq', { rnnAttention: 'additive', numEncoderLayers: 1, numDecoderLayers: 1 }, 7),
    run: (m) => translateRnn({ encoder: m['onnx/rnn_encoder.onnx'], decoder: m['onnx/rnn_decoder_step.onnx'] }, source(['abcdef', 'gh']), { maxNewTokens: 6 }),
  },
];

await setupBackend(['cpu']);
// Written beside the target and renamed at the end: a failed run leaves no half-written folder.
const target = out;
const work = `${target}.tmp-${process.pid}`;
mkdirSync(work);
try {
  await writeCases(work);
  renameSync(work, target);
} catch (error) {
  rmSync(work, { recursive: true, force: true });
  throw error;
}
process.stdout.write(`wrote ${target} (${CASES.length} folders, manifest.json, run_cuda.py)\n`);

/** Writes every case's folder, its recorded calls, manifest.json and run_cuda.py into `out`. */
async function writeCases(out) {
  const manifest = { producer: 'attend cuda-check', onnxruntimeNode: ort.env.versions?.node ?? 'unknown', callsPerGraph: CALLS_PER_GRAPH, cases: [] };
  for (const c of CASES) {
    const files = c.files();
    const dir = join(out, c.name);
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), bytes);
    }
    const graphs = Object.keys(files).filter((p) => p.endsWith('.onnx'));
    const models = {};
    const recorded = {};
    for (const graph of graphs) {
      const calls = [];
      models[graph] = await OnnxModel.create(recordingOrt(calls), 'node', files[graph], { source: `${c.name}/${graph}`, numThreads: 1 });
      recorded[graph] = calls;
    }
    const result = await c.run(models);
    const entry = { name: c.name, result, calls: [] };
    for (const graph of graphs) {
      const [sessionCalls] = recorded[graph];
      sessionCalls.forEach(({ feeds, results }, k) => {
        const callDir = join(c.name, 'calls', `${graph.replace(/^onnx\//, '').replace(/\.onnx$/, '')}-${k}`);
        mkdirSync(join(out, callDir), { recursive: true });
        const save = (kind, tensors) =>
          Object.entries(tensors).map(([name, tensor], i) => {
            const file = join(callDir, `${kind}-${i}.npy`);
            writeFileSync(join(out, file), npy(tensor));
            return { name, file, dtype: tensor.type, dims: tensor.dims };
          });
        entry.calls.push({ graph: join(c.name, graph), inputs: save('input', feeds), outputs: save('output', results) });
      });
      await models[graph].release();
    }
    manifest.cases.push(entry);
    process.stdout.write(`${c.name}: ${graphs.join(', ')} · ${entry.calls.length} calls recorded\n`);
  }
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  copyFileSync(join(here, 'run_cuda.py'), join(out, 'run_cuda.py'));
}
