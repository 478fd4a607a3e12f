// The CLI's image-captioner (Show and Tell; Show, Attend and Tell with soft or hard attention):
// trains on the digit-scenes task (--task digit-scenes --digits-csv FILE), scored as translations
// are (greedy captions of the dev scenes: exact match, BLEU); the parity check of `attend export` runs its two
// graphs on seeded images and captions word by word; `attend attention` draws each generated
// word's α over the scene and `attend bench` times its export's forward, steps and whole
// captions (models/caption.ts, shared by caption kinds).

import { batchLengths, captionerAttentionLayout, captionSourceLength, createRng, HARD_INFERENCES, hardReading, imageToTextConfig, type HardInference, type ImageCaptionerConfig, type ImageToTextConfig } from '@attend/core';
import type { AttendModel } from '@attend/transformer';
import { CAPTION_BENCH, captionAttentionOf } from './caption.js';
import { CliError } from '../errors.js';
import type { TrainData } from '../train-data.js';
import type { CliKind, Parity, TrainKind, Transformer } from './kind.js';
import { maxDiff, parityLengths, randomRows, tfjsLogits } from './parity.js';
import { decodedReport, textTokenizer } from './train.js';

type Scenes = Extract<TrainData, { preset: 'image-captioner' }>;

/** Training on digit scenes, for either captioner kind (the LSTM one and the Transformer one). */
export const CAPTION_TRAINING: TrainKind<Scenes> = {
  data: 'image-captioner',
  unit: 'tok/s',
  tokenizer: 'word',
  tokenizerTexts: (data) => data.train.images.map((i) => i.caption),
  sizes(data, tokenizer) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    // bos + one word per digit + eos.
    return { vocabSize: text.vocabSize, imageHeight: data.height, imageWidth: data.width, maxSeqLen: data.maxDigits + 2 };
  },
  task(t, data, tokenizer, model, s) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    const config = imageToTextConfig(model, `${data.source}: captioned scenes`);
    if (config.imageHeight !== data.height || config.imageWidth !== data.width) {
      throw new CliError(`--canvas: ${data.height}x${data.width} differs from the model's ${config.imageHeight}x${config.imageWidth}`, 2);
    }
    const task = t.captionTask(data.train.images, data.dev.images, text, config, { batchSize: s.batchSize, seed: s.seed });
    return {
      nextBatch: task.nextBatch,
      ...decodedReport(task),
      size: `${data.train.images.length} scenes, dev ${data.dev.images.length}; ${config.imageHeight}×${config.imageWidth} pixels, ${'visualAttention' in config ? `${config.visualAttention} attention` : 'Transformer encoder–decoder'}`,
      lengths: batchLengths({ input: captionSourceLength(config), target: config.maxSeqLen }),
    };
  },
};

/** A usage error for a captioner without attention (Show and Tell). */
function checkAttends(config: ImageCaptionerConfig, where: string): void {
  if (config.visualAttention === 'none') throw new CliError(`${where}: this image-captioner has no attention (visualAttention 'none': the image only sets the LSTM's first state)`);
}

export const IMAGE_CAPTIONER: CliKind<ImageCaptionerConfig> = {
  train: CAPTION_TRAINING,
  attention: captionAttentionOf(captionerAttentionLayout, checkAttends),
  parity: captionParity,
  bench: CAPTION_BENCH,
  flopsLength: 'source',
};

/**
 * The parity check of `attend export` for a captioner: seeded images and captions (bos first) through the export
 * folder (runtime-onnx's `captionFolderLogits`, by its kind) and the tfjs model, the largest
 * logit difference; a hard-attention captioner's for each test-time reading (arg-max and
 * expectation), the largest of them overall.
 */
export async function captionParity(t: Transformer, model: AttendModel, config: ImageToTextConfig, exportDir: string): Promise<Parity> {
  const rt = await import('@attend/runtime-onnx/node');
  const { T } = parityLengths(config.maxSeqLen);
  const count = 3;
  const rng = createRng(1);
  const pixels = Float32Array.from({ length: count * config.imageHeight * config.imageWidth }, () => rng.next() / config.pixelScale);
  const target = randomRows(config, 2, [T, T, T]);
  target.ids.forEach((_, i) => i % T === 0 && (target.ids[i] = config.bosTokenId));
  const diff = async (hardInference?: HardInference) => {
    if (hardInference) t.setHardInference(model, hardInference);
    const { logits } = await rt.captionFolderLogits(exportDir, pixels, target, hardInference ? { hardInference } : {});
    return maxDiff(tfjsLogits(model, t.imageBatch(pixels, count, config), target), logits);
  };
  const parity = { rows: count, seqLen: T, images: true };
  if (!hardReading(config)) return { maxAbsDiff: await diff(), ...parity };
  const readings: Partial<Record<HardInference, number>> = {};
  for (const reading of HARD_INFERENCES) readings[reading] = await diff(reading);
  t.setHardInference(model, 'argmax');
  return { maxAbsDiff: Math.max(...Object.values(readings)), ...parity, readings };
}
