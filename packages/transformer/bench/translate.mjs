// English→French with the seeds' models, each trained for the same wall-clock budget on the
// tfjs wasm backend: (a) GRU encoder–decoder without attention, (b) with Bahdanau's additive
// attention, (c) with Luong's general attention, (d) with Luong's local-p attention, and (e) a
// Transformer encoder–decoder of similar parameter count (and, with --models f, (f) an LSTM
// encoder–decoder with Luong's general attention). Reports corpus BLEU (sacreBLEU-style
// 13a, all references of an English sentence) and exact match on a held-out test split, and
// draws attention heatmaps (source × output) for a few test sentences.
//
// Data: ../shared/data/eng-fra.tsv (Tatoeba via manythings.org/anki), filtered as the PyTorch
// seq2seq tutorial does: both sides shorter than 10 tokens, and the English side (lowercased,
// non-letters as spaces) starting with one of its prefixes "i am ", "i m ", "he is", "he s ",
// "she is", "she s ", "you are", "you re ", "we are", "we re ", "they are", "they re ".
// Split by English sentence (all its translations on one side) with a fixed seed: 80/10/10.
//
// Writes bench/results/translate.json, translate.md and translate-attention-<model>.svg at the
// repo root (or NAME.* with --out NAME).
//
// Usage: node packages/transformer/bench/translate.mjs [--minutes 15] [--models a,b,c,d,e,f]
//          [--test-max 1000] [--seed 1] [--min-freq 2] [--rnn-dim 128] [--transformer-dim 128]
//          [--transformer-layers 1]
//          [--out translate]

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { flag, repoRoot, strFlag, writeAtomic } from './common.mjs';
import { corpusBleu, createModelConfig, makeSeq2SeqBatch, readTsvPairs, splitWords, trainDevSplit, WordTokenizer } from '@attend/core';
import { createModel, seq2seqTask, setupBackend, train, translate } from '../dist/index.js';

const dataPath = resolve(repoRoot, '../shared/data/eng-fra.tsv');
const minutes = flag('minutes', 15);
const seed = flag('seed', 1);
const testMax = flag('test-max', 1000);
const name = strFlag('out', 'translate');
const wanted = strFlag('models', 'a,b,c,d,e').split(',');
const line = (s = '') => process.stdout.write(`${s}\n`);

if (!existsSync(dataPath)) {
  line(`bench:translate: ${dataPath} not found (the English–French pairs live in ../shared/data next to the repository)`);
  process.exit(1);
}

// ---- data -------------------------------------------------------------------------------
const PREFIXES = ['i am ', 'i m ', 'he is', 'he s ', 'she is', 'she s ', 'you are', 'you re ', 'we are', 'we re ', 'they are', 'they re '];
const MAX_TOKENS = 10; // "shorter than 10" as the tutorial's MAX_LENGTH
const asciiWords = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z]+/g, ' ').trim();
const all = await readTsvPairs(dataPath);
const pairs = all.filter((p) => {
  const en = asciiWords(p.source) + ' ';
  return PREFIXES.some((x) => en.startsWith(x)) && splitWords(p.source, true).length < MAX_TOKENS && splitWords(p.target, true).length < MAX_TOKENS;
});
const key = (p) => splitWords(p.source, true).join(' ');
const { train: rest, dev: test } = trainDevSplit(pairs, { devFraction: 0.1, seed, key });
const { train: trainPairs, dev } = trainDevSplit(rest, { devFraction: 0.1 / 0.9, seed: seed + 1, key });
const minFreq = flag('min-freq', 2);
const tokenizer = WordTokenizer.fromCorpus(trainPairs.flatMap((p) => [p.source, p.target]), { minFreq });

