// Prepares the playground's generated assets under public/ (gitignored), before `vite build`
// and `vite` (dev):
//   public/demo/  the demo model, trained here with @attend/transformer on the built-in
//                 date-normalisation task and exported with attention outputs by
//                 @attend/runtime-onnx/node (transformers.js marian layout), plus demo.json
//                 (how it was trained, its dev exact match under tfjs and onnxruntime-node);
//   public/ort/   onnxruntime-web's wasm binaries and loaders (its default build's, and its
//                 webgpu build's for a decoder-lm's in-place KV cache on WebGPU);
//   public/tfjs/  the tfjs wasm backend's binaries (in-browser training).
// The demo is rebuilt only when its inputs changed: this script, the training settings, or the
// built code of @attend/core, @attend/transformer and @attend/runtime-onnx (hashed into
// .demo-stamp.json).

import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const publicDir = join(app, 'public');
const demoDir = join(publicDir, 'demo');
const stampFile = join(app, '.demo-stamp.json');

/** Training settings of the demo: short enough for a build (well under two minutes on 2 cores). */
const DEMO = {
  seed: 1,
  steps: 400,
  trainSize: 20000,
  devSize: 200,
  batchSize: 64,
  learningRate: 3e-3,
  warmupSteps: 50,
};

const say = (line) => process.stdout.write(`playground: ${line}\n`);

/** The folder of a dependency of the app (pnpm links each one under node_modules). */
function packageDir(name) {
  return join(app, 'node_modules', name);
}

async function copyRuntimeFiles() {
  const ortDist = join(packageDir('onnxruntime-web'), 'dist');
  const tfjsWasmDist = join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
  const copies = [
    // the default build's (wasm and its JS WebGPU kernels) and the webgpu build's (an in-place KV cache on WebGPU; fetched only then)
    [ortDist, join(publicDir, 'ort'), ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.asyncify.mjs']],
    [tfjsWasmDist, join(publicDir, 'tfjs'), ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']],
  ];
  for (const [from, to, names] of copies) {
    await mkdir(to, { recursive: true });
    for (const name of names) await copyFile(join(from, name), join(to, name));
  }
}

/** A hash of everything the demo model depends on. */
async function demoInputsHash() {
  const hash = createHash('sha256');
  hash.update(await readFile(fileURLToPath(import.meta.url)));
  hash.update(JSON.stringify(DEMO));
  for (const pkg of ['@attend/core', '@attend/transformer', '@attend/runtime-onnx']) {
    const dist = join(packageDir(pkg), 'dist');
    const files = (await readdir(dist, { recursive: true })).filter((f) => f.endsWith('.js')).sort();
    for (const file of files) {
      hash.update(file);
      hash.update(await readFile(join(dist, file)));
    }
  }
  return hash.digest('hex');
}

async function upToDate(hash) {
  try {
    const stamp = JSON.parse(await readFile(stampFile, 'utf8'));
    if (stamp.hash !== hash) return false;
    for (const name of ['config.json', 'tokenizer.json', 'demo.json', 'onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']) await readFile(join(demoDir, name));
    return true;
  } catch {
    return false;
  }
}

async function buildDemo() {
  const { setupBackend, runDateExperiment, saveCheckpoint } = await import('@attend/transformer');
  const { exportFolder, loadSeq2SeqFolder, translate } = await import('@attend/runtime-onnx/node');
  await setupBackend();
  say(`training the demo model (date normalisation, ${DEMO.steps} steps)…`);
  const run = await runDateExperiment({ ...DEMO, evalEvery: DEMO.steps, targetExactMatch: 1, onLine: (line) => { if (/^(step \d*00\/|eval)/.test(line)) say(line); } });
  const work = await mkdtemp(join(tmpdir(), 'attend-playground-'));
  try {
    const checkpoint = join(work, 'checkpoint');
    await saveCheckpoint(checkpoint, { model: run.model, tokenizer: run.tokenizer.toJSON() });
    await exportFolder(checkpoint, demoDir, { withAttention: true });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  // The exported graphs, checked with onnxruntime-node on the dev set the page's examples come from.
  const { model, tokenizer } = await loadSeq2SeqFolder(demoDir);
  let onnxMatches = 0;
  for (const pair of run.dev) {
    const ids = tokenizer.encode(pair.source);
    const [out] = await translate(model, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens: 16 });
    if (tokenizer.decode(out) === pair.target) onnxMatches++;
  }
  await model.encoder.release();
  await model.decoder.release();
  const info = {
    task: 'date',
    steps: run.steps,
    trainSeconds: Math.round(run.seconds * 10) / 10,
    parameters: run.parameters,
    devSize: run.devSize,
    exactMatchTfjs: run.exactMatch,
    exactMatchOnnx: onnxMatches / run.dev.length,
    examples: run.dev.slice(0, 8).map((p) => p.source),
    config: run.config,
  };
  await writeFile(join(demoDir, 'demo.json'), `${JSON.stringify(info, null, 2)}\n`);
  say(`demo model: ${run.steps} steps in ${info.trainSeconds}s, dev exact match ${(100 * info.exactMatchTfjs).toFixed(1)}% (tfjs), ${(100 * info.exactMatchOnnx).toFixed(1)}% (onnxruntime-node), ${run.dev.length} dates`);
}

await copyRuntimeFiles();
const hash = await demoInputsHash();
if (await upToDate(hash)) {
  say('demo model is up to date (public/demo)');
} else {
  await rm(stampFile, { force: true });
  await buildDemo();
  await writeFile(stampFile, `${JSON.stringify({ hash, built: new Date().toISOString() }, null, 2)}\n`);
}
