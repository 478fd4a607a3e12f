// `attend eval` of a captioner (task image-to-text) on digit scenes: test scenes drawn from the
// test rows of --digits-csv (the digits never seen in training: caption-data.ts's split), the
// model's canvas, --scene-digits and --clutter, seeded by --seed. Greedy captions, run
// --batch-size scenes at a time (scenes are drawn a batch at a time too, so memory stays flat
// in --scenes); exact match, corpus BLEU-4 (13a tokens, as translation's) and BLEU-2 (captions of
// a few words rarely share a 4-gram), overall and by the number of digits in the scene (= words
// in its caption); and the teacher-forced test loss (the reference captions fed to the decoder
// word by word: mean cross-entropy per caption token, the end token included, and its
// perplexity), which follows a hard captioner's --hard-inference.

import { addBleuStatistics, bleuFromStatistics, bleuStatistics, digitRowsOf, digitScenes, makeSeq2SeqBatch, nllFromLogits, perplexity, type BleuStatistics, type ImageToTextConfig, type Tokenizer } from '@attend/core';
import { readDigits, sceneShape, type CaptionFlags } from './caption-data.js';
import { CliError } from './errors.js';
import type { ModelRunner } from './runner.js';

/** Most test scenes one evaluation draws. */
export const MAX_EVAL_SCENES = 100_000;

export interface CaptionEvalOptions extends CaptionFlags {
  /** Test scenes to caption (default 400). */
  scenes?: number;
  /** Seeds the scenes (default 1). */
  seed?: number;
  batchSize: number;
}

/** One group's sums: scenes, exact matches and BLEU's n-gram counts. */
interface Score {
  scenes: number;
  exact: number;
  bleu?: BleuStatistics;
}

const add = (s: Score, outputs: string[], references: string[]): Score => {
  const b = bleuStatistics(outputs, references);
  return { scenes: s.scenes + outputs.length, exact: s.exact + outputs.filter((out, i) => out === references[i]).length, bleu: s.bleu ? addBleuStatistics(s.bleu, b) : b };
};

const metrics = (s: Score) => ({ scenes: s.scenes, exactMatch: s.exact / s.scenes, bleu: bleuFromStatistics(s.bleu!).score, bleu2: bleuFromStatistics(s.bleu!, { maxOrder: 2 }).score });

/** The teacher-forced loss's sums: NLL (nats), tokens scored (words and end tokens) and the scenes they come from. */
interface LossSum {
  nll: number;
  tokens: number;
  scenes: number;
}

/**
 * The teacher-forced cross-entropy of the reference `captions` of `count` images in `pixels`
 * (core's `nllFromLogits` over the runner's logits, bos + words in, words + eos scored), over the
 * scenes whose caption fits the decoder: at most maxSeqLen − 1 words (the longest it can write).
 */
async function captionLoss(runner: ModelRunner, config: ImageToTextConfig, tokenizer: Tokenizer, pixels: Float32Array, captions: readonly string[]): Promise<LossSum> {
  const size = config.imageHeight * config.imageWidth;
  const encoded = captions.map((c) => tokenizer.encode(c));
  const fits = encoded.flatMap((ids, i) => (ids.length < config.maxSeqLen ? [i] : []));
  if (fits.length === 0) return { nll: 0, tokens: 0, scenes: 0 };
  const special = tokenizer.specialTokenIds;
  // The images stand in for the source, as in training's caption batches.
  const batch = makeSeq2SeqBatch(fits.map((i) => ({ source: [special.pad], target: encoded[i]! })), special, { maxTgtLen: config.maxSeqLen });
  const images = new Float32Array(fits.length * size);
  fits.forEach((i, k) => images.set(pixels.subarray(i * size, (i + 1) * size), k * size));
  const logits = await runner.captionLogits(images, { ids: batch.decoderInputIds, batchSize: fits.length, seqLen: batch.tgtLen, lengths: batch.tgtLengths });
  const scored = nllFromLogits(logits, batch.labels, { vocabSize: config.vocabSize, ignoreId: special.pad });
  return { nll: scored.sum, tokens: scored.count, scenes: fits.length };
}

