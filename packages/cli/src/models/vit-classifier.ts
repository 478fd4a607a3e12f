// The CLI's vit-classifier: trains on a CSV of images (--images; no tokenizer), its input to
// `attention` is one CSV line of pixel values; its maps are the CLS token's attention over the
// patch grid, its rollout and the full self-attention.

import { batchLengths, imageConfig, imagePositions, trainDevSplit, type ImageClassifierConfig, type VitClassifierConfig } from '@attend/core';
import type { AttendModel } from '@attend/transformer';
import type { ForwardOutputs } from '@attend/runtime-onnx';
import { CliError } from '../errors.js';
import { imageInputs } from '../inputs.js';
import { withPngLines } from '../png-input.js';
import type { TrainData } from '../train-data.js';
import { exportLayers, imageAttentionSets, predicted, readTensors } from './attention.js';
import { forwardTimings, modelSession, randomImages } from './bench.js';
import type { CliKind, Parity, TrainKind, Transformer } from './kind.js';
import { maxDiff, tfjsLogits } from './parity.js';
import { accuracyReport } from './train.js';

type Images = Extract<TrainData, { preset: 'vit-classifier' }>;

/** The default patch side for images of side S: the divisor of S nearest S/4 (8 → 2, 28 → 7, 32 → 8). */
export function defaultPatchSize(imageSize: number): number {
  let best = 1;
  for (let p = 1; p <= imageSize; p++) if (imageSize % p === 0 && Math.abs(p - imageSize / 4) < Math.abs(best - imageSize / 4)) best = p;
  return best;
}

/**
 * `attend train` of an image classifier: a CSV of images (--images) or the cluttered-digits
 * canvases, no tokenizer. `positions`: the ViT reads its patches + CLS, the MLP kinds (canvas,
 * STN) the image whole, the glimpse model a few glimpses.
 */
export function imageTraining(positions: 'patches' | 'whole' | 'glimpses'): TrainKind<Images> {
  return {
    data: 'vit-classifier',
    unit: 'examples/s',
    sizes(data, _tokenizer, _s, { dModel, patchSize = defaultPatchSize(data.imageSize) }) {
      return {
        numClasses: data.numClasses,
        dFf: 2 * dModel,
        imageSize: data.imageSize,
        numChannels: data.numChannels,
        pixelScale: data.pixelScale,
        // The ViT's sequence is its patches + CLS; a glimpse model's maxSeqLen is its kind's default (≥ its glimpses).
        ...(positions === 'patches' ? { patchSize, maxSeqLen: data.imageSize % patchSize === 0 ? (data.imageSize / patchSize) ** 2 + 1 : 2 } : positions === 'whole' ? { maxSeqLen: 1 } : {}),
      };
    },
    task(t, data, _tokenizer, model, s) {
      const config = imageConfig(model, `${data.source}: images`);
      const size = config.numChannels * config.imageSize ** 2;
      if (data.images[0]!.features.length !== size) {
        throw new CliError(`${data.source}: ${data.images[0]!.features.length} pixel values per row, but the model takes ${config.numChannels} × ${config.imageSize} × ${config.imageSize} = ${size}`);
      }
      const devFraction = Math.min(0.1, s.devSize / data.images.length);
      const { train: trainImages, dev } = data.dev ? { train: data.images, dev: data.dev } : trainDevSplit(data.images, { devFraction, seed: s.seed });
      if (dev.length === 0 || trainImages.length === 0) throw new CliError(`${data.source}: too few images for a train and a dev set (${data.images.length})`);
      const task = t.imageClassificationTask(trainImages, dev, config, { batchSize: s.batchSize, seed: s.seed });
      const n = imagePositions(config);
      const G = 'patchSize' in config ? config.imageSize / config.patchSize : 0;
      const report = accuracyReport(task);
      return {
        nextBatch: task.nextBatch,
        ...report,
        // A glimpse-classifier also reports its mean REINFORCE reward over the training steps since the last evaluation.
        ...(positions === 'glimpses'
          ? {
              evaluate: async (m, rows) => {
                const metrics = await report.evaluate(m, rows);
                const reward = m instanceof t.GlimpseModel ? m.takeReward() : undefined;
                return { ...metrics, ...(reward !== undefined ? { reward } : {}) };
              },
            }
          : {}),
        size: `${trainImages.length} images, dev ${dev.length}; ${config.numChannels}×${config.imageSize}×${config.imageSize}${'patchSize' in config ? ` in ${G}×${G} patches of ${config.patchSize}×${config.patchSize}` : 'numGlimpses' in config ? ` in ${config.numGlimpses} glimpses of ${config.numScales} scales` : ''}`,
        lengths: batchLengths({ input: n }),
      };
    },
  };
}

