// Image captioning of digit scenes (Show and Tell vs Show, Attend and Tell): the image-captioner
// with no attention, soft attention and hard attention, and the Transformer captioner
// (vision-encoder-decoder, row 'transformer'), each trained for the same number of
// steps on scenes of 1–4 digits from the training rows of ../shared/data/digits8x8.csv, then
// captioned greedily on scenes made from the held-out test rows (digits never seen in training):
// exact match, corpus BLEU-4 and BLEU-2 overall and by the number of digits, without and with clutter.
// Hard attention is scored at test time both ways Xu et al. (§4.1) compare: the arg-max location
// and the expected context. Also draws each generated word's attention over a few test scenes
// (core's captionAttentionSvg; the Transformer's: its last decoder layer's cross-attention over
// the patches, heads averaged), read from the decoding loop's steps.
//
// Writes bench/results/captions.{json,md} and captions-attention.svg at the repo root.
//
// Usage: node packages/transformer/bench/captions.mjs [--steps 600] [--seed 1] [--clutter 4]
//   [--lr 3e-3] [--d 64] [--batch 32] [--digits 1-4] [--attentions none,soft,hard,transformer] [--clutters 0,4]
//   [--out captions]  (--digits, --attentions and --clutters narrow the run, e.g. to find a
//   learning rate with short runs; --out names the results files)

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { flag, repoRoot, strFlag, writeAtomic } from './common.mjs';
import { captionAttentionSvg, captionerAttentionLayout, captionWithAttention, corpusBleu, createModelConfig, digitRowsOf, digitScenes, exactMatch, patchAttentionLayout, readCsvClassification, VISUAL_ATTENTIONS, WordTokenizer } from '@attend/core';
import { captionTask, createModel, imageBatch, setupBackend, tfjsTranslator, train } from '../dist/index.js';

const dataPath = resolve(repoRoot, '../shared/data/digits8x8.csv');
const steps = flag('steps', 600);
const seed = flag('seed', 1);
const clutterLevel = flag('clutter', 4);
const trainCount = flag('train', 4000);
const testCount = flag('test', 400);
const batchSize = flag('batch', 32);
const learningRate = flag('lr', 3e-3);
const dModel = flag('d', 64);
const [minDigits, maxDigits] = strFlag('digits', '1-4').split('-').map(Number);
const attentions = strFlag('attentions', [...VISUAL_ATTENTIONS, 'transformer'].join(',')).split(',');
const clutters = strFlag('clutters', `0,${clutterLevel}`).split(',').map(Number);
const outName = strFlag('out', 'captions');
const line = (s = '') => process.stdout.write(`${s}\n`);
if (!existsSync(dataPath)) {
  line(`bench:captions: ${dataPath} not found (the digits live in ../shared/data next to the repository)`);
  process.exit(1);
}

