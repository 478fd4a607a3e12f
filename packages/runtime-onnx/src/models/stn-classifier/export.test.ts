// The canvas- and stn-classifier exports: the ONNX graph (pixel_values → logits; the STN's θ
// and sampled image with attention) equals the tfjs model it was exported from, to 1e-4, under
// onnxruntime-node and onnxruntime-web — with random weights, so θ zooms, rotates, shifts and
// reads outside the canvas (GridSample's zero padding); the export folder loads and classifies.

import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, createModelConfig, createRng, imageConfig, type CanvasClassifierConfig, type StnClassifierConfig } from '@attend/core';
import { createModel, imageTrainBatch, setupBackend, StnModel, type AttendModel } from '@attend/transformer';
import { classifyImages } from '../../classify.js';
import { asSession } from '../../graph-session.js';
import { ImageClassifierSession } from '../vit-classifier/session.js';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES, exportFolderFiles } from '../../folder.js';
import { createOnnxModel as createNodeModel, loadExportFolder, loadVitFolder } from '../../node.js';
import { createOnnxModel as createWebModel } from '../../web.js';
import { checkpointFiles, failure, maxAbsDiff, perturbed, writeFiles } from '../../test-utils/models.js';

const TOLERANCE = 1e-4;

type Case = Partial<Omit<StnClassifierConfig, 'preset'>> & { preset: 'canvas-classifier' | 'stn-classifier' };

const CASES: Case[] = [
  { preset: 'canvas-classifier', imageSize: 6, numChannels: 2, pixelScale: 1 / 16, numHiddenLayers: 2 },
  { preset: 'stn-classifier', imageSize: 8, numChannels: 1, pixelScale: 1 / 16, outputSize: 4 },
  { preset: 'stn-classifier', imageSize: 7, numChannels: 2, pixelScale: 1, outputSize: 5, numHiddenLayers: 2 },
  // The CNN classifier: Conv (3 × 3, padding 1), Relu, MaxPool — odd sides floor as tfjs's valid pool does.
  { preset: 'canvas-classifier', imageSize: 9, numChannels: 2, pixelScale: 1 / 16, convChannels: [3, 4] },
  { preset: 'stn-classifier', imageSize: 8, numChannels: 1, pixelScale: 1 / 16, outputSize: 6, convChannels: [3] },
  // A CNN localisation network (odd canvas side, two blocks) beside a CNN classifier.
  { preset: 'stn-classifier', imageSize: 9, numChannels: 2, pixelScale: 1 / 16, outputSize: 6, convChannels: [3], locConvChannels: [4, 2] },
  // The attention transform: (s, tx, ty) to θ by a MatMul with a constant.
  { preset: 'stn-classifier', imageSize: 8, numChannels: 1, pixelScale: 1 / 16, outputSize: 5, convChannels: [3], stnTransform: 'attention' },
];

function imageModel(c: Case, seed: number): AttendModel {
  const { preset, outputSize, locHiddenSize, locConvChannels, stnTransform, ...rest } = c;
  const fields = { numClasses: 4, dModel: 8, numHiddenLayers: 1, dropout: 0, maxSeqLen: 1, ...rest };
  const config = preset === 'stn-classifier' ? createModelConfig({ preset, ...fields, outputSize, locHiddenSize: locHiddenSize ?? 5, locConvChannels: locConvChannels ?? [], stnTransform: stnTransform ?? 'affine' }) : createModelConfig({ preset, ...fields });
  return perturbed(createModel(config, { seed }), seed);
}

/** `count` random images of raw values 0 … 1/pixelScale. */
function images(model: AttendModel, count: number, seed: number): Float32Array {
  const c = imageConfig(model.config, 'the image tests');
  const rng = createRng(seed);
  return Float32Array.from({ length: count * c.numChannels * c.imageSize ** 2 }, () => Math.round(rng.next() / c.pixelScale));
}

beforeAll(async () => {
  await setupBackend();
});

