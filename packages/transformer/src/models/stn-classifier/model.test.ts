// The stn-classifier: θ starts as the identity (the sampler then reproduces the canvas, or its
// 2 × 2 averages at half the size, and the STN's logits are the canvas classifier's on that
// image), the gradient of the whole training loss (classifier, sampler, θ, localisation
// network) against central finite differences, and wasm gradients against cpu ones.

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createModelConfig, createRng, identityParams, type StnClassifierConfig } from '@attend/core';
import { setupBackend } from '../../backend.js';
import { createModel } from '../../models.js';
import { maxAbsDiff, randomizeParams } from '../../test-utils/weights.js';
import type { NamedParam } from '../../params.js';
import { batchLoss, type TrainBatch } from '../../trainer.js';
import { CanvasModel, Mlp } from '../canvas-classifier/model.js';
import { StnModel } from './model.js';

afterEach(() => {
  tf.disposeVariables();
});

const tiny = (overrides: Partial<StnClassifierConfig> = {}): StnClassifierConfig =>
  createModelConfig({ preset: 'stn-classifier', numClasses: 3, imageSize: 8, numChannels: 1, pixelScale: 1, outputSize: 4, locHiddenSize: 5, dModel: 6, numHiddenLayers: 1, dropout: 0, ...overrides });

const randomImages = (count: number, config: StnClassifierConfig, seed: number): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: count * config.numChannels * config.imageSize ** 2 }, () => rng.normal());
};

const imageBatch = (pixels: Float32Array, labels: number[]): TrainBatch => ({ input: { ids: new Int32Array(0), batchSize: labels.length, seqLen: 1, pixels }, labels: Int32Array.from(labels) });

/** 2 × 2 averages of single-channel images [B, S, S] → [B, S/2, S/2]. */
function pooled(pixels: Float32Array, B: number, S: number): Float32Array {
  const h = S / 2;
  const out = new Float32Array(B * h * h);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < h; j++) {
        const at = (r: number, c: number): number => pixels[b * S * S + r * S + c]!;
        out[b * h * h + i * h + j] = (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4;
      }
    }
  }
  return out;
}

