// How many data-parallel worker threads `attend train` uses (--workers; the trainer's `workers`).

import { availableParallelism } from 'node:os';
import { CliError } from './errors.js';

/**
 * The worker threads of a run: --workers when given (refused, exit 2, when workers × --grad-accum
 * rows do not fit in a batch), else one per core, as many as the batch has rows for.
 */
export function trainWorkers(flag: number | undefined, s: { batchSize: number; gradAccum: number }, cores = availableParallelism()): number {
  const most = Math.max(1, Math.floor(s.batchSize / s.gradAccum));
  if (flag === undefined) return Math.min(cores, most);
  if (flag > most) {
    const accum = s.gradAccum > 1 ? ` × --grad-accum ${s.gradAccum}` : '';
    throw new CliError(`--workers: ${flag} workers${accum} cannot split a batch of ${s.batchSize}; use at most ${most}`, 2);
  }
  return flag;
}
