// Gradients of the training loss (`batchLoss`, dropout 0) against central finite differences
// on tiny models, for entries of the embedding, projections, score parameters, layer norms,
// FFN and output head; and the wasm backend's gradients (which go through the custom
// UnsortedSegmentSum kernel for the embedding) against the cpu backend's.
// Finite differences run on `cpu` in float32: eps = 1e-2, tolerance 1e-4 + 3 % of the size.

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createModelConfig, createRng, hasTokens, type ConfigOf, type ModelConfig, type Preset, type Rng } from '@attend/core';
import { setupBackend } from './backend.js';
import { lengthWeights } from './loss.js';
import { createModel, type AttendModel } from './models.js';
import type { NamedParam } from './params.js';
import { batchLoss, type TrainBatch } from './trainer.js';
import { randomizeParams } from './test-utils/weights.js';

const VOCAB = 11;
const EPS = 1e-2;
/** One float32 ulp of a loss near 2.4 is 2.4e-7, i.e. 1.2e-5 in a difference quotient with eps 1e-2. */
const ATOL = 1e-4;
const RTOL = 3e-2;

afterEach(() => {
  tf.disposeVariables();
});

/** Fields of one preset's config (its own only), over the tiny model of makeModel. */
type CaseConfig = { [P in Preset]: Partial<ConfigOf<P>> & { preset: P } }[Preset];

interface GradCase {
  label: string;
  config: CaseConfig;
  labelSmoothing?: number;
  /** Probes of this case only (its own tensors), drawn after the shared PROBES: the other cases draw the same probes with or without it. */
  probes?: [RegExp, number][];
}

const CASES: GradCase[] = [
  { label: 'encoder–decoder, additive, learned positions, pre-norm, untied', config: { preset: 'encoder-decoder', attention: 'additive', positional: 'learned', norm: 'pre', tieEmbeddings: false } },
  { label: 'encoder–decoder, general, rope, post-norm, tied', config: { preset: 'encoder-decoder', attention: 'general', positional: 'rope', norm: 'post' } },
  { label: 'encoder–decoder, cosine, alibi, pre-norm, label smoothing 0.1', config: { preset: 'encoder-decoder', attention: 'cosine', positional: 'alibi', norm: 'pre' }, labelSmoothing: 0.1 },
  { label: 'decoder-lm, scaled_dot, sinusoidal, post-norm, padded', config: { preset: 'decoder-lm', attention: 'scaled_dot', positional: 'sinusoidal', norm: 'post' } },
  { label: 'encoder-classifier, dot, learned positions, pre-norm, mean pooling', config: { preset: 'encoder-classifier', attention: 'dot', positional: 'learned', norm: 'pre', numClasses: 3 } },
  { label: 'rnn-seq2seq, no attention, unidirectional, untied', config: { preset: 'rnn-seq2seq', rnnAttention: 'none', rnnBidirectional: false, tieEmbeddings: false } },
  { label: 'rnn-seq2seq, additive (Bahdanau), bidirectional, 2 decoder layers', config: { preset: 'rnn-seq2seq', rnnAttention: 'additive', numDecoderLayers: 2 } },
  { label: 'rnn-seq2seq, dot, 2 bidirectional encoder layers', config: { preset: 'rnn-seq2seq', rnnAttention: 'dot', numEncoderLayers: 2 } },
  { label: 'rnn-seq2seq, general, unidirectional, untied', config: { preset: 'rnn-seq2seq', rnnAttention: 'general', rnnBidirectional: false, tieEmbeddings: false } },
  { label: 'rnn-seq2seq, concat', config: { preset: 'rnn-seq2seq', rnnAttention: 'concat' } },
  { label: 'vit-classifier, 4×4 images with 2 channels in 2×2 patches, post-norm', config: { preset: 'vit-classifier', numClasses: 3, imageSize: 4, patchSize: 2, numChannels: 2, norm: 'post' } },
  { label: 'rnn-seq2seq, local-p with D = 2', config: { preset: 'rnn-seq2seq', rnnAttention: 'local-p', localWindow: 2 } },
  { label: 'rnn-seq2seq, LSTM, general, bidirectional, untied', config: { preset: 'rnn-seq2seq', rnnCell: 'lstm', rnnAttention: 'general', tieEmbeddings: false } },
  { label: 'canvas-classifier, 6×6 images with 2 channels (the stn-classifier: its own test)', config: { preset: 'canvas-classifier', numClasses: 3, imageSize: 6, numChannels: 2, numHiddenLayers: 1 } },
  { label: 'canvas-classifier, CNN: two conv blocks (3×3, ReLU, 2×2 max-pool) on 8×8 images with 2 channels', config: { preset: 'canvas-classifier', numClasses: 3, imageSize: 8, numChannels: 2, numHiddenLayers: 1, convChannels: [3, 4] } },
  { label: 'rnn-seq2seq, LSTM, additive, unidirectional', config: { preset: 'rnn-seq2seq', rnnCell: 'lstm', rnnAttention: 'additive', rnnBidirectional: false } },
  { label: 'image-captioner, soft attention with the doubly stochastic penalty', config: { preset: 'image-captioner', visualAttention: 'soft', attentionPenalty: 0.5 } },
  { label: 'image-captioner, no attention (Show and Tell)', config: { preset: 'image-captioner', visualAttention: 'none' } },
  {
    label: 'vision-encoder-decoder, 4×6 images in 2×2 patches, learned positions, untied',
    config: { preset: 'vision-encoder-decoder', positional: 'learned', tieEmbeddings: false },
    // The image side: cross-attention values and keys over the patch states, the CLS token, the patch embedding's bias.
    probes: [[/^decoder\.layers\.0\.encoder_attn\.(v|k)_proj\.(weight|bias)$/, 3], [/^embeddings\.(cls_token|patch_embeddings\.bias)$/, 2]],
  },
];

