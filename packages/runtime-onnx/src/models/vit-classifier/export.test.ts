// The vit-classifier export: the ONNX graph (pixel_values → logits, attentions.{i}) equals the
// tfjs VitModel it was exported from, to 1e-4, under onnxruntime-node and onnxruntime-web, for
// patch sizes, channel counts, pixel scales, norm placements and score functions; the export
// folder (vit layout) loads and classifies as tfjs does; bad input is a one-line error.

import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, configAs, createModelConfig, createRng, ShapeError, type VitClassifierConfig } from '@attend/core';
import { createModel, imageTrainBatch, setupBackend, type AttendModel } from '@attend/transformer';
import { classify, classifyImages } from '../../classify.js';
import { asSession } from '../../graph-session.js';
import { TokenForwardSession } from '../encoder-classifier/session.js';
import { ImageClassifierSession } from './session.js';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES, exportFolderFiles } from '../../folder.js';
import { createOnnxModel as createNodeModel, loadExportFolder, loadOnnxModel, loadVitFolder } from '../../node.js';
import { createOnnxModel as createWebModel } from '../../web.js';
import { checkpointFiles, failure, maxAbsDiff, perturbed, writeFiles } from '../../test-utils/models.js';

const TOLERANCE = 1e-4;

type VitCase = Partial<Omit<VitClassifierConfig, 'preset'>> & Pick<VitClassifierConfig, 'imageSize' | 'patchSize' | 'numChannels'>;

const CASES: VitCase[] = [
  { imageSize: 4, patchSize: 2, numChannels: 2, pixelScale: 1 / 16 },
  { imageSize: 6, patchSize: 3, numChannels: 1, norm: 'post', activation: 'relu', attention: 'general' },
  { imageSize: 8, patchSize: 2, numChannels: 1, pixelScale: 1 / 255, attention: 'additive', numEncoderLayers: 1 },
  { imageSize: 4, patchSize: 1, numChannels: 3, attention: 'cosine', numHeads: 4 },
];

function vitModel(c: VitCase, seed: number): AttendModel {
  const S = c.imageSize;
  const p = c.patchSize;
  const config = createModelConfig({
    preset: 'vit-classifier',
    numClasses: 4,
    dModel: 8,
    numHeads: 2,
    numEncoderLayers: 2,
    dFf: 16,
    maxSeqLen: (S / p) ** 2 + 1,
    dropout: 0,
    ...c,
  });
  return perturbed(createModel(config, { seed }), seed);
}

/** `count` random images at the scale the model expects raw values (0 … 1/pixelScale). */
function images(model: AttendModel, count: number, seed: number): Float32Array {
  const c = vitConfigOf(model);
  const rng = createRng(seed);
  const top = 1 / c.pixelScale;
  return Float32Array.from({ length: count * c.numChannels * c.imageSize ** 2 }, () => Math.round(rng.next() * top));
}

/** The config of a model that `vitModel` made. */
const vitConfigOf = (model: AttendModel): VitClassifierConfig => configAs(model.config, ['vit-classifier'], 'the vit tests');

const webOptions = { numThreads: 1 } as const;

beforeAll(async () => {
  await setupBackend();
});

describe('vit-classifier: the optimized graph (fused operators) equals tfjs', () => {
  CASES.slice(0, 2).forEach((c, index) => {
    it(`attention ${c.attention ?? 'scaled_dot'}`, async () => {
      const model = vitModel(c, 30 + index);
      const B = 3;
      const pixels = images(model, B, index + 9);
      const expected = model.forward(imageTrainBatch(pixels, new Int32Array(B), vitConfigOf(model)).input);
      const bytes = exportCheckpointFiles(checkpointFiles(model), { optimize: true });
      expect(new TextDecoder().decode(bytes).includes('MultiHeadAttention')).toBe(c.attention === undefined);
      const sessions = [await createNodeModel(bytes), await createWebModel(bytes, webOptions)].map((s) => asSession(s, ImageClassifierSession));
      try {
        for (const session of sessions) expect(maxAbsDiff((await session.runImages(pixels, B)).logits.data, expected.logits.dataSync())).toBeLessThanOrEqual(TOLERANCE);
      } finally {
        for (const s of sessions) await s.release();
        tf.dispose(expected.logits);
        model.dispose();
      }
    });
  });
});

