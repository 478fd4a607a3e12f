// `attend eval` on tiny models of each task, run as a user would (the built dist/bin.js), its
// figures checked against an independent computation: the outputs `attend infer` gives for the
// same inputs scored with core's metrics (translation, classifiers), and the NLL of the windows
// recomputed with tfjs (LM). Batching must not change a figure; the checkpoint and its export
// agree; bad input is one line naming the file and line or the flag.

import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confusionMatrix, corpusBleu, corpusChrf, nllFromLogits, tokenizerFromJSON } from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEQ_LEN, tinyExport } from './test-utils/tiny-export.js';
import { attend, BIN } from './test-utils/attend.js';

async function json(args: string[]): Promise<Record<string, any>> {
  const r = await attend(args);
  // Nothing on stderr but infer's notes that an untrained model's output ran into its context.
  expect(r.stderr.split('\n').filter((line) => line !== '' && !/stopped at the model's context/.test(line))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>;
}

let dir: string;
const models: Record<string, string> = {};

beforeAll(async () => {
  await stat(BIN);
  dir = await mkdtemp(join(tmpdir(), 'attend-eval-'));
  for (const preset of ['encoder-decoder', 'decoder-lm', 'encoder-classifier'] as const) models[preset] = await tinyExport(dir, preset);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ckpt = (preset: string) => `${models[preset]}-ckpt`;

describe('attend eval: translation', () => {
  it('scores greedy outputs with corpus BLEU, chrF2 and exact match, whatever the batch size', async () => {
    const sources = ['hello world', 'abc', 'the quick brown fox', 'zebra', 'a cat sat on a mat'];
    const infer = await json(['infer', models['encoder-decoder']!, ...sources, '--json']);
    const outputs = (infer.results as { output: string }[]).map((r) => r.output);
    // References: two equal to the model's outputs (exact matches), the others text of their own.
    const references = [outputs[0]!, 'abd', 'the quick brown fox jumps over', outputs[3]!, 'a cat sat on the mat'];
    const file = join(dir, 'pairs.tsv');
    await writeFile(file, `${sources.map((s, i) => `${s}\t${references[i]}`).join('\n')}\n\n`);
    const expected = { bleu: corpusBleu(outputs, references).score, chrf: corpusChrf(outputs, references).score, exactMatch: 2 / 5 };
    for (const [model, batch] of [[models['encoder-decoder']!, '2'], [models['encoder-decoder']!, '32'], [ckpt('encoder-decoder'), '3']] as const) {
      const r = await json(['eval', model, '--pairs', file, '--batch-size', batch, '--json']);
      expect(r.task).toBe('translation');
      expect(r.examples).toBe(5);
      expect(r.metrics.exactMatch).toBe(expected.exactMatch);
      expect(r.metrics.bleu).toBeCloseTo(expected.bleu, 9);
      expect(r.metrics.chrf).toBeCloseTo(expected.chrf, 9);
    }
    // Scores that could be wrong: some n-grams match and some do not.
    expect(expected.chrf).toBeGreaterThan(0);
    expect(expected.chrf).toBeLessThan(100);
    const text = await attend(['eval', models['encoder-decoder']!, '--pairs', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^BLEU\s+\d+\.\d\d/m);
    expect(text.stdout).toMatch(/^chrF2\s+\d+\.\d\d/m);
    expect(text.stdout).toMatch(/^exact match\s+40\.00%\s+\(2\/5\)/m);
  }, 120_000);

  it('names the file and line of a bad pair', async () => {
    const file = join(dir, 'bad.tsv');
    await writeFile(file, 'abc\tabc\nno tab here\n');
    const r = await attend(['eval', models['encoder-decoder']!, '--pairs', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${file}:2: expected source<TAB>reference, found no tab\n`);
    await writeFile(file, `abc\tabc\n${'a'.repeat(MAX_SEQ_LEN + 5)}\tx\n`);
    const long = await attend(['eval', models['encoder-decoder']!, '--pairs', file]);
    expect(long.stderr).toBe(`attend: ${file}:2: the source is ${MAX_SEQ_LEN + 5} tokens long; the model takes at most ${MAX_SEQ_LEN}\n`);
  }, 60_000);
});

describe('attend eval: decoder-lm', () => {
  it('perplexity and bits per character over non-overlapping windows of maxSeqLen', async () => {
    const text = 'the quick brown fox jumps over the lazy dog and then some more words follow here\nsecond line of text\n';
    const file = join(dir, 'text.txt');
    await writeFile(file, text);
    // Reference: every token but the first predicted once, in windows of T predictions.
    const { loadCheckpoint, setupBackend, forwardLogits } = await import('@attend/transformer');
    await setupBackend();
    const loaded = await loadCheckpoint(ckpt('decoder-lm'));
    const tokenizer = tokenizerFromJSON(loaded.tokenizer);
    const ids = tokenizer.encode(text);
    const T = MAX_SEQ_LEN;
    let sum = 0;
    let count = 0;
    for (let start = 0; start + 1 < ids.length; start += T) {
      const window = ids.slice(start, start + T + 1);
      const n = window.length - 1;
      const logits = await forwardLogits(loaded.model, { ids: Int32Array.from(window.slice(0, n)), batchSize: 1, seqLen: n });
      const scored = nllFromLogits(logits, window.slice(1), { vocabSize: tokenizer.vocabSize });
      sum += scored.sum;
      count += scored.count;
    }
    loaded.model.dispose();
    expect(count).toBe(ids.length - 1);
    // A character tokenizer: one character per token, so bits per character = log2(perplexity).
    expect(ids.length).toBe([...text].length);
    for (const [model, batch] of [[ckpt('decoder-lm'), '1'], [ckpt('decoder-lm'), '8'], [models['decoder-lm']!, '2']] as const) {
      const r = await json(['eval', model, '--text', file, '--batch-size', batch, '--json']);
      expect(r.task).toBe('text-generation');
      expect(r.metrics.tokens).toBe(count);
      expect(r.metrics.windows).toBe(Math.ceil(count / T));
      // tfjs agrees with itself to float32 rounding; onnxruntime with tfjs to a few 1e-6 in the mean NLL.
      const digits = model.endsWith('-ckpt') ? 6 : 5;
      expect(Math.log(r.metrics.perplexity)).toBeCloseTo(sum / count, digits);
      expect(r.metrics.meanNll).toBeCloseTo(sum / count, digits);
      expect(r.metrics.bitsPerCharacter).toBeCloseTo(sum / count / Math.LN2, digits);
    }
  }, 120_000);

  it('refuses data of another task, naming the flag to use', async () => {
    const r = await attend(['eval', models['decoder-lm']!, '--pairs', join(dir, 'pairs.tsv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^attend: --pairs: .* holds a text-generation model \(decoder-lm\); evaluate it with --text FILE/);
    const two = await attend(['eval', models['decoder-lm']!, '--text', 'a', '--csv', 'b']);
    expect(two.code).toBe(2);
    expect(two.stderr).toBe('attend: give one data file, not --text and --csv\n');
  }, 60_000);
});

describe('attend eval: classifiers', () => {
  it('text: accuracy and the confusion matrix of the predicted labels', async () => {
    const texts = ['abc', 'hello', 'zzz', 'abab', 'the cat', 'quiet', 'xyz', 'mmm'];
    const labels = [0, 1, 2, 0, 1, 2, 0, 1];
    const infer = await json(['infer', models['encoder-classifier']!, ...texts, '--json']);
    const predicted = (infer.results as { output: number }[]).map((r) => r.output);
    const file = join(dir, 'rows.csv');
    await writeFile(file, `text,label\n${texts.map((t, i) => `"${t}",${labels[i]}`).join('\n')}\n`);
    const matrix = confusionMatrix(predicted, labels, 3);
    const correct = predicted.filter((p, i) => p === labels[i]).length;
    for (const [model, batch] of [[models['encoder-classifier']!, '3'], [ckpt('encoder-classifier'), '32']] as const) {
      const r = await json(['eval', model, '--csv', file, '--batch-size', batch, '--json']);
      expect(r.examples).toBe(8);
      expect(r.metrics.accuracy).toBe(correct / 8);
      expect(r.metrics.confusionMatrix).toEqual({ labels: ['0', '1', '2'], rows: 'true class', columns: 'predicted class', matrix });
    }
    const text = await attend(['eval', models['encoder-classifier']!, '--csv', file]);
    expect(text.stdout).toContain(`accuracy  ${((100 * correct) / 8).toFixed(2)}%  (${correct}/8)`);
    expect(text.stdout).toContain('confusion matrix (rows: true class, columns: predicted class)');
    // The table: a header of class ids, then one row per true class with its counts.
    const rows = text.stdout.trimEnd().split('\n').slice(-3).map((line) => line.trim().split(/\s+/).map(Number));
    expect(rows).toEqual(matrix.map((row, k) => [k, ...row]));
  }, 120_000);

  it('a label outside the classes names the file and line', async () => {
    const file = join(dir, 'badlabel.csv');
    await writeFile(file, 'abc,0\nabd,7\n');
    const r = await attend(['eval', models['encoder-classifier']!, '--csv', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${file}:2: the label must be a class id 0 … 2 (the model has 3 classes), got "7"\n`);
  }, 60_000);

  it('images: a trained vit-classifier, scored on rows it did not train on', async () => {
    // 4×4 images: class 0 bright on the left half, class 1 on the right.
    const rows = (n: number, seed: number) =>
      Array.from({ length: n }, (_, i) => {
        const label = (i + seed) % 2;
        const pixels = Array.from({ length: 16 }, (_, p) => ((p % 4 < 2) === (label === 0) ? 9 + ((p + i) % 7) : (p * 3 + i) % 4));
        return `${pixels.join(',')},${label}`;
      });
    const train = join(dir, 'images-train.csv');
    const test = join(dir, 'images-test.csv');
    await writeFile(train, `${rows(64, 0).join('\n')}\n`);
    await writeFile(test, `${rows(10, 1).join('\n')}\n`);
    const out = join(dir, 'vit');
    const t = await attend(['train', '--images', train, '--steps', '20', '--eval-every', '20', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '16', '--out', out]);
    expect(t.code).toBe(0);
    const infer = await attend(['infer', out, '--file', test, '--json']);
    const expected = JSON.parse(infer.stdout).summary as { accuracy: number; correct: number; total: number };
    const r = await json(['eval', out, '--images', test, '--batch-size', '4', '--json']);
    expect(r.task).toBe('image-classification');
    expect(r.metrics.accuracy).toBe(expected.accuracy);
    expect(r.metrics.correct).toBe(expected.correct);
    const matrix = r.metrics.confusionMatrix.matrix as number[][];
    expect(matrix.flat().reduce((a, b) => a + b, 0)).toBe(10);
    // Five images of each class: each row of the matrix sums to five.
    expect(matrix.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([5, 5]);
  }, 180_000);
});

describe('reading the file in pieces', () => {
  it('line numbers, CRLF and a BOM survive piece boundaries; bad UTF-8 names its line', async () => {
    const { fileLines, textPieces } = await import('./files.js');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i + 1} ${'é'.repeat(i % 13)}`);
    const file = join(dir, 'many.txt');
    await writeFile(file, `\uFEFF${lines.join('\r\n')}`);
    const seen: string[] = [];
    let last = 0;
    for await (const { text, line } of fileLines(file)) {
      expect(line).toBe(last + 1);
      last = line;
      seen.push(text);
    }
    expect(seen).toEqual(lines);
    let pieces = 0;
    for await (const piece of textPieces(file)) {
      pieces++;
      expect(piece.endsWith('\n') || piece === `${lines.at(-1)}`).toBe(true);
    }
    expect(pieces).toBeGreaterThan(2);
    const bad = join(dir, 'bad-utf8.txt');
    await writeFile(bad, Buffer.concat([Buffer.from('ok\nok\n'), Buffer.from([0xff, 0x0a])]));
    await expect(async () => {
      for await (const _ of fileLines(bad)) void _;
    }).rejects.toThrow(`${bad}:3: not valid UTF-8`);
    await expect(async () => {
      for await (const _ of fileLines(dir)) void _;
    }).rejects.toThrow(`${dir}: not a regular file`);
  });
});
