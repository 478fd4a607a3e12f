// How many data-parallel worker threads `attend train` uses (--workers; the trainer's `workers`).

import { CliError } from './errors.js';

/**
 * The worker threads of a run: --workers when given (refused, exit 2, when workers × --grad-accum
 * rows do not fit in a batch), else 1 — on 2 cores, 2 workers measured no faster than one
 * (the main thread's weight copy, gradient sum and optimizer step are serial).
 */
export function trainWorkers(flag: number | undefined, s: { batchSize: number; gradAccum: number }, estimated = false): number {
  if (flag === undefined) return 1;
  const most = Math.max(1, Math.floor(s.batchSize / s.gradAccum));
  if (flag > most) {
    // `estimated`: the micro-batches are the memory estimate's choice, not a --grad-accum the user gave.
    const accum = s.gradAccum === 1 ? '' : estimated ? ` × the ${s.gradAccum} micro-batches a step needs to fit in memory` : ` × --grad-accum ${s.gradAccum}`;
    const or = estimated ? ' (or a smaller model or context)' : '';
    throw new CliError(`--workers: ${flag} workers${accum} cannot split a batch of ${s.batchSize}; use at most ${most}${or}`, 2);
  }
  return flag;
}