describe('vit-classifier: ONNX forward equals tfjs', () => {
  CASES.forEach((c, index) => {
    const label = Object.entries(c).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(4)) : v}`).join(' ');
    it(label, async () => {
      const model = vitModel(c, index);
      const B = 3;
      const pixels = images(model, B, index + 5);
      const batch = imageTrainBatch(pixels, new Int32Array(B), vitConfigOf(model));
      const expected = model.forward(batch.input, undefined, { returnAttention: true });
      const bytes = exportCheckpointFiles(checkpointFiles(model), { withAttention: true });
      const sessions = [await createNodeModel(bytes), await createWebModel(bytes, webOptions)].map((s) => asSession(s, ImageClassifierSession));
      try {
        for (const session of sessions) {
          expect(session.inputNames).toEqual(['pixel_values']);
          const out = await session.runImages(pixels, B);
          expect(out.logits.dims).toEqual([B, 4]);
          expect(maxAbsDiff(out.logits.data, expected.logits.dataSync()), 'logits').toBeLessThanOrEqual(TOLERANCE);
          const maps = expected.attention!.encoder;
          expect(Object.keys(out.attentions).sort()).toEqual(maps.map((_, i) => `attentions.${i}`));
          maps.forEach((map, i) => {
            const got = out.attentions[`attentions.${i}`]!;
            expect(got.dims).toEqual(map.shape);
            expect(maxAbsDiff(got.data, map.dataSync()), `attentions.${i}`).toBeLessThanOrEqual(TOLERANCE);
          });
        }
      } finally {
        for (const s of sessions) await s.release();
        tf.dispose([expected.logits, ...expected.attention!.encoder]);
        model.dispose();
      }
    });
  });

  it('the patch layout matters: a transposed image changes the logits (the test above could not pass with any layout)', async () => {
    const model = vitModel(CASES[0]!, 9);
    const session = asSession(await createNodeModel(exportCheckpointFiles(checkpointFiles(model))), ImageClassifierSession);
    try {
      const pixels = images(model, 1, 3);
      const S = 4;
      const transposed = Float32Array.from(pixels, (_, i) => {
        const c = Math.floor(i / (S * S));
        const r = Math.floor(i / S) % S;
        return pixels[c * S * S + (i % S) * S + r]!;
      });
      const a = await session.runImages(pixels, 1);
      const b = await session.runImages(transposed, 1);
      expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeGreaterThan(1e-3);
    } finally {
      await session.release();
      model.dispose();
    }
  });
});

describe('vit-classifier export folder', () => {
  let dir: string;
  let model: AttendModel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attend-vit-'));
    model = vitModel(CASES[2]!, 4);
    await writeFiles(dir, exportFolderFiles(checkpointFiles(model), { withAttention: true }));
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the vit layout: config.json (model_type vit, sizes, labels, attend), preprocessor_config.json, onnx/model.onnx, no tokenizer', () => {
    const files = exportFolderFiles(checkpointFiles(model));
    expect(Object.keys(files).sort()).toEqual([EXPORT_FILES.config, EXPORT_FILES.model, EXPORT_FILES.preprocessorConfig].sort());
    const config = JSON.parse(new TextDecoder().decode(files[EXPORT_FILES.config])) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'vit', architectures: ['ViTForImageClassification'], image_size: 8, patch_size: 2, num_channels: 1, num_labels: 4, hidden_size: 8 });
    expect(config.attend).toEqual(model.config);
    const pre = JSON.parse(new TextDecoder().decode(files[EXPORT_FILES.preprocessorConfig])) as Record<string, unknown>;
    expect(pre).toMatchObject({ image_processor_type: 'ViTImageProcessor', do_rescale: false, do_normalize: false, do_resize: false });
  });

  it('loadVitFolder + classifyImages give tfjs softmax and labels; loadOnnxModel takes the folder too', async () => {
    const B = 5;
    const pixels = images(model, B, 21);
    const expected = tf.tidy(() => tf.softmax(model.forward(imageTrainBatch(pixels, new Int32Array(B), vitConfigOf(model)).input).logits).arraySync() as number[][]);
    for (const session of [await loadVitFolder(dir), asSession(await loadOnnxModel(dir), ImageClassifierSession)]) {
      try {
        const rows = await classifyImages(session, pixels, B);
        rows.forEach((r, b) => {
          expect(maxAbsDiff(r.probabilities, expected[b]!)).toBeLessThanOrEqual(TOLERANCE);
          expect(r.label).toBe(expected[b]!.indexOf(Math.max(...expected[b]!)));
        });
      } finally {
        await session.release();
      }
    }
  });

  it('bad input and the wrong loaders are one-line errors', async () => {
    expect(await failure(loadExportFolder(dir), CheckpointError)).toMatch(/config\.json: a vit-classifier export .*loadVitFolder/);
    const session = await loadVitFolder(dir);
    try {
      expect(await failure(session.runImages(new Float32Array(63), 1), ShapeError)).toBe('pixel_values: 63 values for shape [1, 1, 8, 8]');
      const nan = new Float32Array(128);
      nan[70] = NaN;
      expect(await failure(session.runImages(nan, 2), ShapeError)).toBe('pixel_values: value 70 of image 1 is NaN; expected a finite number');
      expect(() => asSession(session, TokenForwardSession)).toThrow(/holds a vit-classifier 'forward' graph, which TokenForwardSession does not run/);
      expect(await failure(classify(session, { ids: new Int32Array(1), batchSize: 1, seqLen: 1 }), ShapeError)).toMatch(/encoder-classifier export; this model is a 'vit-classifier'/);
    } finally {
      await session.release();
    }
    const noPre = await mkdtemp(join(tmpdir(), 'attend-vit-nopre-'));
    try {
      const { [EXPORT_FILES.preprocessorConfig]: _, ...rest } = exportFolderFiles(checkpointFiles(model));
      await writeFiles(noPre, rest);
      expect(await failure(loadVitFolder(noPre), CheckpointError)).toMatch(/preprocessor_config\.json/);
    } finally {
      await rm(noPre, { recursive: true, force: true });
    }
  });
});
