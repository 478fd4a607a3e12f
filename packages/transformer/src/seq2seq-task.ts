// A sequence-to-sequence task ready for the trainer: text pairs encoded with a tokenizer,
// a step-indexed batch function (deterministic, so resumed runs see the same data), and an
// evaluation that decodes the dev set greedily (exact match and corpus BLEU) and measures its
// teacher-forced loss.

import { corpusBleu, createRng, exactMatch, makeSeq2SeqBatch, type EncodedPair, type TextPair, type Tokenizer } from '@attend/core';
import { greedyTranslate } from './generate.js';
import type { AttendModel } from './models.js';
import { batchLoss, evalChunks, seq2seqTrainBatch, type TrainBatch } from './trainer.js';

export interface Seq2SeqTaskOptions {
  batchSize: number;
  /** Seed of the batch order. */
  seed: number;
  /** Longest encoded source/target (in tokens); longer pairs are an error. */
  maxSrcLen: number;
  maxTgtLen: number;
}

export interface Seq2SeqTask {
  nextBatch(step: number): TrainBatch;
  /**
   * Greedy-decodes `pairs` (default: the dev set): exact match and corpus BLEU (sacreBLEU's
   * defaults) of the outputs, the mean teacher-forced loss per target token, and the outputs;
   * at most `batchSize` pairs per forward pass and decoding (default: the training batch size).
   */
  evaluate(model: AttendModel, pairs?: readonly TextPair[], batchSize?: number): Promise<{ loss: number; bleu: number; exactMatch: number; outputs: string[] }>;
}

export function seq2seqTask(train: readonly TextPair[], dev: readonly TextPair[], tokenizer: Tokenizer, options: Seq2SeqTaskOptions): Seq2SeqTask {
  const ids = tokenizer.specialTokenIds;
  const encode = (p: TextPair): EncodedPair => ({ source: tokenizer.encode(p.source), target: tokenizer.encode(p.target) });
  const encodedTrain = train.map(encode);
  const batchesPerEpoch = Math.max(1, Math.floor(encodedTrain.length / options.batchSize));
  const orders = new Map<number, number[]>();
  const orderOf = (epoch: number): number[] => {
    let order = orders.get(epoch);
    if (!order) {
      order = createRng(options.seed * 100_003 + epoch).shuffle(encodedTrain.map((_, i) => i));
      orders.clear();
      orders.set(epoch, order);
    }
    return order;
  };
  const limits = { maxSrcLen: options.maxSrcLen, maxTgtLen: options.maxTgtLen + 1 };
  return {
    nextBatch(step) {
      const k = step - 1;
      const order = orderOf(Math.floor(k / batchesPerEpoch));
      const start = (k % batchesPerEpoch) * options.batchSize;
      const pairs = order.slice(start, start + options.batchSize).map((i) => encodedTrain[i]!);
      return seq2seqTrainBatch(makeSeq2SeqBatch(pairs, ids, limits));
    },
    async evaluate(model, pairs = dev, batchSize = options.batchSize) {
      const outputs: string[] = [];
      let lossSum = 0;
      let tokens = 0;
      for (const [start, end] of evalChunks(pairs.length, batchSize)) {
        const chunk = pairs.slice(start, end).map(encode);
        const batch = makeSeq2SeqBatch(chunk, ids, limits);
        const loss = batchLoss(model, seq2seqTrainBatch(batch));
        const count = batch.tgtLengths.reduce((a, b) => a + b, 0);
        lossSum += (await loss.data())[0]! * count;
        tokens += count;
        loss.dispose();
        // A dev output twice as long as the chunk's longest target (plus a margin) is wrong however
        // it goes on: stop there rather than at maxTgtLen, which a long-tailed corpus sets by its
        // longest pair (decoding recomputes the prefix each step, so the cost grows with its square).
        let longest = 0;
        for (const p of chunk) longest = Math.max(longest, p.target.length);
        const budget = Math.min(options.maxTgtLen + 1, 2 * longest + 8);
        const decoded = await greedyTranslate(model, { ids: batch.srcIds, batchSize: batch.batchSize, seqLen: batch.srcLen, lengths: batch.srcLengths }, budget);
        outputs.push(...decoded.map((d) => tokenizer.decode(d)));
      }
      const targets = pairs.map((p) => p.target);
      return { loss: lossSum / tokens, bleu: corpusBleu(outputs, targets).score, exactMatch: exactMatch(outputs, targets), outputs };
    },
  };
}