/** The case's config over a tiny model of its kind: one layer per stack, dModel 8. */
function caseConfig(c: CaseConfig): ModelConfig {
  const base = { dModel: 8, maxSeqLen: 8, dropout: 0 };
  const stack = { numHeads: 2, dFf: 16, activation: 'gelu' } as const;
  switch (c.preset) {
    case 'encoder-classifier':
      return createModelConfig({ ...base, ...stack, vocabSize: VOCAB, numEncoderLayers: 1, ...c });
    case 'decoder-lm':
      return createModelConfig({ ...base, ...stack, vocabSize: VOCAB, numDecoderLayers: 1, ...c });
    case 'encoder-decoder':
      return createModelConfig({ ...base, ...stack, vocabSize: VOCAB, numEncoderLayers: 1, numDecoderLayers: 1, ...c });
    case 'rnn-seq2seq':
      return createModelConfig({ ...base, vocabSize: VOCAB, numEncoderLayers: 1, numDecoderLayers: 1, ...c });
    case 'vit-classifier':
      return createModelConfig({ ...base, ...stack, numEncoderLayers: 1, ...c });
    case 'canvas-classifier':
      return createModelConfig({ ...base, maxSeqLen: 1, pixelScale: 1, ...c });
    case 'stn-classifier':
      throw new Error('the stn-classifier has its own gradient test (models/stn-classifier/model.test.ts)');
    case 'glimpse-classifier':
      throw new Error('the glimpse-classifier has its own gradient tests (models/glimpse-classifier/model.test.ts)');
    case 'image-captioner':
      return createModelConfig({ ...base, vocabSize: VOCAB, imageHeight: 4, imageWidth: 6, patchSize: 2, patchStride: 2, featureSize: 5, ...c });
    case 'vision-encoder-decoder':
      return createModelConfig({ ...base, ...stack, vocabSize: VOCAB, numEncoderLayers: 1, numDecoderLayers: 1, imageHeight: 4, imageWidth: 6, patchSize: 2, ...c });
  }
}

function makeModel(c: GradCase, seed: number): AttendModel {
  const config = caseConfig(c.config);
  const model = createModel(config, { seed });
  randomizeParams(model.namedParams(), seed, 0.3);
  return model;
}

const ids = (rng: Rng, n: number, vocab: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(vocab));