/** One entry per distinct English sentence, with every French translation as a reference. */
function grouped(items, max) {
  const refs = new Map();
  for (const p of items) {
    const k = key(p);
    if (!refs.has(k)) refs.set(k, { source: p.source, references: [] });
    refs.get(k).references.push(p.target);
  }
  return [...refs.values()].slice(0, max);
}
const testSet = grouped(test, testMax);
const devSet = grouped(dev, 300);
const maxLen = Math.max(...pairs.map((p) => Math.max(tokenizer.encode(p.source).length, tokenizer.encode(p.target).length)));
line(`eng-fra: ${all.length} pairs, ${pairs.length} after the tutorial filter; train ${trainPairs.length}, dev ${dev.length}, test ${test.length} pairs (${testSet.length} English sentences scored); vocabulary ${tokenizer.vocabSize} words (train split, both languages, seen ≥ ${minFreq} times); longest ${maxLen} tokens`);

// ---- models -----------------------------------------------------------------------------
const common = { vocabSize: tokenizer.vocabSize, maxSeqLen: maxLen + 4, dropout: 0.1 };
const rnn = (rnnAttention, extra = {}) => createModelConfig({ ...common, preset: 'rnn-seq2seq', dModel: flag('rnn-dim', 128), rnnAttention, rnnBidirectional: true, ...extra });
const MODELS = {
  a: { label: 'GRU, no attention', config: rnn('none'), lr: 2e-3 },
  b: { label: 'GRU + additive (Bahdanau)', config: rnn('additive'), lr: 2e-3 },
  c: { label: 'GRU + general (Luong)', config: rnn('general'), lr: 2e-3 },
  d: { label: 'GRU + local-p (Luong, D = 3)', config: rnn('local-p', { localWindow: 3 }), lr: 2e-3 },
  // Not in the default set: Luong et al.'s own cell, for comparison with (c).
  f: { label: 'LSTM + general (Luong)', config: rnn('general', { rnnCell: 'lstm' }), lr: 2e-3 },
  e: {
    label: 'Transformer',
    config: createModelConfig({ ...common, preset: 'encoder-decoder', dModel: flag('transformer-dim', 128), numHeads: 4, numEncoderLayers: flag('transformer-layers', 1), numDecoderLayers: flag('transformer-layers', 1), dFf: 2 * flag('transformer-dim', 128), positional: 'sinusoidal' }),
    lr: 1e-3,
  },
};
for (const m of wanted) if (!MODELS[m]) {
  line(`bench:translate: unknown model '${m}'; expected some of ${Object.keys(MODELS).join(',')}`);
  process.exit(2);
}

const backend = await setupBackend();
line(`tfjs ${backend.name}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), budget ${minutes} min of training per model\n`);

const batchSize = 64;
const task = seq2seqTask(trainPairs, dev, tokenizer, { batchSize, seed, maxSrcLen: maxLen, maxTgtLen: maxLen });

async function decodeAll(model, items) {
  const ids = tokenizer.specialTokenIds;
  const out = [];
  for (let start = 0; start < items.length; start += 200) {
    const chunk = items.slice(start, start + 200).map((x) => ({ source: tokenizer.encode(x.source), target: [] }));
    const b = makeSeq2SeqBatch(chunk, ids, { maxSrcLen: maxLen, maxTgtLen: maxLen + 1 });
    const decoded = await translate(model, { ids: b.srcIds, batchSize: b.batchSize, seqLen: b.srcLen, lengths: b.srcLengths }, maxLen + 1);
    out.push(...decoded);
  }
  return out;
}

function scores(items, decoded) {
  const hyps = decoded.map((d) => tokenizer.decode(d));
  // Both sides through the same word tokenizer, so BLEU compares tokens, not spacing.
  const norm = (s) => tokenizer.decode(tokenizer.encode(s));
  const refs = items.map((x) => x.references.map(norm));
  const bleu = corpusBleu(hyps, refs, { tokenize: 'none' });
  const exact = hyps.filter((h, i) => refs[i].includes(h)).length / hyps.length;
  return { bleu: bleu.score, exactMatch: exact, hyps };
}

