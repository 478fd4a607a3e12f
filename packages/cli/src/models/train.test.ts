// The shared pieces of a kind's training task: a decoded report evaluates the dev set in the rows
// `attend train` checked against memory (the step's micro-batch), as the LM does.

import type { AttendModel } from '@attend/transformer';
import { describe, expect, it } from 'vitest';
import { decodedReport } from './train.js';

describe('decodedReport', () => {
  it("passes the checked rows on to the task's evaluation and reports its metrics", async () => {
    const calls: [unknown, number][] = [];
    const report = decodedReport({
      evaluate: async (_model, examples, batchSize) => {
        calls.push([examples, batchSize]);
        return { loss: 1.5, bleu: 20, exactMatch: 0.25 };
      },
    });
    await expect(report.evaluate({} as AttendModel, 5)).resolves.toEqual({ loss: 1.5, bleu: 20, exactMatch: 0.25 });
    expect(calls).toEqual([[undefined, 5]]);
  });
});
