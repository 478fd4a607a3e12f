// Sentence pairs on the command line: `attend train --csv` with `text,pair,label` rows gives a new
// encoder-classifier token types (typeVocabSize 2) and trains on the pairs; `attend infer --pair`
// and an infer --file of such rows classify pairs, from the checkpoint and from its export alike;
// a model without token types, or another kind, refuses pairs in one line (exit 2).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

const TINY = ['--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--dev-size', '10', '--steps', '4'];
let dir: string;
let run: string;
let csv: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-pairs-'));
  // Label 1 when the pair repeats the text: only the two segments together decide it.
  const rng = createRng(7);
  const word = () => Array.from({ length: 5 }, () => (rng.next() < 0.5 ? 'a' : 'b')).join('');
  const rows = Array.from({ length: 60 }, (_, i) => {
    const text = word();
    const pair = i % 2 === 0 ? text : word();
    return `${text},${pair},${Number(pair === text)}`;
  });
  csv = join(dir, 'pairs.csv');
  await writeFile(csv, `text,pair,label\n${rows.join('\n')}\n`);
  run = join(dir, 'run');
  const r = await attend(['train', '--csv', csv, ...TINY, '--out', run]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sentence pairs', () => {
  it('train gives the model token types; infer --pair and a text,pair,label --file agree under tfjs and ONNX', async () => {
    const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
    expect(config.typeVocabSize).toBe(2);
    const onnx = join(dir, 'run-onnx');
    expect((await attend(['export', run, '--out', onnx])).code).toBe(0);
    const file = join(dir, 'rows.csv');
    await writeFile(file, 'abab,abab,1\nabab,bbbbb,0\n');
    const outputs: unknown[] = [];
    for (const model of [run, onnx]) {
      const single = await attend(['infer', model, 'abab', '--pair', 'bbbbb', '--json']);
      expect(single.code, single.stderr).toBe(0);
      const rows = await attend(['infer', model, '--file', file, '--json']);
      expect(rows.code, rows.stderr).toBe(0);
      const probabilities = (out: string) => (JSON.parse(out) as { results: { probabilities: number[] }[] }).results.map((r) => r.probabilities.map((p) => p.toFixed(4)));
      const [fromFile, fromFlag] = [probabilities(rows.stdout), probabilities(single.stdout)];
      expect(fromFile[1]).toEqual(fromFlag[0]);
      // The segments matter: the same text unpaired is another input.
      const alone = await attend(['infer', model, 'ababbbbbb', '--json']);
      expect(probabilities(alone.stdout)[0]).not.toEqual(fromFlag[0]);
      outputs.push(fromFile);
    }
    expect(outputs[1]).toEqual(outputs[0]);
  }, 120_000);

  it('a model without token types refuses pairs, from --csv and --pair, in one line', async () => {
    const plain = join(dir, 'plain');
    expect((await attend(['train', '--task', 'majority', ...TINY, '--examples', '100', '--out', plain])).code).toBe(0);
    const flag = await attend(['infer', plain, 'abab', '--pair', 'ab']);
    expect([flag.code, flag.stderr.trim()]).toEqual([2, 'attend: --pair: sentence pairs need a model with token types (typeVocabSize > 0, as an imported BERT has); this one reads one text']);
    const from = await attend(['train', '--from', plain, '--csv', csv, '--steps', '2', '--out', join(dir, 'from')]);
    expect(from.code).toBe(2);
    expect(from.stderr).toContain('text,pair,label rows are sentence pairs, but the model has no token types (typeVocabSize 0)');
  }, 120_000);
});