/** Attention of the decoder over the source for one sentence and its output: [T][S] (Transformer: last layer, mean over heads). */
function alignment(model, sourceIds, outputIds) {
  const c = model.config;
  const target = [c.bosTokenId, ...outputIds];
  return tf.tidy(() => {
    const r = model.forward(
      { ids: Int32Array.from(sourceIds), batchSize: 1, seqLen: sourceIds.length },
      { ids: Int32Array.from(target), batchSize: 1, seqLen: target.length },
      { returnAttention: true },
    );
    const maps = r.attention.cross;
    if (maps.length === 0) return undefined;
    const last = maps[maps.length - 1];
    return tf.mean(last, 1).arraySync()[0];
  });
}

const results = [];
for (const id of wanted) {
  const spec = MODELS[id];
  const model = createModel(spec.config, { seed });
  const params = model.parameterCount();
  line(`(${id}) ${spec.label}: ${params.toLocaleString('en-US')} parameters, training for ${minutes} min …`);
  const started = performance.now();
  let lastLoss = NaN;
  // The budget is checked between steps (a timer could not fire while a step runs).
  const controller = new AbortController();
  const deadline = started + minutes * 60_000;
  const nextBatch = (step) => {
    if (performance.now() >= deadline) controller.abort();
    return task.nextBatch(step);
  };
  const result = await train(model, nextBatch, {
    steps: 1_000_000,
    learningRate: spec.lr,
    schedule: { kind: 'constant', warmupSteps: 100 },
    clipNorm: 5,
    labelSmoothing: 0.1,
    logEvery: 10,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'step') {
        lastLoss = e.loss;
        if (e.step % 200 === 0) line(`    step ${e.step}: loss ${e.loss.toFixed(3)} (${(e.elapsedMs / 1000).toFixed(0)} s)`);
      }
    },
  });
  const trainSeconds = (performance.now() - started) / 1000;
  // The 15-minute load average at the end of a model's turn: how much else the machine was doing.
  const loadAverage15 = loadavg()[2];
  const t0 = performance.now();
  const test = scores(testSet, await decodeAll(model, testSet));
  const devScores = scores(devSet, await decodeAll(model, devSet));
  const evalSeconds = (performance.now() - t0) / 1000;
  const examples = testSet.slice(0, 3).map((x, i) => {
    const src = tokenizer.encode(x.source);
    const outIds = tokenizer.encode(test.hyps[i]);
    return { source: x.source, output: test.hyps[i], references: x.references, sourceTokens: src.map((t) => tokenizer.decode([t], { skipSpecialTokens: false })), outputTokens: [...outIds.map((t) => tokenizer.decode([t], { skipSpecialTokens: false })), '<eos>'], weights: alignment(model, src, outIds) };
  });
  const epochs = (result.state.step * batchSize) / trainPairs.length;
  const row = {
    id, label: spec.label, parameters: params, steps: result.state.step, epochs, trainSeconds, loadAverage15, evalSeconds, finalTrainLoss: lastLoss,
    testBleu: test.bleu, testExactMatch: test.exactMatch, devBleu: devScores.bleu, devExactMatch: devScores.exactMatch,
    config: spec.config, learningRate: spec.lr, examples,
  };
  results.push(row);
  line(`    ${row.steps} steps (${epochs.toFixed(2)} epochs), train loss ${lastLoss.toFixed(3)}; test BLEU ${test.bleu.toFixed(2)}, exact match ${(100 * test.exactMatch).toFixed(1)}% (dev BLEU ${devScores.bleu.toFixed(2)}); eval ${evalSeconds.toFixed(0)} s`);
  for (const ex of examples) line(`      ${ex.source}  →  ${ex.output}`);
  model.dispose();
}

