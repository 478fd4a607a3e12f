// The image-captioning task ready for the trainer: images with their captions (digit scenes),
// the captions encoded with a tokenizer, batched in a per-epoch order that is a pure function of
// the step (resumes agree), and an evaluation that captions the dev images greedily (exact match
// and corpus BLEU) and measures the teacher-forced loss.

import { captionSourceLength, corpusBleu, exactMatch, makeSeq2SeqBatch, ShapeError, type ImageToTextConfig, type Tokenizer } from '@attend/core';
import { epochBatches } from './classification-task.js';
import { translate } from './generate.js';
import type { TokenBatch } from './model.js';
import type { AttendModel } from './models.js';
import { batchLoss, evalChunks, seq2seqTrainBatch, type TrainBatch } from './trainer.js';

/** An image (height × width values, row-major) and its caption. */
export interface CaptionedImage {
  pixels: Float32Array;
  caption: string;
}

export interface CaptionTaskOptions {
  batchSize: number;
  /** Seed of the batch order. */
  seed: number;
}

export interface CaptionTask {
  nextBatch(step: number): TrainBatch;
  /**
   * Greedy captions of `images` (default: the dev set): exact match, corpus BLEU, the mean
   * teacher-forced loss per word, and the captions; at most `batchSize` images per forward pass
   * and decoding (default: the training batch size).
   */
  evaluate(model: AttendModel, images?: readonly CaptionedImage[], batchSize?: number): Promise<{ loss: number; bleu: number; exactMatch: number; outputs: string[] }>;
}

/** Images [B, H, W] as a captioner's input batch (seqLen: the positions its decoder looks at). */
export function imageBatch(pixels: Float32Array, batchSize: number, config: ImageToTextConfig): TokenBatch {
  return { ids: new Int32Array(0), batchSize, seqLen: captionSourceLength(config), pixels };
}

export function captionTask(train: readonly CaptionedImage[], dev: readonly CaptionedImage[], tokenizer: Tokenizer, config: ImageToTextConfig, options: CaptionTaskOptions): CaptionTask {
  const size = config.imageHeight * config.imageWidth;
  for (const [name, rows] of [['train', train], ['dev', dev]] as const) {
    const bad = rows.findIndex((r) => r.pixels.length !== size);
    if (bad >= 0) throw new ShapeError(`${name} image ${bad}: ${rows[bad]!.pixels.length} values, expected ${size} (${config.imageHeight} × ${config.imageWidth})`);
  }
  const ids = tokenizer.specialTokenIds;
  // Captions are the targets of seq2seq batches (bos + words, words + eos); the images stand in for the source.
  const limits = { maxTgtLen: config.maxSeqLen };
  const batchOf = (rows: readonly CaptionedImage[]): TrainBatch => {
    const b = makeSeq2SeqBatch(rows.map((r) => ({ source: [ids.pad], target: tokenizer.encode(r.caption) })), ids, limits);
    const pixels = new Float32Array(rows.length * size);
    rows.forEach((r, i) => pixels.set(r.pixels, i * size));
    return { ...seq2seqTrainBatch(b), input: imageBatch(pixels, rows.length, config) };
  };
  const indicesOf = epochBatches(train.length, options.batchSize, options.seed);
  return {
    nextBatch: (step) => batchOf(indicesOf(step).map((i) => train[i]!)),
    async evaluate(model, images = dev, batchSize = options.batchSize) {
      const outputs: string[] = [];
      let lossSum = 0;
      let words = 0;
      for (const [start, end] of evalChunks(images.length, batchSize)) {
        const rows = images.slice(start, end);
        const batch = batchOf(rows);
        const loss = batchLoss(model, batch);
        const count = batch.labelWeights!.reduce((a, b) => a + b, 0);
        lossSum += (await loss.data())[0]! * count;
        words += count;
        loss.dispose();
        const decoded = await translate(model, batch.input, { maxNewTokens: config.maxSeqLen - 1 });
        outputs.push(...decoded.map((d) => tokenizer.decode(d)));
      }
      const targets = images.map((r) => r.caption);
      return { loss: lossSum / words, bleu: corpusBleu(outputs, targets).score, exactMatch: exactMatch(outputs, targets), outputs };
    },
  };
}
