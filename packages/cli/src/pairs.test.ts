// Sentence pairs on the command line: `attend train --csv` with `text,pair,label` rows gives a new
// encoder-classifier token types (typeVocabSize 2) and trains on the pairs; `attend infer --pair`
// and an infer --file of such rows classify pairs, from the checkpoint and from its export alike,
// and eval --csv scores them; an `--optimize` export gives the checkpoint's probabilities on pairs
// (1e-4) and an `--quantize int8-dynamic` one stays close (labels, 0.1);
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

  it('eval --csv scores text,pair,label rows as infer classifies them, from the checkpoint and its export', async () => {
    const onnx = join(dir, 'eval-onnx');
    expect((await attend(['export', run, '--out', onnx])).code).toBe(0);
    const file = join(dir, 'eval.csv');
    const rows = ['abab,abab,1', 'abab,bbbbb,0', 'bbaa,bbaa,1', 'aaaa,abab,1', 'ba,ab,0'];
    await writeFile(file, `text,pair,label\n${rows.join('\n')}\n`);
    const labels = rows.map((r) => Number(r.split(',')[2]));
    for (const model of [run, onnx]) {
      const inferred = await attend(['infer', model, '--file', file, '--json']);
      expect(inferred.code, inferred.stderr).toBe(0);
      const predicted = (JSON.parse(inferred.stdout) as { results: { output: number }[] }).results.map((r) => r.output);
      const correct = predicted.filter((p, i) => p === labels[i]).length;
      const scored = await attend(['eval', model, '--csv', file, '--json']);
      expect(scored.code, scored.stderr).toBe(0);
      const { examples, metrics } = JSON.parse(scored.stdout) as { examples: number; metrics: { correct: number; total: number } };
      expect([examples, metrics.total, metrics.correct]).toEqual([5, 5, correct]);
    }
    const ragged = join(dir, 'ragged.csv');
    await writeFile(ragged, 'abab,abab,1\nabab,0\n');
    const refused = await attend(['eval', run, '--csv', ragged]);
    expect([refused.code, refused.stderr.trim()]).toEqual([1, `attend: ${ragged}:2: expected 3 columns (text,pair,label, as the first row), found 2`]);
  }, 120_000);

  it('--optimize and --quantize int8-dynamic exports classify pairs as the checkpoint does', async () => {
    // d 64: every layer's Linear has at least the 1024 values that --quantize int8-dynamic quantizes.
    const wide = join(dir, 'wide');
    const trained = await attend(['train', '--csv', csv, ...TINY, '--d-model', '64', '--heads', '4', '--out', wide]);
    expect(trained.code, trained.stderr).toBe(0);
    const file = join(dir, 'wide-rows.csv');
    const rows = ['abab,abab,1', 'abab,bbbbb,0', 'bbaa,bbaa,1', 'aaaa,abab,1', 'ba,ab,0', 'babab,babab,1'];
    await writeFile(file, `${rows.join('\n')}\n`);
    const classified = async (model: string) => {
      const r = await attend(['infer', model, '--file', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { results: { output: number; probabilities: number[] }[] }).results;
    };
    const expected = await classified(wide);
    for (const [flags, tolerance] of [[['--optimize'], 1e-4], [['--quantize', 'int8-dynamic'], 0.1]] as const) {
      const out = join(dir, `wide-${flags.join('')}`);
      const exported = await attend(['export', wide, '--out', out, ...flags]);
      expect(exported.code, exported.stderr).toBe(0);
      const got = await classified(out);
      got.forEach((r, i) => {
        expect(r.output, `${flags.join(' ')}, row ${i}`).toBe(expected[i]!.output);
        r.probabilities.forEach((p, k) => expect(Math.abs(p - expected[i]!.probabilities[k]!), `${flags.join(' ')}, row ${i}`).toBeLessThanOrEqual(tolerance));
      });
    }
  }, 180_000);

  it('a model without token types refuses pairs, from --csv and --pair, in one line', async () => {
    const plain = join(dir, 'plain');
    expect((await attend(['train', '--task', 'majority', ...TINY, '--examples', '100', '--out', plain])).code).toBe(0);
    const flag = await attend(['infer', plain, 'abab', '--pair', 'ab']);
    expect([flag.code, flag.stderr.trim()]).toEqual([2, 'attend: --pair: sentence pairs need a model with token types for both segments (typeVocabSize 2 or more, as an imported BERT has); this one reads one text']);
    const from = await attend(['train', '--from', plain, '--csv', csv, '--steps', '2', '--out', join(dir, 'from')]);
    expect(from.code).toBe(2);
    expect(from.stderr).toContain('text,pair,label rows are sentence pairs, but the model has no token types (typeVocabSize 0)');
  }, 120_000);
});
