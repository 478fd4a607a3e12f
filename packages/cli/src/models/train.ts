// The parts of `attend train` that several kinds share: dev metrics reported at the end, and
// the maxSeqLen check of a new run's text.

import { CliError } from '../errors.js';
import { TRAIN_LIMITS } from '../train-settings.js';
import type { BestMetric } from './kind.js';

export const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;
export const DEV_LOSS: BestMetric = { metric: 'loss', mode: 'min', describe: (v) => `dev loss ${v.toFixed(4)}` };
export const DEV_ACCURACY: BestMetric = { metric: 'accuracy', mode: 'max', describe: (v) => `dev accuracy ${percent(v)}` };
export const describeAccuracy = (m: Record<string, number>): string => `dev accuracy ${percent(m.accuracy!)}, dev loss ${m.loss!.toFixed(4)}`;

/** `maxSeqLen`, refused when the longest `what` of `source` needs more tokens than a model may take. */
export function checkedMaxSeqLen(source: string, what: string, maxSeqLen: number): number {
  if (maxSeqLen > TRAIN_LIMITS.contextLength) {
    throw new CliError(`${source}: its longest ${what} needs ${maxSeqLen.toLocaleString('en-US')} tokens; the model takes at most ${TRAIN_LIMITS.contextLength.toLocaleString('en-US')}`);
  }
  return maxSeqLen;
}

/** The tokenizer of a kind that trains on text (built or loaded before the task). */
export function textTokenizer<T>(tokenizer: T | undefined, source: string, preset: string): T {
  if (!tokenizer) throw new CliError(`${source}: no tokenizer for ${preset} data`);
  return tokenizer;
}
