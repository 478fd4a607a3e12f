import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { batchIterator, makeClassificationBatch, makeLmBatch, makeSeq2SeqBatch } from './batching.js';

const ids = { pad: 0, bos: 1, eos: 2 };
const pairs = [
  { source: [5, 6, 7], target: [8] },
  { source: [9], target: [10, 11, 12] },
];

describe('makeSeq2SeqBatch', () => {
  it('pads to the longest row (hand-checked)', () => {
    const b = makeSeq2SeqBatch(pairs, ids);
    expect([b.batchSize, b.srcLen, b.tgtLen]).toEqual([2, 3, 4]);
    expect([...b.srcIds]).toEqual([5, 6, 7, /**/ 9, 0, 0]);
    expect([...b.srcLengths]).toEqual([3, 1]);
    expect([...b.decoderInputIds]).toEqual([1, 8, 0, 0, /**/ 1, 10, 11, 12]);
    expect([...b.labels]).toEqual([8, 2, 0, 0, /**/ 10, 11, 12, 2]);
    expect([...b.tgtLengths]).toEqual([2, 4]);
  });

  it('pads to a fixed length or to the maxima', () => {
    const fixed = makeSeq2SeqBatch(pairs, ids, { padTo: 5 });
    expect([fixed.srcLen, fixed.tgtLen]).toEqual([5, 5]);
    expect([...fixed.srcIds.subarray(5)]).toEqual([9, 0, 0, 0, 0]);
    expect([...fixed.labels.subarray(0, 5)]).toEqual([8, 2, 0, 0, 0]);
    const max = makeSeq2SeqBatch(pairs, ids, { padTo: 'max', maxSrcLen: 4, maxTgtLen: 6 });
    expect([max.srcLen, max.tgtLen]).toEqual([4, 6]);
    expect(max.decoderInputIds).toHaveLength(12);
  });

  it('throws naming the example and the limit, or truncates keeping eos', () => {
    expect(() => makeSeq2SeqBatch(pairs, ids, { maxSrcLen: 2 })).toThrow(
      new DataError('example 0: source is 3 tokens, over maxSrcLen = 2 (pass truncate: true to cut it)'),
    );
    expect(() => makeSeq2SeqBatch(pairs, ids, { maxTgtLen: 3 })).toThrow(/^example 1: target \+ eos is 4 tokens, over maxTgtLen = 3/);
    expect(() => makeSeq2SeqBatch(pairs, ids, { padTo: 3 })).toThrow(/^example 1: target \+ eos is 4 tokens, over padTo = 3/);
    const cut = makeSeq2SeqBatch(pairs, ids, { maxSrcLen: 2, maxTgtLen: 3, truncate: true });
    expect([...cut.srcIds]).toEqual([5, 6, 9, 0]);
    expect([...cut.srcLengths]).toEqual([2, 1]);
    expect([...cut.decoderInputIds]).toEqual([1, 8, 0, 1, 10, 11]);
    expect([...cut.labels]).toEqual([8, 2, 0, 10, 11, 2]);
    expect([...cut.tgtLengths]).toEqual([2, 3]);
  });

  it('rejects an empty batch and padTo max without maxima', () => {
    expect(() => makeSeq2SeqBatch([], ids)).toThrow(DataError);
    expect(() => makeSeq2SeqBatch([{ source: [], target: [3] }], ids)).toThrow(new DataError('example 0: source has no tokens'));
    expect(() => makeSeq2SeqBatch(pairs, ids, { padTo: 'max' })).toThrow(/^padTo: 'max' needs maxSrcLen/);
  });
});