/** The parity check of `attend export` on any image classifier: its graph on seeded images against the tfjs model. */
export async function imageParity(t: Transformer, model: AttendModel, config: ImageClassifierConfig, exportDir: string): Promise<Parity> {
  const rt = await import('@attend/runtime-onnx/node');
  // Raw pixel values spread over [0, 1 / pixelScale], the range the model was trained on.
  const count = 3;
  const pixels = randomImages(config, count, 1);
  const onnx = await rt.loadVitFolder(exportDir);
  try {
    const out = await onnx.runImages(pixels, count);
    return { maxAbsDiff: maxDiff(tfjsLogits(model, t.imageTrainBatch(pixels, new Int32Array(count), config).input), out.logits.data), rows: count, seqLen: imagePositions(config), images: true };
  } finally {
    await onnx.release();
  }
}

/** `use` of the outputs of the image classifier exported in `dir` on `text` (a CSV line of pixel values, or a PNG file), with the pixels read. */
export async function imageExportRun<T>(dir: string, config: ImageClassifierConfig, text: string, use: (out: ForwardOutputs, pixels: Float32Array) => T): Promise<T> {
  const rt = await import('@attend/runtime-onnx/node');
  const model = await rt.loadVitFolder(dir);
  try {
    const { pixels } = imageInputs(await withPngLines([text], config), config);
    return use(await model.runImages(pixels, 1), pixels);
  } finally {
    await model.release();
  }
}

/** attend bench of any image classifier: one image through the export, random image batches to train on. */
export const IMAGE_BENCH: CliKind<ImageClassifierConfig>['bench'] = {
  export: async (rt, config, sessions, _ids, seconds) => {
    const image = randomImages(config, 1, 1);
    const model = rt.asSession(modelSession(sessions), rt.ImageClassifierSession);
    return forwardTimings(() => model.runImages(image, 1), seconds);
  },
  trainBatch: (t, config, B, _n, rng) => t.imageTrainBatch(randomImages(config, B, rng.int(1 << 30)), Int32Array.from({ length: B }, () => rng.int(config.numClasses)), config),
};

export const VIT_CLASSIFIER: CliKind<VitClassifierConfig> = {
  train: imageTraining('patches'),
  attention: {
    async checkpoint(t, model, config, _tokenizer, text) {
      const { pixels } = imageInputs(await withPngLines([text], config), config);
      const { logits, attention } = model.forward(t.imageTrainBatch(pixels, new Int32Array(1), config).input, undefined, { returnAttention: true });
      const output = predicted(logits.dataSync() as Float32Array, config.numClasses);
      logits.dispose();
      return { output, sets: imageAttentionSets(config, readTensors(attention!.encoder)) };
    },
    export: (dir, config, text) =>
      imageExportRun(dir, config, text, (out) => ({ output: predicted(out.logits.data, config.numClasses), sets: imageAttentionSets(config, exportLayers(dir, out.attentions, 'attentions', config.numEncoderLayers)) })),
  },
  parity: imageParity,
  bench: IMAGE_BENCH,
  flopsLength: 'context',
};
