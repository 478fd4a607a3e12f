import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { readCsvClassification, readTextFile, readTextLines, readTsvPairs, textLines } from './files.js';

// This file is packages/core/src/data/files.test.ts; the repo root is four levels up and
// the shared data sits beside it, at ../shared/data.
const repoRoot = new URL('../../../../', import.meta.url);
const dataDir = fileURLToPath(new URL('../shared/data/', repoRoot));
const engFra = join(dataDir, 'eng-fra.tsv');
const digits = join(dataDir, 'digits8x8.csv');

describe('readers on temporary files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attend-data-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a missing file by path', async () => {
    const path = join(dir, 'missing.tsv');
    await expect(readTextFile(path)).rejects.toThrow(new DataError(`${path}: no such file`));
    await expect(readTsvPairs(path)).rejects.toThrow(DataError);
  });

  it('reports an empty file and a directory', async () => {
    const path = join(dir, 'empty.txt');
    await writeFile(path, '');
    await expect(readTextFile(path)).rejects.toThrow(new DataError(`${path}: file is empty`));
    await expect(readTextFile(dir)).rejects.toThrow(new DataError(`${dir}: is a directory, not a file`));
  });

  it('reports bytes that are not UTF-8 with the line of the first one', async () => {
    const path = join(dir, 'latin1.tsv');
    await writeFile(path, Buffer.concat([Buffer.from('hello\tbonjour\ncaf'), Buffer.from([0xe9]), Buffer.from('\tcoffee\n')]));
    await expect(readTextFile(path)).rejects.toThrow(new DataError(`${path}:2: not valid UTF-8 (byte 17 is 0xe9); save the file as UTF-8`));
    const cut = join(dir, 'cut.txt');
    await writeFile(cut, Buffer.from([0x61, 0xe2, 0x82])); // a 3-byte sequence cut short
    await expect(readTextFile(cut)).rejects.toThrow(`${cut}:1: not valid UTF-8 (byte 1 is 0xe2)`);
    const fine = join(dir, 'utf8.txt');
    await writeFile(fine, 'café — 😀\n');
    expect(await readTextFile(fine)).toBe('café — 😀\n');
  });

  it('reads text without a BOM, and names the file in parse errors', async () => {
    const path = join(dir, 'pairs.tsv');
    await writeFile(path, '\ufeffhi\tsalut\nbad line\n');
    expect(await readTextFile(path)).toBe('hi\tsalut\nbad line\n');
    await expect(readTsvPairs(path)).rejects.toThrow(
      new DataError(`${path}:2: expected at least 2 tab-separated columns, found 1`),
    );
    expect(await readTsvPairs(path, { maxPairs: 1 })).toEqual([{ source: 'hi', target: 'salut' }]);
  });
});

/** A test over a shared data file, skipped with the reason when the file is absent. */
function withFile(path: string, name: string, fn: () => Promise<void>): void {
  if (existsSync(path)) it(name, fn);
  else it.skip(`${name} (skipped: ${path} not found)`, fn);
}

describe('shared datasets', () => {
  withFile(engFra, 'eng-fra.tsv parses to 139,907 pairs', async () => {
    const pairs = await readTsvPairs(engFra);
    expect(pairs).toHaveLength(139_907);
    expect(pairs[0]).toEqual({ source: 'Go.', target: 'Va !' });
  });

  withFile(digits, 'digits8x8.csv has 1,797 rows of 64 features', async () => {
    const rows = await readCsvClassification(digits);
    expect(rows).toHaveLength(1797);
    expect(rows.every((r) => r.features.length === 64 && r.features.every((v) => v >= 0 && v <= 16))).toBe(true);
    const perLabel = Array<number>(10).fill(0);
    for (const r of rows) perLabel[r.label]! += 1;
    expect(perLabel).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  });
});

describe('textLines / readTextLines', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  async function* chunked(data: Uint8Array, size: number) {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  }
  const collect = async (lines: AsyncIterable<string>) => {
    const out: string[] = [];
    for await (const line of lines) out.push(line);
    return out;
  };

  it('gives the non-empty lines whatever the chunking: BOM, CRLF, multi-byte characters cut between chunks', async () => {
    const data = bytes('\uFEFFété 1\r\n\r\nnaïve ☃\n\nlast\r');
    for (const size of [1, 2, 3, 7, 1000]) expect(await collect(textLines(chunked(data, size), 'in'))).toEqual(['été 1', 'naïve ☃', 'last']);
  });

  it('yields each line before the stream ends', async () => {
    let ended = false;
    async function* slow() {
      yield bytes('first\nsec');
      yield bytes('ond\n');
      ended = true;
    }
    const lines = textLines(slow(), 'in');
    expect((await lines.next()).value).toBe('first');
    expect(ended).toBe(false);
  });

  it('bad UTF-8 and over-long lines are DataErrors naming the source and the line', async () => {
    await expect(collect(textLines(chunked(new Uint8Array([0x61, 0x0a, 0x62, 0xff, 0x0a]), 2), 'in.txt'))).rejects.toThrow('in.txt:2: not valid UTF-8');
    // A line with no end: refused once it passes the limit, not held whole.
    async function* endless() {
      for (;;) yield bytes('x'.repeat(1000));
    }
    await expect(collect(textLines(endless(), 'in.txt', 5000))).rejects.toThrow('in.txt:1: a line longer than 5,000 characters');
  });

  it('readTextLines streams a file; a missing path or a folder is one DataError naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attend-lines-'));
    try {
      const file = join(dir, 'in.txt');
      await writeFile(file, Array.from({ length: 50_000 }, (_, i) => `line ${i}`).join('\n'));
      const lines = await collect(readTextLines(file));
      expect(lines).toHaveLength(50_000);
      expect(lines.at(-1)).toBe('line 49999');
      await expect(collect(readTextLines(join(dir, 'nope.txt')))).rejects.toThrow(new DataError(`${join(dir, 'nope.txt')}: no such file`));
      await expect(collect(readTextLines(dir))).rejects.toThrow(`${dir}: is a directory, not a file`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