/** The test loss's metrics (none when no scene's caption fits the decoder) and its table row. */
function lossReport(sum: LossSum, scenes: number, maxSeqLen: number): { metrics: { loss?: number; perplexity?: number; lossTokens: number; lossScenes: number }; row: [string, string, string] } {
  const left = scenes - sum.scenes;
  const leftOut = left === 0 ? '' : `; ${left.toLocaleString('en-US')} scenes of more than ${maxSeqLen - 1} words, the decoder's longest caption, left out`;
  if (sum.tokens === 0) return { metrics: { lossTokens: 0, lossScenes: 0 }, row: ['test loss', '-', `(no scene's caption fits the decoder${leftOut})`] };
  const loss = sum.nll / sum.tokens;
  return {
    metrics: { loss, perplexity: perplexity(loss), lossTokens: sum.tokens, lossScenes: sum.scenes },
    row: ['test loss', loss.toFixed(4), `(teacher-forced cross-entropy, nats per caption token with the end token; perplexity ${perplexity(loss).toFixed(3)}; ${sum.tokens.toLocaleString('en-US')} tokens of ${sum.scenes.toLocaleString('en-US')} scenes${leftOut})`],
  };
}

/** The captioner's scores on test scenes: the metrics object and the table's rows. */
export async function evalCaptions(runner: ModelRunner, config: ImageToTextConfig, o: CaptionEvalOptions) {
  const count = o.scenes ?? 400;
  const tokenizer = runner.tokenizer;
  if (!tokenizer) throw new CliError(`a ${config.preset} without a tokenizer cannot score captions (its folder has no tokenizer.json)`);
  if (count > MAX_EVAL_SCENES) throw new CliError(`--scenes: ${count} is over the limit of ${MAX_EVAL_SCENES.toLocaleString('en-US')} scenes`, 2);
  const flags = { ...o, canvas: `${config.imageHeight}x${config.imageWidth}` };
  const shape = sceneShape(flags);
  const rows = digitRowsOf(await readDigits(flags), 'test');
  const seed = o.seed ?? 1;
  let all: Score = { scenes: 0, exact: 0 };
  const lossSum: LossSum = { nll: 0, tokens: 0, scenes: 0 };
  const byDigits = new Map<number, Score>();
  for (let done = 0; done < count; done += o.batchSize) {
    // Each batch is its own seeded draw (the seed and the batch's first index), so memory holds one batch.
    const scenes = digitScenes(rows, { count: Math.min(o.batchSize, count - done), seed: seed * 1_000_003 + done, ...shape });
    const pixels = new Float32Array(scenes.length * shape.height * shape.width);
    scenes.forEach((s, i) => pixels.set(s.pixels, i * shape.height * shape.width));
    const outputs = await runner.caption(pixels, scenes.length, { kind: 'greedy' });
    all = add(all, outputs, scenes.map((s) => s.caption));
    const batchLoss = await captionLoss(runner, config, tokenizer, pixels, scenes.map((s) => s.caption));
    lossSum.nll += batchLoss.nll;
    lossSum.tokens += batchLoss.tokens;
    lossSum.scenes += batchLoss.scenes;
    for (let n = shape.minDigits; n <= shape.maxDigits; n++) {
      const idx = scenes.flatMap((s, i) => (s.labels.length === n ? [i] : []));
      if (idx.length > 0) byDigits.set(n, add(byDigits.get(n) ?? { scenes: 0, exact: 0 }, idx.map((i) => outputs[i]!), idx.map((i) => scenes[i]!.caption)));
    }
  }
  const groups = [...byDigits.entries()].sort(([a], [b]) => a - b).map(([digits, s]) => ({ digits, ...metrics(s) }));
  const total = metrics(all);
  const loss = lossReport(lossSum, total.scenes, config.maxSeqLen);
  const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
  return {
    examples: total.scenes,
    metrics: { exactMatch: total.exactMatch, bleu: total.bleu, bleu2: total.bleu2, ...loss.metrics, byDigits: groups, scenes: { ...shape, count, seed, digitsCsv: o.digitsCsv } },
    rows: [
      ['exact match', percent(total.exactMatch), `(${all.exact.toLocaleString('en-US')}/${total.scenes.toLocaleString('en-US')}; greedy captions of test scenes, digits never seen in training)`],
      ['BLEU', total.bleu.toFixed(2), '(corpus BLEU-4, 13a tokens: 0 when no caption has 4 words)'],
      ['BLEU-2', total.bleu2.toFixed(2), '(corpus BLEU over 1- and 2-grams, weights 1/2: 0 when no output shares a 2-gram with its reference)'],
      loss.row,
      ...groups.map((g): [string, string, string] => [`${g.digits} digit${g.digits === 1 ? '' : 's'}`, percent(g.exactMatch), `exact match of ${g.scenes.toLocaleString('en-US')} scenes; BLEU ${g.bleu.toFixed(2)}, BLEU-2 ${g.bleu2.toFixed(2)}`]),
    ] as [string, string, string?][],
  };
}
