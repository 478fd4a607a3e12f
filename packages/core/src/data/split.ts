// Deterministic train/dev splits. With a `key`, items that share a key (e.g. the same
// English sentence with several French translations, or the same synthetic date string)
// always land on the same side, so dev measures generalisation rather than recall.

import { ConfigError } from '../errors.js';
import { createRng } from '../random.js';

export interface TrainDevSplitOptions<T> {
  /** Fraction of the items that go to dev, in [0, 1]; the dev size is `round(devFraction * n)`. */
  devFraction: number;
  /** Seed of the shuffle that picks the dev items. */
  seed: number;
  /**
   * Group items by this key; a group goes wholly to train or wholly to dev (dev then holds
   * whole groups until it reaches the dev size, so it may overshoot by part of one group).
   */
  key?: (item: T) => string;
  /** With `key`: keep only the first item of each key, dropping exact repeats. Default false. */
  dedupe?: boolean;
}

export interface TrainDevSplit<T> {
  train: T[];
  dev: T[];
}

/** Splits items into train and dev; both keep the items' original order. */
export function trainDevSplit<T>(items: readonly T[], opts: TrainDevSplitOptions<T>): TrainDevSplit<T> {
  const { devFraction, seed, key, dedupe = false } = opts;
  if (!(devFraction >= 0 && devFraction <= 1)) {
    throw new ConfigError('devFraction', `must be a number in [0, 1], got ${devFraction}`);
  }
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  if (dedupe && !key) throw new ConfigError('dedupe', 'needs a key function to compare items by');

  // groups[g] = indices of the items with the g-th distinct key (one item per group without a key)
  const groups: number[][] = [];
  if (key) {
    const byKey = new Map<string, number[]>();
    items.forEach((item, i) => {
      const k = key(item);
      const group = byKey.get(k);
      if (group === undefined) {
        const fresh = [i];
        byKey.set(k, fresh);
        groups.push(fresh);
      } else if (!dedupe) {
        group.push(i);
      }
    });
  } else {
    for (let i = 0; i < items.length; i++) groups.push([i]);
  }

  const total = groups.reduce((sum, g) => sum + g.length, 0);
  const devSize = Math.round(devFraction * total);
  const order = createRng(seed).shuffle(groups.map((_, g) => g));
  const side = new Uint8Array(items.length); // 0 = dropped (a repeat), 1 = train, 2 = dev
  let taken = 0;
  for (const g of order) {
    const group = groups[g]!;
    const dest = taken < devSize ? 2 : 1;
    if (dest === 2) taken += group.length;
    for (const i of group) side[i] = dest;
  }

  const train: T[] = [];
  const dev: T[] = [];
  items.forEach((item, i) => {
    if (side[i] === 1) train.push(item);
    else if (side[i] === 2) dev.push(item);
  });
  return { train, dev };
}
