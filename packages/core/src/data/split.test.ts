import { describe, expect, it } from 'vitest';
import { trainDevSplit } from './split.js';
import { dateTask } from './synthetic.js';

describe('trainDevSplit', () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);

  it('is deterministic, disjoint, complete, sized and order-preserving', () => {
    const a = trainDevSplit(items, { devFraction: 0.1, seed: 1 });
    expect(trainDevSplit(items, { devFraction: 0.1, seed: 1 })).toEqual(a);
    expect(trainDevSplit(items, { devFraction: 0.1, seed: 2 }).dev).not.toEqual(a.dev);
    expect(a.dev).toHaveLength(100);
    expect(a.train).toHaveLength(900);
    expect([...a.train, ...a.dev].sort((x, y) => x - y)).toEqual(items);
    const inDev = new Set(a.dev);
    expect(a.train.some((x) => inDev.has(x))).toBe(false);
    expect(a.dev).toEqual([...a.dev].sort((x, y) => x - y));
    expect(a.train).toEqual([...a.train].sort((x, y) => x - y));
    // not just the tail: dev items are spread over the input
    expect(Math.min(...a.dev)).toBeLessThan(200);
  });

  it('handles the edges 0 and 1', () => {
    expect(trainDevSplit(items, { devFraction: 0, seed: 0 })).toEqual({ train: items, dev: [] });
    expect(trainDevSplit(items, { devFraction: 1, seed: 0 })).toEqual({ train: [], dev: items });
    expect(trainDevSplit([], { devFraction: 0.5, seed: 0 })).toEqual({ train: [], dev: [] });
  });

  it('keeps items with the same key on one side', () => {
    const pairs = Array.from({ length: 600 }, (_, i) => ({ source: `s${i % 150}`, target: `t${i}` }));
    const { train, dev } = trainDevSplit(pairs, { devFraction: 0.2, seed: 3, key: (p) => p.source });
    expect(train.length + dev.length).toBe(600);
    expect(dev.length).toBe(120); // groups of 4, 120 is a multiple
    const trainSources = new Set(train.map((p) => p.source));
    expect(dev.some((p) => trainSources.has(p.source))).toBe(false);
  });

  it('dedupes synthetic dates so no dev source is in train', () => {
    const dates = dateTask({ count: 20_000, seed: 4, minYear: 2000, maxYear: 2009 });
    const distinct = new Set(dates.map((p) => p.source)).size;
    expect(distinct).toBeLessThan(dates.length); // repeats occur over a 10-year range
    const { train, dev } = trainDevSplit(dates, { devFraction: 0.1, seed: 5, key: (p) => p.source, dedupe: true });
    expect(train.length + dev.length).toBe(distinct);
    expect(dev.length).toBe(Math.round(0.1 * distinct));
    const trainSources = new Set(train.map((p) => p.source));
    expect(trainSources.size).toBe(train.length);
    expect(dev.some((p) => trainSources.has(p.source))).toBe(false);
  });

  it('rejects bad options naming the field', () => {
    expect(() => trainDevSplit(items, { devFraction: 1.5, seed: 0 })).toThrow(/^devFraction: /);
    expect(() => trainDevSplit(items, { devFraction: Number.NaN, seed: 0 })).toThrow(/^devFraction: /);
    expect(() => trainDevSplit(items, { devFraction: 0.1, seed: 0.5 })).toThrow(/^seed: /);
    expect(() => trainDevSplit(items, { devFraction: 0.1, seed: 0, dedupe: true })).toThrow(/^dedupe: /);
  });
});