describe('canvas- and stn-classifier: ONNX forward equals tfjs', () => {
  CASES.forEach((c, index) => {
    it(Object.entries(c).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(4)) : Array.isArray(v) ? `[${v}]` : v}`).join(' '), async () => {
      const model = imageModel(c, index);
      const B = 3;
      const pixels = images(model, B, index + 5);
      const batch = imageTrainBatch(pixels, new Int32Array(B), imageConfig(model.config, 'test'));
      const logits = model.forward(batch.input).logits;
      const stn = model instanceof StnModel ? model.transform(batch.input) : undefined;
      const sessions = [await createNodeModel(exportCheckpointFiles(checkpointFiles(model), { withAttention: true })), await createWebModel(exportCheckpointFiles(checkpointFiles(model), { withAttention: true }), { numThreads: 1 })].map((s) => asSession(s, ImageClassifierSession));
      try {
        for (const session of sessions) {
          expect(session.inputNames).toEqual(['pixel_values']);
          const out = await session.runImages(pixels, B);
          expect(out.logits.dims).toEqual([B, 4]);
          expect(maxAbsDiff(out.logits.data, logits.dataSync()), 'logits').toBeLessThanOrEqual(TOLERANCE);
          if (!stn) {
            expect(Object.keys(out.attentions)).toEqual([]);
            continue;
          }
          expect(Object.keys(out.attentions).sort()).toEqual(['theta', 'transformed']);
          expect(out.attentions.theta!.dims).toEqual([B, 2, 3]);
          expect(maxAbsDiff(out.attentions.theta!.data, stn.theta.dataSync()), 'theta').toBeLessThanOrEqual(TOLERANCE);
          expect(out.attentions.transformed!.dims).toEqual(stn.output.shape);
          expect(maxAbsDiff(out.attentions.transformed!.data, stn.output.dataSync()), 'transformed').toBeLessThanOrEqual(TOLERANCE);
        }
        if (stn) {
          // The random weights give a θ far from the identity, some samples outside the canvas.
          const theta = stn.theta.dataSync();
          expect(Math.max(...Array.from(theta, (x, i) => Math.abs(x - [1, 0, 0, 0, 1, 0][i % 6]!)))).toBeGreaterThan(0.3);
        }
      } finally {
        for (const s of sessions) await s.release();
        tf.dispose([logits, ...(stn ? [stn.theta, stn.output] : [])]);
        model.dispose();
      }
    });
  });
});

describe('stn-classifier export folder', () => {
  let dir: string;
  let model: AttendModel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attend-stn-'));
    model = imageModel(CASES[1]!, 4);
    await writeFiles(dir, exportFolderFiles(checkpointFiles(model)));
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("holds config.json (attend's model_type, sizes, labels, attend) and onnx/model.onnx, no tokenizer", () => {
    const files = exportFolderFiles(checkpointFiles(model));
    expect(Object.keys(files).sort()).toEqual([EXPORT_FILES.config, EXPORT_FILES.model].sort());
    const config = JSON.parse(new TextDecoder().decode(files[EXPORT_FILES.config])) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'attend-stn-classifier', image_size: 8, num_channels: 1, num_labels: 4 });
    expect(config.attend).toEqual(model.config);
  });

  it('loadVitFolder + classifyImages give the tfjs softmax; the text loader refuses it', async () => {
    const B = 4;
    const pixels = images(model, B, 21);
    const expected = tf.tidy(() => tf.softmax(model.forward(imageTrainBatch(pixels, new Int32Array(B), imageConfig(model.config, 'test')).input).logits).arraySync() as number[][]);
    const session = await loadVitFolder(dir);
    try {
      const rows = await classifyImages(session, pixels, B);
      rows.forEach((r, b) => expect(maxAbsDiff(r.probabilities, expected[b]!)).toBeLessThanOrEqual(TOLERANCE));
    } finally {
      await session.release();
    }
    expect(await failure(loadExportFolder(dir), CheckpointError)).toMatch(/config\.json: an? stn-classifier export .*loadVitFolder/);
  });
});