// ---- outputs ----------------------------------------------------------------------------
const dir = join(repoRoot, 'bench/results');
if (name.includes('/')) {
  line(`bench:translate: --out takes a file name prefix, got '${name}'`);
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const meta = {
  date: new Date().toISOString(), minutesPerModel: minutes, backend: backend.name, cpus: cpus().length, cpuModel: cpus()[0]?.model,
  data: { file: 'eng-fra.tsv', pairs: all.length, filtered: pairs.length, train: trainPairs.length, dev: dev.length, test: test.length, testSentencesScored: testSet.length, vocabSize: tokenizer.vocabSize, minFreq, filter: { prefixes: PREFIXES, maxTokensExclusive: MAX_TOKENS }, seed },
  training: { batchSize, schedule: 'constant after 100 warmup steps', clipNorm: 5, labelSmoothing: 0.1, dropout: 0.1, optimizer: 'AdamW (weight decay 0.01)' },
  bleu: 'corpus BLEU over word tokens (attend WordTokenizer on both sides, tokenize none), all French references of each English sentence',
};
writeAtomic(join(dir, `${name}.json`), `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
const md = [
  `# English→French, ${minutes} min of training per model (${meta.date.slice(0, 10)}, tfjs ${backend.name}, ${meta.cpus} cores)`,
  '',
  `Data: eng-fra.tsv filtered as the PyTorch seq2seq tutorial (English prefixes, < ${MAX_TOKENS} tokens per side): ${pairs.length} pairs; train ${trainPairs.length} / dev ${dev.length} / test ${test.length} pairs, split by English sentence with seed ${seed}. Test: ${testSet.length} English sentences, every French translation as a reference.`,
  '',
  '| model | parameters | steps | epochs | test BLEU | test exact match | dev BLEU | load (15 min) |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...results.map((r) => `| (${r.id}) ${r.label} | ${r.parameters.toLocaleString('en-US')} | ${r.steps} | ${r.epochs.toFixed(2)} | ${r.testBleu.toFixed(2)} | ${(100 * r.testExactMatch).toFixed(1)}% | ${r.devBleu.toFixed(2)} | ${r.loadAverage15.toFixed(2)} |`),
  '',
  'Budgets are wall-clock time: `steps` shows how far each model got in it, which on a shared machine also depends on the load during its turn (`load`: the 15-minute load average when its training ended; the benchmark itself keeps one core busy).',
  '',
];
writeAtomic(join(dir, `${name}.md`), md.join('\n'));
for (const r of results) {
  const panels = r.examples.filter((e) => e.weights);
  if (panels.length === 0) continue;
  writeAtomic(join(dir, `${name}-attention-${r.id}.svg`), heatmaps(`(${r.id}) ${r.label}`, panels));
}
line(`\n${md.join('\n')}`);
line(`wrote ${join(dir, `${name}.json`)}, ${name}.md and ${name}-attention-*.svg`);

/** Source × output attention heatmaps side by side, dark = high weight (as Bahdanau et al.'s figure 3). */
function heatmaps(title, panels) {
  const cell = 26, top = 110, left = 110, gap = 60;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const widths = panels.map((p) => left + p.sourceTokens.length * cell);
  const W = widths.reduce((a, b) => a + b + gap, 20);
  const H = top + Math.max(...panels.map((p) => p.weights.length)) * cell + 30;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="10" y="18" font-size="14">${esc(title)}: attention of each output word (rows) over the source words (columns)</text>`];
  let x0 = 10;
  panels.forEach((p, k) => {
    const ox = x0 + left;
    p.sourceTokens.forEach((t, s) => parts.push(`<text transform="translate(${ox + s * cell + cell / 2 + 4},${top - 6}) rotate(-60)">${esc(t)}</text>`));
    p.weights.forEach((row, t) => {
      parts.push(`<text x="${ox - 6}" y="${top + t * cell + cell / 2 + 4}" text-anchor="end">${esc(p.outputTokens[t] ?? '')}</text>`);
      row.forEach((w, s) => {
        const v = Math.round(255 * (1 - Math.min(1, Math.max(0, w))));
        parts.push(`<rect x="${ox + s * cell}" y="${top + t * cell}" width="${cell}" height="${cell}" fill="rgb(${v},${v},${v})" stroke="#ddd"/>`);
      });
    });
    x0 += widths[k] + gap;
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
