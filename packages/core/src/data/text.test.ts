import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { createRng } from '../random.js';
import { lmWindows, sampleLmBatch, splitText, stackLmWindows } from './text.js';

const ids = Array.from({ length: 10 }, (_, i) => 100 + i); // 100..109

describe('lmWindows', () => {
  it('cuts non-overlapping windows by default, dropping the short tail', () => {
    const w = lmWindows(ids, { contextLength: 4 });
    expect(w.map((x) => [...x.inputIds])).toEqual([[100, 101, 102, 103], [104, 105, 106, 107]]);
    expect(w.map((x) => [...x.labels])).toEqual([[101, 102, 103, 104], [105, 106, 107, 108]]);
  });

  it('honours a stride and accepts an Int32Array', () => {
    const w = lmWindows(Int32Array.from(ids), { contextLength: 3, stride: 2 });
    expect(w.map((x) => x.inputIds[0])).toEqual([100, 102, 104, 106]);
    expect([...w[3]!.labels]).toEqual([107, 108, 109]);
  });

  it('stacks windows into an LmBatch', () => {
    const batch = stackLmWindows(lmWindows(ids, { contextLength: 4 }));
    expect(batch.batchSize).toBe(2);
    expect(batch.seqLen).toBe(4);
    expect([...batch.inputIds]).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect([...batch.labels]).toEqual([101, 102, 103, 104, 105, 106, 107, 108]);
    expect([...batch.lengths]).toEqual([4, 4]);
  });

  it('rejects a stream shorter than one window', () => {
    expect(() => lmWindows([1, 2, 3], { contextLength: 3 })).toThrow(DataError);
    expect(() => lmWindows(ids, { contextLength: 0 })).toThrow(/^contextLength: /);
    expect(() => lmWindows(ids, { contextLength: 2, stride: 0 })).toThrow(/^stride: /);
  });
});

describe('sampleLmBatch', () => {
  it('gives labels = inputs shifted by one, inside the stream, reproducibly', () => {
    const stream = Array.from({ length: 50 }, (_, i) => i);
    const a = sampleLmBatch(stream, { batchSize: 8, contextLength: 5, rng: createRng(1) });
    expect(sampleLmBatch(stream, { batchSize: 8, contextLength: 5, rng: createRng(1) })).toEqual(a);
    expect(a.inputIds).toHaveLength(40);
    expect([...a.lengths]).toEqual(Array(8).fill(5));
    for (let b = 0; b < 8; b++) {
      const start = a.inputIds[b * 5]!;
      for (let t = 0; t < 5; t++) {
        expect(a.inputIds[b * 5 + t]).toBe(start + t);
        expect(a.labels[b * 5 + t]).toBe(start + t + 1);
      }
    }
  });

  it('reaches both ends of the stream', () => {
    const stream = [0, 1, 2, 3, 4];
    const batch = sampleLmBatch(stream, { batchSize: 200, contextLength: 3, rng: createRng(2) });
    const starts = new Set(Array.from({ length: 200 }, (_, b) => batch.inputIds[b * 3]));
    expect([...starts].sort()).toEqual([0, 1]);
  });
});

describe('splitText', () => {
  it('splits 90/10 in order', () => {
    const text = 'abcdefghij'.repeat(10);
    const { train, val } = splitText(text, 0.9);
    expect(train).toHaveLength(90);
    expect(val).toBe('abcdefghij');
    expect(train + val).toBe(text);
    expect(splitText(text).train).toBe(train);
  });

  it('does not cut a surrogate pair', () => {
    const text = 'abcdefgh😀j'; // 11 UTF-16 units, the emoji at 8..9
    const { train, val } = splitText(text, 0.85); // floor(9.35) = 9 falls inside the emoji
    expect(train).toBe('abcdefgh');
    expect(val).toBe('😀j');
    expect(() => splitText(text, 1)).toThrow(/^trainFraction: /);
  });
});