describe('makeClassificationBatch', () => {
  const examples = [{ ids: [4, 5], label: 1 }, { ids: [6], label: 0 }];

  it('pads, prepends cls when given, and carries labels (hand-checked)', () => {
    const b = makeClassificationBatch(examples, { pad: 0, cls: 3 });
    expect([b.batchSize, b.seqLen]).toEqual([2, 3]);
    expect([...b.inputIds]).toEqual([3, 4, 5, /**/ 3, 6, 0]);
    expect([...b.lengths]).toEqual([3, 2]);
    expect([...b.labels]).toEqual([1, 0]);
    expect([...makeClassificationBatch(examples, { pad: 9 }).inputIds]).toEqual([4, 5, 6, 9]);
  });

  it('enforces maxLen and label validity', () => {
    expect(() => makeClassificationBatch(examples, { pad: 0 }, { maxLen: 1 })).toThrow(/^example 0: input is 2 tokens, over maxLen = 1/);
    expect([...makeClassificationBatch(examples, { pad: 0 }, { maxLen: 1, truncate: true }).inputIds]).toEqual([4, 6]);
    expect(() => makeClassificationBatch([{ ids: [1], label: -1 }], { pad: 0 })).toThrow(/^example 0: label/);
  });
});

describe('makeLmBatch', () => {
  it('shifts [bos, ...ids, eos] into inputs and labels (hand-checked)', () => {
    const b = makeLmBatch([[5, 6], [7]], { pad: 0, bos: 1, eos: 2 });
    expect([b.batchSize, b.seqLen]).toEqual([2, 3]);
    expect([...b.inputIds]).toEqual([1, 5, 6, /**/ 1, 7, 0]);
    expect([...b.labels]).toEqual([5, 6, 2, /**/ 7, 2, 0]);
    expect([...b.lengths]).toEqual([3, 2]);
  });

  it('needs two tokens per row and honours maxLen', () => {
    expect(() => makeLmBatch([[5]], { pad: 0 })).toThrow(/^example 0: needs at least 2 tokens/);
    const cut = makeLmBatch([[5, 6, 7, 8]], { pad: 0 }, { maxLen: 2, truncate: true });
    expect([...cut.inputIds]).toEqual([5, 6]);
    expect([...cut.labels]).toEqual([6, 7]);
  });
});

describe('batchIterator', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);

  it('yields in order without shuffle, keeping or dropping the last batch', () => {
    expect([...batchIterator(items, 4)]).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect([...batchIterator(items, 4, { dropLast: true })]).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('shuffles each epoch differently but reproducibly, covering every item once', () => {
    const it1 = batchIterator(items, 3, { shuffle: true, seed: 7 });
    const epoch0 = [...it1];
    const epoch1 = [...it1];
    expect(epoch0.flat().sort((a, b) => a - b)).toEqual(items);
    expect(epoch1.flat().sort((a, b) => a - b)).toEqual(items);
    expect(epoch1).not.toEqual(epoch0);
    const again = batchIterator(items, 3, { shuffle: true, seed: 7 });
    expect([...again]).toEqual(epoch0);
    expect([...batchIterator(items, 3, { shuffle: true, seed: 7, startEpoch: 1 })]).toEqual(epoch1);
  });

  it('buckets by length to reduce padding, still covering every item', () => {
    const words = Array.from({ length: 400 }, (_, i) => 'x'.repeat(1 + ((i * 37) % 50)));
    const padding = (batches: Iterable<string[]>) => {
      let pad = 0;
      for (const batch of batches) {
        const longest = Math.max(...batch.map((w) => w.length));
        for (const w of batch) pad += longest - w.length;
      }
      return pad;
    };
    const plain = batchIterator(words, 16, { shuffle: true, seed: 1 });
    const bucketed = batchIterator(words, 16, { shuffle: true, seed: 1, lengthOf: (w) => w.length, bucketSize: 5 });
    const batches = [...bucketed];
    expect(batches.flat().sort()).toEqual([...words].sort());
    expect(batches.every((b) => b.length === 16)).toBe(true);
    expect(padding(batches)).toBeLessThan(padding(plain) / 3);
  });

  it('drops only the one short batch when bucketing', () => {
    const batches = [...batchIterator(items, 4, { shuffle: true, seed: 2, dropLast: true, lengthOf: (x) => x % 3, bucketSize: 1 })];
    expect(batches.map((b) => b.length)).toEqual([4, 4]);
  });

  it('rejects a bad batch size', () => {
    expect(() => batchIterator(items, 0)).toThrow(/^batchSize: /);
  });
});