/** Tokens are drawn from [0, VOCAB − 1) so that the last embedding row gets no gradient. */
function makeBatch(model: AttendModel, seed: number): TrainBatch {
  const rng = createRng(seed);
  const V = VOCAB - 1;
  switch (model.config.preset) {
    case 'encoder-decoder':
    case 'rnn-seq2seq': {
      const tgtLengths = Int32Array.from([4, 3]);
      return {
        input: { ids: ids(rng, 10, V), batchSize: 2, seqLen: 5, lengths: Int32Array.from([5, 3]) },
        target: { ids: ids(rng, 8, V), batchSize: 2, seqLen: 4, lengths: tgtLengths },
        labels: ids(rng, 8, V),
        labelWeights: lengthWeights(tgtLengths, 4),
      };
    }
    case 'decoder-lm': {
      const lengths = Int32Array.from([6, 4]);
      return { input: { ids: ids(rng, 12, V), batchSize: 2, seqLen: 6, lengths }, labels: ids(rng, 12, V), labelWeights: lengthWeights(lengths, 6) };
    }
    case 'vit-classifier': {
      const pixels = Float32Array.from({ length: 2 * 2 * 4 * 4 }, () => rng.normal());
      return { input: { ids: new Int32Array(0), batchSize: 2, seqLen: 5, pixels }, labels: Int32Array.from([2, 0]) };
    }
    case 'encoder-classifier':
      return { input: { ids: ids(rng, 12, V), batchSize: 2, seqLen: 6, lengths: Int32Array.from([6, 4]) }, labels: Int32Array.from([2, 0]) };
    case 'canvas-classifier': {
      const { numChannels: C, imageSize: S } = model.config;
      const pixels = Float32Array.from({ length: 2 * C * S * S }, () => rng.normal());
      return { input: { ids: new Int32Array(0), batchSize: 2, seqLen: 1, pixels }, labels: Int32Array.from([2, 0]) };
    }
    case 'stn-classifier':
      throw new Error('the stn-classifier has its own gradient test');
    case 'glimpse-classifier':
      throw new Error('the glimpse-classifier has its own gradient tests');
    case 'image-captioner':
    case 'vision-encoder-decoder': {
      const tgtLengths = Int32Array.from([4, 3]);
      const pixels = Float32Array.from({ length: 2 * 4 * 6 }, () => rng.next());
      return {
        input: { ids: new Int32Array(0), batchSize: 2, seqLen: 0, pixels },
        target: { ids: ids(rng, 8, V), batchSize: 2, seqLen: 4, lengths: tgtLengths },
        labels: ids(rng, 8, V),
        labelWeights: lengthWeights(tgtLengths, 4),
      };
    }
  }
}

function lossValue(model: AttendModel, batch: TrainBatch, labelSmoothing?: number): number {
  return tf.tidy(() => batchLoss(model, batch, { labelSmoothing }).dataSync()[0]!);
}

