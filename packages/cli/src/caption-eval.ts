// `attend eval` of a captioner (task image-to-text) on digit scenes: test scenes drawn from the
// test rows of --digits-csv (the digits never seen in training: caption-data.ts's split), the
// model's canvas, --scene-digits and --clutter, seeded by --seed. Greedy captions, run
// --batch-size scenes at a time (scenes are drawn a batch at a time too, so memory stays flat
// in --scenes); exact match and corpus BLEU (13a tokens, as translation's), overall and by the
// number of digits in the scene (= words in its caption).

import { addBleuStatistics, bleuFromStatistics, bleuStatistics, digitRowsOf, digitScenes, type BleuStatistics } from '@attend/core';
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

const metrics = (s: Score) => ({ scenes: s.scenes, exactMatch: s.exact / s.scenes, bleu: bleuFromStatistics(s.bleu!).score });

/** The captioner's scores on test scenes: the metrics object and the table's rows. */
export async function evalCaptions(runner: ModelRunner, config: { imageHeight: number; imageWidth: number }, o: CaptionEvalOptions) {
  const count = o.scenes ?? 400;
  if (count > MAX_EVAL_SCENES) throw new CliError(`--scenes: ${count} is over the limit of ${MAX_EVAL_SCENES.toLocaleString('en-US')} scenes`, 2);
  const flags = { ...o, canvas: `${config.imageHeight}x${config.imageWidth}` };
  const shape = sceneShape(flags);
  const rows = digitRowsOf(await readDigits(flags), 'test');
  const seed = o.seed ?? 1;
  let all: Score = { scenes: 0, exact: 0 };
  const byDigits = new Map<number, Score>();
  for (let done = 0; done < count; done += o.batchSize) {
    // Each batch is its own seeded draw (the seed and the batch's first index), so memory holds one batch.
    const scenes = digitScenes(rows, { count: Math.min(o.batchSize, count - done), seed: seed * 1_000_003 + done, ...shape });
    const pixels = new Float32Array(scenes.length * shape.height * shape.width);
    scenes.forEach((s, i) => pixels.set(s.pixels, i * shape.height * shape.width));
    const outputs = await runner.caption(pixels, scenes.length, { kind: 'greedy' });
    all = add(all, outputs, scenes.map((s) => s.caption));
    for (let n = shape.minDigits; n <= shape.maxDigits; n++) {
      const idx = scenes.flatMap((s, i) => (s.labels.length === n ? [i] : []));
      if (idx.length > 0) byDigits.set(n, add(byDigits.get(n) ?? { scenes: 0, exact: 0 }, idx.map((i) => outputs[i]!), idx.map((i) => scenes[i]!.caption)));
    }
  }
  const groups = [...byDigits.entries()].sort(([a], [b]) => a - b).map(([digits, s]) => ({ digits, ...metrics(s) }));
  const total = metrics(all);
  const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
  return {
    examples: total.scenes,
    metrics: { exactMatch: total.exactMatch, bleu: total.bleu, byDigits: groups, scenes: { ...shape, count, seed, digitsCsv: o.digitsCsv } },
    rows: [
      ['exact match', percent(total.exactMatch), `(${all.exact.toLocaleString('en-US')}/${total.scenes.toLocaleString('en-US')}; greedy captions of test scenes, digits never seen in training)`],
      ['BLEU', total.bleu.toFixed(2), '(corpus BLEU-4, 13a tokens: 0 when no caption has 4 words)'],
      ...groups.map((g): [string, string, string] => [`${g.digits} digit${g.digits === 1 ? '' : 's'}`, percent(g.exactMatch), `exact match of ${g.scenes.toLocaleString('en-US')} scenes; BLEU ${g.bleu.toFixed(2)}`]),
    ] as [string, string, string?][],
  };
}