describe('stn-classifier', () => {
  it('starts at the identity θ: the sampler reproduces the canvas at its size and its 2 × 2 averages at half of it', async () => {
    await setupBackend(['cpu']);
    for (const outputSize of [8, 4]) {
      const config = tiny({ outputSize, pixelScale: 0.5 });
      const model = new StnModel(config, { seed: 1 });
      const pixels = randomImages(2, config, 2);
      const { theta, output } = model.transform(imageBatch(pixels, [0, 1]).input);
      expect(Array.from(theta.dataSync())).toEqual([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]);
      const scaled = pixels.map((x) => x * 0.5);
      const expected = outputSize === 8 ? scaled : pooled(scaled, 2, 8);
      expect(output.shape).toEqual([2, 1, outputSize, outputSize]);
      expect(maxAbsDiff(output.dataSync(), expected)).toBeLessThan(1e-6);
      tf.dispose([theta, output]);
    }
  });

  it("at the identity θ its logits are the canvas classifier's on the image the sampler reads", async () => {
    await setupBackend(['cpu']);
    const config = tiny();
    const stn = new StnModel(config, { seed: 3 });
    const canvas = new CanvasModel(createModelConfig({ ...config, preset: 'canvas-classifier', imageSize: 4, outputSize: undefined, locHiddenSize: undefined, locConvChannels: undefined, stnTransform: undefined } as never), { seed: 9 });
    const weights = new Map(stn.namedParams().map((p) => [p.name, p.variable]));
    for (const p of canvas.namedParams()) p.variable.assign(weights.get(p.name)!);
    const pixels = randomImages(3, config, 4);
    const fromStn = stn.forward(imageBatch(pixels, [0, 1, 2]).input).logits;
    const fromCanvas = canvas.forward(imageBatch(pooled(pixels, 3, 8), [0, 1, 2]).input).logits;
    expect(maxAbsDiff(fromStn.dataSync(), fromCanvas.dataSync())).toBeLessThan(1e-5);
    // A θ that is not the identity reads another image: the localisation network matters.
    const bias = stn.namedParams().find((p) => p.name === 'localization.out.bias')!.variable;
    bias.assign(tf.tensor1d([0.5, 0, 0.25, 0, 0.5, -0.25]));
    const moved = stn.forward(imageBatch(pixels, [0, 1, 2]).input).logits;
    expect(maxAbsDiff(moved.dataSync(), fromCanvas.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([fromStn, fromCanvas, moved]);
  });

  /** A model near its start (θ within a few hundredths of the identity, so no sample crosses a pixel edge within ±eps) with random weights elsewhere. */
  function nearIdentityModel(seed: number, overrides: Partial<StnClassifierConfig> = {}): StnModel {
    const model = new StnModel(tiny(overrides), { seed });
    const params = model.namedParams();
    randomizeParams(params.filter((p) => p.name.startsWith('classifier.')), seed, 0.3);
    randomizeParams(params.filter((p) => p.name.startsWith('localization.')), seed + 1, 0.03);
    const bias = params.find((p) => p.name === 'localization.out.bias')!.variable;
    bias.assign(tf.add(bias, tf.tensor1d(identityParams(model.config) as number[])));
    return model;
  }

  const loss = (model: StnModel, batch: TrainBatch): number => tf.tidy(() => batchLoss(model, batch).dataSync()[0]!);

  it.each([
    { locConvChannels: [], stnTransform: 'affine' as const },
    { locConvChannels: [2], stnTransform: 'affine' as const },
    { locConvChannels: [], stnTransform: 'attention' as const },
  ])('has the gradient of central finite differences through the classifier, the sampler, θ and the localisation network (its conv blocks $locConvChannels, θ $stnTransform)', async ({ locConvChannels, stnTransform }) => {
    await setupBackend(['cpu']);
    const model = nearIdentityModel(5, { locConvChannels, stnTransform });
    const thetaParams = identityParams(model.config).length;
    const batch = imageBatch(randomImages(2, model.config, 6), [2, 0]);
    const params = model.namedParams();
    const { value, grads } = tf.variableGrads(() => batchLoss(model, batch), params.map((p) => p.variable));
    const rng = createRng(7);
    // eps 1e-3: at 1e-2 a θ step moves samples far enough to cross a ReLU's kink in the classifier.
    const eps = 1e-3;
    const report: string[] = [];
    let bad = 0;
    const probe = (p: NamedParam, index: number): void => {
      const v = p.variable;
      const original = v.dataSync().slice() as Float32Array;
      const at = (delta: number): number => {
        const values = original.slice();
        values[index]! += delta;
        v.assign(tf.tensor(values, v.shape));
        return loss(model, batch);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(original, v.shape));
      const analytic = grads[v.name]!.dataSync()[index]!;
      const ok = Math.abs(analytic - numeric) <= 1e-4 + 3e-2 * Math.abs(numeric);
      if (!ok) bad++;
      report.push(`${ok ? ' ' : '!'} ${p.name}[${index}]: analytic ${analytic.toExponential(4)}, numeric ${numeric.toExponential(4)}`);
    };
    const byName = new Map(params.map((p) => [p.name, p]));
    for (let i = 0; i < thetaParams; i++) probe(byName.get('localization.out.bias')!, i); // θ itself, or the attention transform's (s, tx, ty)
    const convs = locConvChannels.length > 0 ? ['localization.convs.0.weight', 'localization.convs.0.bias'] : [];
    for (const name of [...convs, 'localization.out.weight', 'localization.layers.0.weight', 'localization.layers.0.bias', 'classifier.layers.0.weight', 'classifier.out.weight']) {
      const p = byName.get(name)!;
      for (let k = 0; k < 3; k++) probe(p, rng.int(p.variable.size));
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(bad, report.join('\n')).toBe(0);
    // θ's gradient is not zero: the loss depends on where the sampler looks.
    expect(report.slice(0, thetaParams).filter((line) => !/analytic 0\.0+e\+0/.test(line)).length).toBe(thetaParams);
  });

  it.each([
    { convChannels: [], locConvChannels: [] },
    { convChannels: [2, 3], locConvChannels: [] },
    { convChannels: [2], locConvChannels: [3, 2] },
  ])('wasm gradients equal the cpu gradients (classifier conv blocks $convChannels, localisation blocks $locConvChannels)', async (blocks) => {
    await setupBackend(['cpu']);
    const model = nearIdentityModel(8, blocks);
    const batch = imageBatch(randomImages(3, model.config, 9), [1, 2, 0]);
    const gradsOn = (): Map<string, Float32Array> => {
      const params = model.namedParams();
      const { value, grads } = tf.variableGrads(() => batchLoss(model, batch), params.map((p) => p.variable));
      const out = new Map(params.map((p) => [p.name, Float32Array.from(grads[p.variable.name]!.dataSync())]));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const cpu = gradsOn();
    expect((await setupBackend(['wasm'])).name).toBe('wasm');
    const wasm = gradsOn();
    await setupBackend(['cpu']);
    for (const [name, g] of cpu) expect(maxAbsDiff(wasm.get(name)!, g) / Math.max(1, ...Array.from(g, Math.abs)), name).toBeLessThan(1e-4);
  });

  it('with the attention transform only zooms and shifts: θ = [[s, 0, tx], [0, s, ty]], the identity at the start', async () => {
    await setupBackend(['cpu']);
    const model = new StnModel(tiny({ stnTransform: 'attention' }), { seed: 2 });
    const input = imageBatch(randomImages(2, model.config, 3), [0, 1]).input;
    const start = model.transform(input);
    expect(Array.from(start.theta.dataSync())).toEqual([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]);
    randomizeParams(model.namedParams().filter((p) => p.name.startsWith('localization.')), 4, 0.3);
    const moved = model.transform(input);
    const t = Array.from(moved.theta.dataSync());
    for (const b of [0, 6]) {
      expect([t[b + 1], t[b + 3]]).toEqual([0, 0]);
      expect(t[b + 4]).toBe(t[b]);
      expect(t[b]).not.toBe(1);
    }
    tf.dispose([start.theta, start.output, moved.theta, moved.output]);
  });

  it('is built by createModel and counts its parameters', () => {
    const config = tiny();
    const model = createModel(config, { seed: 1 });
    // localisation 64·5 + 5 + 5·6 + 6, classifier 16·6 + 6 + 6·3 + 3.
    expect(model.parameterCount()).toBe(64 * 5 + 5 + 5 * 6 + 6 + (16 * 6 + 6 + 6 * 3 + 3));
    // A conv block of 4 channels on the 8 × 8 canvas (3·3·1·4 + 4) leaves 4 · 4 · 4 values for the localisation MLP.
    const cnn = createModel(tiny({ locConvChannels: [4] }), { seed: 1 });
    expect(cnn.parameterCount()).toBe(9 * 4 + 4 + 64 * 5 + 5 + 5 * 6 + 6 + (16 * 6 + 6 + 6 * 3 + 3));
    // The attention transform's localisation network ends in 3 values.
    expect(createModel(tiny({ stnTransform: 'attention' }), { seed: 1 }).parameterCount()).toBe(64 * 5 + 5 + 5 * 3 + 3 + (16 * 6 + 6 + 6 * 3 + 3));
  });

  it('starts at the identity θ with a CNN localisation network too, and initialises an MLP one as before the blocks existed', async () => {
    await setupBackend(['cpu']);
    const model = new StnModel(tiny({ locConvChannels: [3, 2] }), { seed: 2 });
    const { theta, output } = model.transform(imageBatch(randomImages(2, model.config, 3), [0, 1]).input);
    expect(Array.from(theta.dataSync())).toEqual([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]);
    tf.dispose([theta, output]);
    // An MLP localisation network (no blocks) draws the same initial weights as the Mlp it was before.
    const mlp = new StnModel(tiny(), { seed: 2 });
    const hidden = mlp.namedParams().find((p) => p.name === 'localization.layers.0.weight')!.variable;
    const before = new Mlp('localization', [64, 5, 6], 2 * 7919 + 3);
    expect(maxAbsDiff(hidden.dataSync(), before.namedParams().find((p) => p.name === 'localization.layers.0.weight')!.variable.dataSync())).toBe(0);
  });
});
