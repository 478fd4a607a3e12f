// The parts of `attend train` that several kinds share: dev metrics reported at the end, and
// the maxSeqLen check of a new run's text.

import type { AttendModel } from '@attend/transformer';
import { CliError } from '../errors.js';
import { TRAIN_LIMITS } from '../train-settings.js';
import type { BestMetric, KindTask } from './kind.js';

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

/** How a classifier's task reports: dev accuracy and loss, both best values at the end. */
export function accuracyReport(task: { evaluate(model: AttendModel): Promise<{ accuracy: number; loss: number }> }): Pick<KindTask, 'evaluate' | 'describeEval' | 'best'> {
  return {
    evaluate: async (m) => {
      const { accuracy, loss } = await task.evaluate(m);
      return { loss, accuracy };
    },
    describeEval: describeAccuracy,
    best: [DEV_ACCURACY, DEV_LOSS],
  };
}

/** How a task scored on decoded outputs reports: dev exact match, BLEU and loss, each best value at the end (BLEU first); the dev set runs `rows` examples at a time. */
export function decodedReport(task: { evaluate(model: AttendModel, examples: undefined, batchSize: number): Promise<{ loss: number; bleu: number; exactMatch: number }> }): Pick<KindTask, 'evaluate' | 'describeEval' | 'best'> {
  return {
    evaluate: async (m, rows) => {
      const { loss, bleu, exactMatch } = await task.evaluate(m, undefined, rows);
      return { loss, bleu, exactMatch };
    },
    describeEval: (m) => `dev exact match ${percent(m.exactMatch!)}, dev BLEU ${m.bleu!.toFixed(2)}, dev loss ${m.loss!.toFixed(4)}`,
    best: [
      { metric: 'bleu', mode: 'max', describe: (v) => `dev BLEU ${v.toFixed(2)}` },
      { metric: 'exactMatch', mode: 'max', describe: (v) => `dev exact match ${percent(v)}` },
      DEV_LOSS,
    ],
  };
}
