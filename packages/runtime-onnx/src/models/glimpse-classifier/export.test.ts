// The glimpse-classifier export: the unrolled ONNX graph (pixel_values → logits, locations)
// equals the tfjs GlimpseModel's deterministic path to 1e-4 under onnxruntime-node and
// onnxruntime-web, for scale counts, patch sizes, channels, pixel scales and glimpse counts —
// with weights that move the glimpses off the centre and patches that hang over the canvas edge
// (zero padding); the export folder loads and classifies as tfjs does.

import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configAs, createModelConfig, createRng, ShapeError, type GlimpseClassifierConfig } from '@attend/core';
import { createModel, imageTrainBatch, setupBackend, type AttendModel, type GlimpseModel } from '@attend/transformer';
import { classifyImages } from '../../classify.js';
import { asSession } from '../../graph-session.js';
import { TokenForwardSession } from '../encoder-classifier/session.js';
import { ImageClassifierSession } from '../vit-classifier/session.js';
import { exportCheckpointFiles } from '../../export.js';
import { EXPORT_FILES, exportFolderFiles } from '../../folder.js';
import { createOnnxModel as createNodeModel, loadOnnxModel, loadVitFolder } from '../../node.js';
import { createOnnxModel as createWebModel } from '../../web.js';
import { checkpointFiles, failure, maxAbsDiff, perturbed, writeFiles } from '../../test-utils/models.js';

const TOLERANCE = 1e-4;

type GlimpseCase = Partial<Omit<GlimpseClassifierConfig, 'preset'>>;

const CASES: GlimpseCase[] = [
  { imageSize: 16, glimpsePatch: 4, numScales: 2, numGlimpses: 3 },
  { imageSize: 12, glimpsePatch: 3, numScales: 3, numGlimpses: 5, numChannels: 2, pixelScale: 1 / 16 },
  { imageSize: 10, glimpsePatch: 5, numScales: 1, numGlimpses: 1 },
];

function glimpseModel(c: GlimpseCase, seed: number): GlimpseModel {
  const config = createModelConfig({
    preset: 'glimpse-classifier', numClasses: 4, dModel: 12, glimpseHidden: 8, locationHidden: 4, glimpseSize: 10,
    maxSeqLen: c.numGlimpses, ...c,
  });
  return perturbed(createModel(config, { seed }), seed) as GlimpseModel;
}

const configOf = (model: AttendModel): GlimpseClassifierConfig => configAs(model.config, ['glimpse-classifier'], 'the glimpse tests');

/** `count` random images at the scale the model expects raw values (0 … 1/pixelScale). */
function images(model: AttendModel, count: number, seed: number): Float32Array {
  const c = configOf(model);
  const rng = createRng(seed);
  return Float32Array.from({ length: count * c.numChannels * c.imageSize ** 2 }, () => Math.round(rng.next() / c.pixelScale));
}

beforeAll(async () => {
  await setupBackend();
});

describe('glimpse-classifier: ONNX forward equals tfjs', () => {
  CASES.forEach((c, index) => {
    const label = Object.entries(c).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(4)) : v}`).join(' ');
    it(label, async () => {
      const model = glimpseModel(c, index);
      const B = 4;
      const pixels = images(model, B, index + 5);
      const expected = model.rollout(imageTrainBatch(pixels, new Int32Array(B), configOf(model)).input, false);
      const locations = expected.locations.dataSync();
      if (configOf(model).numGlimpses > 1) {
        // The perturbed policy looks away from the centre, near enough to the edge that coarse patches hang over it.
        expect(Math.max(...locations.map(Math.abs))).toBeGreaterThan(0.5);
      }
      const bytes = exportCheckpointFiles(checkpointFiles(model));
      const sessions = [await createNodeModel(bytes), await createWebModel(bytes, { numThreads: 1 })].map((s) => asSession(s, ImageClassifierSession));
      try {
        for (const session of sessions) {
          expect(session.inputNames).toEqual(['pixel_values']);
          const out = await session.runImages(pixels, B);
          expect(out.logits.dims).toEqual([B, 4]);
          expect(maxAbsDiff(out.logits.data, expected.logits.dataSync()), 'logits').toBeLessThanOrEqual(TOLERANCE);
          const got = out.attentions.locations!;
          expect(got.dims).toEqual(expected.locations.shape);
          expect(maxAbsDiff(got.data, locations), 'locations').toBeLessThanOrEqual(TOLERANCE);
        }
      } finally {
        for (const s of sessions) await s.release();
        tf.dispose([expected.logits, expected.locations, expected.means, expected.baselines]);
        model.dispose();
      }
    });
  });
});

describe('glimpse-classifier export folder', () => {
  let dir: string;
  let model: GlimpseModel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attend-glimpse-'));
    model = glimpseModel(CASES[0]!, 4);
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
    expect(config).toMatchObject({ model_type: 'attend-glimpse-classifier', image_size: 16, num_glimpses: 3, num_labels: 4, hidden_size: 12 });
    expect(config.attend).toEqual(model.config);
  });

  it('loadVitFolder / loadOnnxModel + classifyImages give the tfjs softmax and labels; bad input is a one-line error', async () => {
    const B = 5;
    const pixels = images(model, B, 21);
    const expected = tf.tidy(() => tf.softmax(model.forward(imageTrainBatch(pixels, new Int32Array(B), configOf(model)).input).logits).arraySync() as number[][]);
    for (const session of [await loadVitFolder(dir), asSession(await loadOnnxModel(dir), ImageClassifierSession)]) {
      try {
        const rows = await classifyImages(session, pixels, B);
        rows.forEach((r, b) => {
          expect(maxAbsDiff(r.probabilities, expected[b]!)).toBeLessThanOrEqual(TOLERANCE);
          expect(r.label).toBe(expected[b]!.indexOf(Math.max(...expected[b]!)));
        });
        expect(await failure(session.runImages(new Float32Array(10), 1), ShapeError)).toBe('pixel_values: 10 values for shape [1, 1, 16, 16]');
        expect(() => asSession(session, TokenForwardSession)).toThrow(/holds a glimpse-classifier 'forward' graph, which TokenForwardSession does not run/);
      } finally {
        await session.release();
      }
    }
  });
});