/** Analytic gradients of every parameter, by checkpoint name. */
function analyticGrads(model: AttendModel, batch: TrainBatch, labelSmoothing?: number): Map<string, Float32Array> {
  const params = model.namedParams();
  const { value, grads } = tf.variableGrads(() => batchLoss(model, batch, { labelSmoothing }), params.map((p) => p.variable));
  const out = new Map(params.map((p) => [p.name, Float32Array.from(grads[p.variable.name]?.dataSync() ?? [])]));
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** Parameters to probe, by name pattern, and how many entries (spread over the matching parameters). */
const PROBES: [RegExp, number][] = [
  [/self_attn\.q_proj\.weight$/, 2],
  [/self_attn\.(k_proj\.bias|v_proj\.weight)$/, 2],
  [/\.out_proj\.weight$/, 1],
  [/encoder_attn\.(q|k)_proj\.weight$/, 1],
  [/\.score\./, 4],
  [/layer_norm\.(weight|bias)$/, 3],
  [/fc1\.(weight|bias)$/, 2],
  [/fc2\.(weight|bias)$/, 1],
  [/embed_positions\.weight$/, 1],
  [/^(lm_head|classifier)\.weight$/, 2],
  [/rnn\.weight_(ih|hh)_l\d/, 6],
  [/rnn\.bias_(ih|hh)_l\d/, 3],
  [/^decoder\.(bridge|attention_combine)\./, 2],
  [/^decoder\.attention\./, 3],
  [/^embeddings\./, 4],
  [/^(classifier|localization)\.(layers\.\d+|out)\.(weight|bias)$/, 16],
  [/^classifier\.convs\.\d+\.(weight|bias)$/, 8],
  [/^(encoder\.(conv|positions)|decoder\.(init|out)_)/, 6],
  [/^decoder\.lstm\./, 3],
];


interface Probe {
  param: NamedParam;
  index: number;
}

/**
 * A random stream of its own for each probe pattern, seeded from the pattern's text, so
 * adding or reordering patterns never moves the probes another pattern draws.
 */
function patternRng(seed: number, pattern: RegExp | string): Rng {
  let h = 0x811c9dc5;
  for (const ch of String(pattern)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return createRng((seed * 0x9e3779b1 + h) >>> 0);
}

/**
 * Probes for each pattern. Each probe is the entry with the largest analytic gradient among
 * a few random candidates, so it rarely lands where the gradient is below what float32
 * central differences resolve (the comparison itself is unchanged, and the whole-tensor
 * directional check below still covers every entry).
 */
function chooseProbes(model: AttendModel, batch: TrainBatch, grads: Map<string, Float32Array>, seed: number, own: [RegExp, number][] = []): Probe[] {
  const CANDIDATES = 4;
  const pick = (param: NamedParam, draw: () => number): Probe => {
    const g = grads.get(param.name)!;
    let best = draw();
    for (let c = 1; c < CANDIDATES; c++) {
      const index = draw();
      if (Math.abs(g[index]!) > Math.abs(g[best]!)) best = index;
    }
    return { param, index: best };
  };
  const params = model.namedParams();
  const probes: Probe[] = [];
  for (const [pattern, count] of [...PROBES, ...own]) {
    const rng = patternRng(seed, pattern);
    const matching = params.filter((p) => pattern.test(p.name));
    for (let k = 0; k < count && matching.length > 0; k++) {
      const param = matching[k % matching.length]!;
      // Learned positions beyond the sequence get no gradient: probe the rows in use.
      const limit = /embed_positions/.test(param.name) ? 4 * model.config.dModel : param.variable.size;
      probes.push(pick(param, () => rng.int(limit)));
    }
  }
  // Embedding rows of tokens in the batch.
  const embed = params.find((p) => p.name === 'embed_tokens.weight');
  if (!embed) return probes;
  const used = [...new Set([...batch.input.ids, ...(batch.target?.ids ?? [])])];
  const rng = patternRng(seed, 'embed_tokens');
  for (let k = 0; k < 3; k++) probes.push(pick(embed, () => used[rng.int(used.length)]! * model.config.dModel + rng.int(model.config.dModel)));
  return probes;
}

/** Loss at the parameter values `original + delta` (then restores `original`). */
function lossAt(model: AttendModel, batch: TrainBatch, v: tf.Variable, delta: (values: Float32Array) => void, labelSmoothing?: number): number {
  const original = v.dataSync().slice() as Float32Array;
  const values = original.slice();
  delta(values);
  tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
  const loss = lossValue(model, batch, labelSmoothing);
  tf.tidy(() => v.assign(tf.tensor(original, v.shape, 'float32')));
  return loss;
}

function finiteDifference(model: AttendModel, batch: TrainBatch, probe: Probe, labelSmoothing?: number): number {
  const at = (delta: number): number => lossAt(model, batch, probe.param.variable, (x) => void (x[probe.index]! += delta), labelSmoothing);
  return (at(EPS) - at(-EPS)) / (2 * EPS);
}

/** Derivative of the loss along the unit vector u, by central differences. */
function directionalDifference(model: AttendModel, batch: TrainBatch, v: tf.Variable, u: Float32Array, labelSmoothing?: number): number {
  const at = (step: number): number => lossAt(model, batch, v, (x) => x.forEach((_, i) => (x[i]! += step * u[i]!)), labelSmoothing);
  return (at(EPS) - at(-EPS)) / (2 * EPS);
}

describe.each(CASES)('$label', (c) => {
  it('batchLoss gradients match central finite differences', async () => {
    await setupBackend(['cpu']);
    const model = makeModel(c, 1);
    const batch = makeBatch(model, 2);
    const grads = analyticGrads(model, batch, c.labelSmoothing);

    // Every parameter takes part in the loss and gets a gradient.
    for (const p of model.namedParams()) {
      const g = grads.get(p.name)!;
      expect(g.length, p.name).toBe(p.variable.size);
      expect(g.some((x) => x !== 0), p.name).toBe(true);
    }
    // The embedding row of a token absent from the batch gets exactly zero, unless the
    // output layer is tied to the embedding (then every row is an output weight).
    const d = model.config.dModel;
    if (hasTokens(model.config)) {
      const absentRow = Array.from(grads.get('embed_tokens.weight')!.slice((VOCAB - 1) * d, VOCAB * d));
      const tiedOutput = 'tieEmbeddings' in model.config && model.config.tieEmbeddings;
      if (tiedOutput) expect(absentRow.some((x) => x !== 0)).toBe(true);
      else expect(absentRow).toEqual(Array(d).fill(0));
    }

    const probes = chooseProbes(model, batch, grads, 3, c.probes);
    expect(probes.length).toBeGreaterThanOrEqual(14);
    const report: string[] = [];
    let bad = 0;
    let sizable = 0;
    for (const probe of probes) {
      const analytic = grads.get(probe.param.name)![probe.index]!;
      const numeric = finiteDifference(model, batch, probe, c.labelSmoothing);
      const ok = Math.abs(analytic - numeric) <= ATOL + RTOL * Math.max(Math.abs(analytic), Math.abs(numeric));
      if (!ok) bad++;
      if (Math.abs(numeric) > 3 * ATOL) sizable++;
      report.push(`${ok ? ' ' : '!'} ${probe.param.name}[${probe.index}]: analytic ${analytic.toExponential(4)}, numeric ${numeric.toExponential(4)}`);
    }
    expect(bad, report.join('\n')).toBe(0);
    // Most probes see a gradient well above the tolerance, so the check has teeth.
    expect(sizable, report.join('\n')).toBeGreaterThanOrEqual(0.6 * probes.length);

    // Every parameter tensor as a whole: the slope of the loss along the unit vector ĝ = g/‖g‖
    // is ‖g‖ exactly when g is the gradient (a wrong scale or direction gives less or more).
    const whole: string[] = [];
    for (const p of model.namedParams()) {
      const g = grads.get(p.name)!;
      const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
      const numeric = directionalDifference(model, batch, p.variable, g.map((x) => x / norm), c.labelSmoothing);
      if (Math.abs(numeric - norm) > ATOL + 1e-2 * norm) whole.push(`${p.name}: ‖g‖ ${norm.toExponential(4)}, slope along ĝ ${numeric.toExponential(4)}`);
    }
    expect(whole, whole.join('\n')).toEqual([]);
  });

  it('wasm gradients (custom UnsortedSegmentSum for the embedding) equal the cpu gradients', async () => {
    await setupBackend(['cpu']);
    const model = makeModel(c, 4);
    const batch = makeBatch(model, 5);
    const cpu = analyticGrads(model, batch, c.labelSmoothing);
    const cpuLoss = lossValue(model, batch, c.labelSmoothing);
    expect((await setupBackend(['wasm'])).name).toBe('wasm');
    const wasm = analyticGrads(model, batch, c.labelSmoothing);
    const wasmLoss = lossValue(model, batch, c.labelSmoothing);
    await setupBackend(['cpu']);
    expect(Math.abs(wasmLoss - cpuLoss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(cpuLoss)));
    for (const [name, g] of cpu) {
      const w = wasm.get(name)!;
      expect(w.length, name).toBe(g.length);
      const scale = Math.max(1, ...Array.from(g, Math.abs));
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(w[i]! - g[i]!));
      expect(worst / scale, name).toBeLessThan(1e-4);
    }
  });
});