const rows = await readCsvClassification(dataPath);
const backend = await setupBackend();
const shape = { height: 24, width: 48, minDigits, maxDigits: maxDigits ?? minDigits };
const scenes = (split, count, s, clutter) => digitScenes(digitRowsOf(rows, split), { count, seed: s, ...shape, clutter });
const asImages = (list) => list.map((x) => ({ pixels: x.pixels, caption: x.caption }));
const tokenizer = WordTokenizer.fromCorpus(scenes('train', 200, seed, 0).map((s) => s.caption));
line(`digit scenes ${shape.height}×${shape.width}, ${shape.minDigits}–${shape.maxDigits} digits; ${trainCount} train scenes, ${testCount} test scenes (held-out digit rows); ${steps} steps of ${batchSize} per model; tfjs ${backend.name}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const results = [];
const figures = [];
for (const clutter of clutters) {
  const trainImages = asImages(scenes('train', trainCount, seed, clutter));
  const testScenes = scenes('test', testCount, seed + 1, clutter);
  const testImages = asImages(testScenes);
  for (const visualAttention of attentions) {
    const sizes = { vocabSize: tokenizer.vocabSize, dModel, imageHeight: shape.height, imageWidth: shape.width, maxSeqLen: shape.maxDigits + 2, dropout: 0 };
    const config = visualAttention === 'transformer'
      ? createModelConfig({ preset: 'vision-encoder-decoder', ...sizes, numHeads: 4, dFf: 2 * dModel, numEncoderLayers: 2, numDecoderLayers: 2, patchSize: 4 })
      : createModelConfig({ preset: 'image-captioner', ...sizes, featureSize: 64, visualAttention });
    const model = createModel(config, { seed });
    const task = captionTask(trainImages, testImages, tokenizer, config, { batchSize, seed });
    const load = loadavg()[0];
    const started = performance.now();
    await train(model, task.nextBatch, { steps, learningRate, schedule: { kind: 'cosine', warmupSteps: 30, totalSteps: steps, minLr: learningRate / 10 }, logEvery: 1000 });
    const trainSeconds = (performance.now() - started) / 1000;
    // Hard attention is scored twice: the arg-max location, and the expected context (Xu et al. §4.1).
    for (const hardInference of visualAttention === 'hard' ? ['argmax', 'expectation'] : ['argmax']) {
      if (visualAttention === 'hard') model.hardInference = hardInference;
      const { outputs, loss } = await task.evaluate(model);
      const byDigits = {};
      for (let n = shape.minDigits; n <= shape.maxDigits; n++) {
        const idx = testScenes.map((s, i) => (s.labels.length === n ? i : -1)).filter((i) => i >= 0);
        const out = idx.map((i) => outputs[i]);
        const ref = idx.map((i) => testScenes[i].caption);
        byDigits[n] = { scenes: idx.length, exactMatch: idx.length > 0 ? exactMatch(out, ref) : 0, bleu: idx.length > 0 ? corpusBleu(out, ref).score : 0 };
      }
      const refs = testScenes.map((s) => s.caption);
      const name = hardInference === 'expectation' ? 'hard, expectation' : visualAttention;
      const r = { visualAttention, testTime: visualAttention === 'hard' ? hardInference : undefined, clutter, steps, trainSeconds, loadAtStart: load, parameters: model.parameterCount(), testLoss: loss, exactMatch: exactMatch(outputs, refs), bleu: corpusBleu(outputs, refs).score, bleu2: corpusBleu(outputs, refs, { maxOrder: 2 }).score, byDigits, samples: outputs.slice(0, 5).map((o, i) => ({ caption: refs[i], output: o })) };
      results.push(r);
      line(`${name.padEnd(17)} clutter ${clutter}: exact match ${(100 * r.exactMatch).toFixed(1)}%, BLEU ${r.bleu.toFixed(2)}, by digits ${Object.entries(byDigits).map(([n, v]) => `${n}: ${(100 * v.exactMatch).toFixed(0)}%`).join(' ')} (${trainSeconds.toFixed(0)} s)`);
      if (clutter === clutters[0] && visualAttention !== 'none') figures.push(await attentionFigure(model, config, testScenes.slice(0, 3), name));
    }
    model.dispose();
  }
}

const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
const meta = { date: new Date().toISOString(), backend: backend.name, cpus: cpus().length, loadAtEnd: loadavg(), seed, steps, batchSize, learningRate, dModel, trainScenes: trainCount, testScenes: testCount, scene: shape, clutter: clutterLevel };
writeAtomic(join(dir, `${outName}.json`), `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
writeAtomic(join(dir, `${outName}.md`), markdown());
if (figures.length > 0) writeAtomic(join(dir, `${outName}-attention.svg`), captionAttentionSvg(figures.flat(), "Each generated word's attention over a test scene (α spread over its window's pixels; hard: the location taken outlined in red)"));
line(`wrote ${join(dir, `${outName}.json`)}, ${outName}.md${figures.length > 0 ? ` and ${outName}-attention.svg` : ''}`);

function markdown() {
  const digitCounts = Array.from({ length: shape.maxDigits - shape.minDigits + 1 }, (_, i) => shape.minDigits + i);
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const out = [
    '# Digit-scene captioning: Show and Tell vs Show, Attend and Tell',
    '',
    `\`npm run bench:captions\` (${meta.date}; tfjs ${meta.backend}, ${meta.cpus} cores, load average at the end ${meta.loadAtEnd.map((x) => x.toFixed(2)).join(' ')}).`,
    `Scenes ${shape.height}×${shape.width} of ${shape.minDigits}–${shape.maxDigits} digits; ${trainCount} training scenes from the training rows of digits8x8.csv, ${testCount} test scenes from held-out rows.`,
    `Each model: image-captioner, d ${dModel}, D 64, 8×8 windows at stride 4 (5×11 grid); transformer: vision-encoder-decoder, d ${dModel}, 4 heads, d_ff ${2 * dModel}, 2 + 2 layers over 4×4 patches (6×12 + CLS); ${steps} steps of ${batchSize}, lr ${learningRate} cosine to ${Number((learningRate / 10).toPrecision(6))}; greedy captions.`,
    '',
    `| attention | clutter | exact match | BLEU | BLEU-2 | ${digitCounts.map((n) => `${n} digit${n > 1 ? 's' : ''}`).join(' | ')} | test loss | train s | load at start |`,
    `| --- | --- | --- | --- | --- | ${digitCounts.map(() => '--- | ').join('')}--- | --- | --- |`,
    ...results.map((r) => `| ${r.testTime === 'expectation' ? 'hard, expectation' : r.visualAttention} | ${r.clutter} | ${pct(r.exactMatch)} | ${r.bleu.toFixed(2)} | ${r.bleu2.toFixed(2)} | ${digitCounts.map((n) => pct(r.byDigits[n].exactMatch)).join(' | ')} | ${r.testLoss.toFixed(3)} | ${r.trainSeconds.toFixed(0)} | ${r.loadAtStart.toFixed(2)} |`),
    '',
    'By digit count: exact match of the scenes with that many digits. Hard attention: REINFORCE with a moving-average baseline and entropy bonus; at test time the arg-max location (row "hard") or, the same trained model, the expected context Σ α a (row "hard, expectation", Xu et al. §4.1). BLEU is corpus BLEU-4: 0 while captions of at most 4 words rarely share a 4-gram with their reference; BLEU-2 is corpus BLEU over 1- and 2-grams (weights 1/2). Test loss: the trainer\'s evaluation loss on the test scenes, the teacher-forced cross-entropy per caption token plus, for soft and hard attention, the doubly stochastic penalty λ Σ_i (1 − Σ_t α_ti)² (attend eval\'s test loss is the cross-entropy alone).',
    '',
  ];
  return out.join('\n');
}

/** Per test scene: the greedy caption and each generated word's attention over it (core's captionWithAttention over tfjsTranslator with attention: the last decoder layer's, heads averaged, for the Transformer). */
async function attentionFigure(model, config, list, label) {
  const layout = 'visualAttention' in config ? captionerAttentionLayout(config) : patchAttentionLayout(config);
  const out = [];
  for (const scene of list) {
    const { output, words, alphas } = await captionWithAttention(tfjsTranslator(model, { attention: true }), imageBatch(scene.pixels, 1, config), config, tokenizer, layout);
    out.push({ pixels: scene.pixels, height: shape.height, width: shape.width, grid: layout.grid, label: `${label}: "${scene.caption}" → "${output}"`, words, alphas, hard: layout.hard && model.hardInference === 'argmax' });
  }
  return out;
}
