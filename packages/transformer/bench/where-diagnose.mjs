// Where to look, diagnosis (issue 17): short runs on the cluttered canvases of bench:where, one
// change at a time, to find why the STN stays near chance there. Each --exp is one run:
//   stn            the bench's STN (MLP localisation), θ a free affine map; with changes joined by +:
//     +attention   stnTransform 'attention': θ = [[s, 0, tx], [0, s, ty]] (Jaderberg §4's 3 parameters)
//     +loc0.1      the localisation's step on θ scaled by 0.1 (its outputs p read as I + 0.1 (p − I))
//     +out8        the sampler's output 8 × 8 (the digit's size) in place of 16 × 16
//     +cnnloc      a CNN localisation network (blocks of 8 and 16 channels)
//   vit, ram       bench:where's ViT and recurrent attention model; vit+patch4: 4 × 4 patches; the RAM's changes:
//     +std0.05, +std0.3   the location policy's std (bench:where: 0.15)
//     +g4, +g8            4 or 8 glimpses (bench:where: 6)
//     +s2, +p4s4          the glimpse's scales: 2 of 8 × 8 (sides 8, 16) or 4 of 4 × 4 (sides 4 … 32) in place of 3 of 8 × 8 (8 … 32)
//     +pw0, +pw10         the REINFORCE term's weight (the reward's scale): pw0 leaves the location network at its random
//                         initialisation, a fixed random policy with classification loss alone (the hybrid loss's check)
//     +bw0.1, +bw10       the baseline's squared error's weight
//     +loclr0.1, +loclr10 the location network's learning rate × 0.1 or × 10 (its weights read as k·w, w started at w₀/k)
//   where-x        the localisation network's shape (MLP of 32; where-x+cnnloc: with its conv blocks) trained to name the digit's column
//                  (0 … 32 − digit side, a class each): accuracy within ±1 column
//   cnn            the plain canvas CNN of bench:where
//   oracle         the STN's classifier on the digit's true box cut from the canvas (clutter included): the
//                  accuracy a perfect localiser would allow
// Usage: node packages/transformer/bench/where-diagnose.mjs --exp stn,stn+attention+loc0.1,oracle [--steps 400] [--batch 64] [--clutter 4] [--lr 3e-3]
//   [--digit 8] [--fragment 4]: the digit's side on the 32 × 32 canvas (scaled bilinearly) and the clutter fragments' side (default half the digit's)
import { clutteredDigits, createModelConfig, identityParams, readCsvClassification, trainDevSplit } from '@attend/core';
import { classify, createModel, imageTrainBatch, setupBackend, setWeightDelta, StnModel, train } from '../dist/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const args = process.argv.slice(2);
const text = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const steps = Number(text('steps', 400));
const batchSize = Number(text('batch', 64));
const clutter = Number(text('clutter', 4));
const fragmentSize = text('fragment', undefined) === undefined ? undefined : Number(text('fragment'));
const digitSize = Number(text('digit', 8));
const learningRate = Number(text('lr', 3e-3));
const seed = 7;
const SIZE = 32;
const exps = text('exp', 'stn').split(',');
const line = (s) => process.stdout.write(`${s}\n`);

const dataPath = resolve(repoRoot, '../shared/data/digits8x8.csv');
if (!existsSync(dataPath)) {
  line(`where-diagnose: ${dataPath} not found (the digits live in ../shared/data next to the repository)`);
  process.exit(1);
}
const digits = await readCsvClassification(dataPath);
const { train: trainDigits, dev: testDigits } = trainDevSplit(digits, { devFraction: 0.2, seed });
await setupBackend();
const options = { size: SIZE, clutter, digitSize, ...(fragmentSize ? { fragmentSize } : {}) };
const trainSet = clutteredDigits(trainDigits, { ...options, count: steps * batchSize, seed });
const testSet = clutteredDigits(testDigits, { ...options, count: 1000, seed: seed + 1 });
line(`${new Date().toISOString()} digit ${digitSize}, clutter ${clutter}${fragmentSize ? ` fragment ${fragmentSize}` : ''}: ${steps} steps × ${batchSize}, lr ${learningRate}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

const common = { numClasses: 10, numChannels: 1, pixelScale: 1, dropout: 0, maxSeqLen: 1 };
const cnn = { dModel: 128, numHiddenLayers: 1, convChannels: [16, 32] };
const stnConfig = (extra = {}) => ({ preset: 'stn-classifier', ...common, imageSize: SIZE, ...cnn, outputSize: 16, locHiddenSize: 32, ...extra });
const crop = (c) => {
  const out = new Float32Array(digitSize ** 2);
  for (let r = 0; r < digitSize; r++) for (let q = 0; q < digitSize; q++) out[r * digitSize + q] = c.pixels[(c.box.y + r) * SIZE + c.box.x + q];
  return out;
};

/** The STN changes an experiment's name lists after `stn+`. */
const STN_CHANGES = {
  attention: { config: { stnTransform: 'attention' } },
  out8: { config: { outputSize: 8 } },
  cnnloc: { config: { locConvChannels: [8, 16] } },
  // The localisation network's outputs p read as I + 0.1 (p − I): its step on θ a tenth as large (Adam's steps do not scale with the gradient).
  'loc0.1': { map: (raw, identity) => tf.add(tf.mul(raw, 0.1), tf.mul(tf.tensor2d([identity]), 0.9)) },
};

const vit = { preset: 'vit-classifier', ...common, imageSize: SIZE, patchSize: 8, maxSeqLen: 17, dModel: 32, numHeads: 4, numEncoderLayers: 2, dFf: 64 };
const ram = { preset: 'glimpse-classifier', ...common, imageSize: SIZE, maxSeqLen: 6, dModel: 128, numGlimpses: 6, numScales: 3, glimpsePatch: 8, locationStd: 0.15 };
/** The ViT's and the RAM's config changes (bench:where's settings otherwise). */
const OTHER_CHANGES = {
  patch4: { patchSize: 4, maxSeqLen: 65 },
  'std0.05': { locationStd: 0.05 },
  'std0.3': { locationStd: 0.3 },
  g4: { numGlimpses: 4, maxSeqLen: 4 },
  g8: { numGlimpses: 8, maxSeqLen: 8 },
  s2: { numScales: 2 },
  p4s4: { glimpsePatch: 4, numScales: 4 },
};
/** The RAM's training changes: the weights of its hybrid loss's REINFORCE and baseline terms, its location network's learning-rate factor. */
const RAM_TRAINING = { pw0: { policy: 0 }, pw10: { policy: 10 }, 'bw0.1': { baseline: 0.1 }, bw10: { baseline: 10 }, 'loclr0.1': { locationLr: 0.1 }, loclr10: { locationLr: 10 } };

/** Applies `RAM_TRAINING` changes to a GlimpseModel: its loss terms weighed, its location weights reparametrised as k·w (Adam's step on k·w is k times the step on w). */
function retrain(model, { policy = 1, baseline = 1, locationLr = 1 }) {
  const plain = model.trainingLoss.bind(model);
  model.trainingLoss = (batch, context) =>
    context.training ? tf.tidy(() => {
      const t = model.hybridLoss(batch, context);
      return tf.addN([t.ce, tf.mul(t.policy, policy), tf.mul(t.baseline, baseline)]);
    }) : plain(batch, context);
  if (locationLr === 1) return;
  for (const { name, variable } of model.namedParams()) {
    if (!name.startsWith('location.')) continue;
    variable.assign(tf.div(variable, locationLr));
    setWeightDelta(variable, () => tf.mul(variable, locationLr - 1));
  }
}

function build(exp) {
  if (exp.startsWith('vit') || exp.startsWith('ram')) {
    const names = exp.split('+').slice(1);
    const changes = names.filter((name) => !(name in RAM_TRAINING)).map((name) => OTHER_CHANGES[name] ?? (() => { throw new Error(`no experiment ${name}`); })());
    const training = Object.assign({}, ...names.filter((name) => name in RAM_TRAINING).map((name) => RAM_TRAINING[name]));
    return { config: createModelConfig(Object.assign({}, exp.startsWith('vit') ? vit : ram, ...changes)), pixels: (c) => c.pixels, training };
  }
  // Can the localisation network's shape find the digit when told where it is? Its column as a class.
  if (exp.startsWith('where-x')) return { config: createModelConfig({ preset: 'canvas-classifier', ...common, numClasses: SIZE - digitSize + 1, imageSize: SIZE, dModel: 32, numHiddenLayers: 1, convChannels: exp.endsWith('+cnnloc') ? [8, 16] : [] }), pixels: (c) => c.pixels, label: (c) => c.box.x };
  if (exp === 'cnn') return { config: createModelConfig({ preset: 'canvas-classifier', ...common, imageSize: SIZE, ...cnn }), pixels: (c) => c.pixels };
  if (exp === 'oracle') return { config: createModelConfig({ preset: 'canvas-classifier', ...common, imageSize: digitSize, ...cnn }), pixels: crop };
  const changes = exp.split('+').slice(1).map((name) => STN_CHANGES[name] ?? (() => { throw new Error(`no experiment ${name}`); })());
  const config = createModelConfig(stnConfig(Object.assign({}, ...changes.map((c) => c.config ?? {}))));
  return { config, pixels: (c) => c.pixels, map: changes.find((c) => c.map)?.map };
}

for (const exp of exps) {
  const { config, pixels, map, training, label = (c) => c.label } = build(exp);
  const model = createModel(config, { seed });
  if (training) retrain(model, training);
  if (map) {
    // The same StnModel with its localisation network's outputs read through `map`.
    const forward = model.localization.forward.bind(model.localization);
    model.localization.forward = (x, rate, training) => tf.tidy(() => map(forward(x, rate, training), identityParams(config)));
  }
  const side = config.imageSize;
  const batchOf = (rows) => {
    const out = new Float32Array(rows.length * side * side);
    rows.forEach((c, i) => out.set(pixels(c), i * side * side));
    return imageTrainBatch(out, Int32Array.from(rows, label), config);
  };
  const started = performance.now();
  const { state } = await train(model, (step) => {
    if (step === steps - 49) model.takeReward?.(); // the RAM's reward: the mean over the last 50 steps
    return batchOf(trainSet.slice((step - 1) * batchSize, step * batchSize));
  }, { steps, learningRate, schedule: { kind: 'cosine', warmupSteps: 30, totalSteps: steps, minLr: learningRate / 10 }, logEvery: 10 });
  let correct = 0;
  for (let at = 0; at < testSet.length; at += 250) {
    const rows = testSet.slice(at, at + 250);
    const predicted = await classify(model, batchOf(rows).input);
    rows.forEach((c, i) => (correct += Math.abs(predicted[i].label - label(c)) <= (exp.startsWith('where-x') ? 1 : 0) ? 1 : 0));
  }
  const reward = model.takeReward?.();
  let extra = reward === undefined ? '' : `  reward ${reward.toFixed(2)}`;
  if (model instanceof StnModel) {
    const rows = testSet.slice(0, 250);
    const { theta, output } = model.transform(batchOf(rows).input);
    const t = theta.dataSync();
    let scale = 0;
    let hit = 0;
    rows.forEach((c, b) => {
      scale += Math.sqrt(Math.abs(t[6 * b] * t[6 * b + 4] - t[6 * b + 1] * t[6 * b + 3]));
      // Does the sampled window's centre (θ's translation, in [-1, 1] canvas units) fall within 2 px of the digit's box?
      const cx = ((t[6 * b + 2] + 1) * SIZE) / 2;
      const cy = ((t[6 * b + 5] + 1) * SIZE) / 2;
      if (cx >= c.box.x - 2 && cx <= c.box.x + digitSize + 2 && cy >= c.box.y - 2 && cy <= c.box.y + digitSize + 2) hit++;
    });
    extra = `  θ scale ${(scale / rows.length).toFixed(2)}  centre near the digit ${((100 * hit) / rows.length).toFixed(0)}%`;
    theta.dispose();
    output.dispose();
  }
  const last = state.losses.slice(-5);
  line(`${exp.padEnd(14)} accuracy ${((100 * correct) / testSet.length).toFixed(1)}%  loss ${(last.reduce((s, h) => s + h.loss, 0) / last.length).toFixed(3)}  ${((performance.now() - started) / 1000).toFixed(0)} s${extra}`);
  model.dispose();
}
