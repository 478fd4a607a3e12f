// One behaviour everywhere (issue 14, section 6), through the built CLI on tiny untrained
// models (maxSeqLen 24, alphabet a–z and space): finishReason and the note on stderr when the
// context stops a generation, --sliding-window on tfjs and onnxruntime alike, the warning for
// characters the tokenizer does not know, one flag vocabulary (--max-new-tokens and its alias,
// one --seed default), the same JSON keys across tasks, a classifier's --file accuracy, and
// the refusals (translate of a decoder-lm, --sliding-window of a classifier, --context-length
// of an encoder–decoder).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { MAX_SEQ_LEN, tinyExport } from './test-utils/tiny-export.js';

let dir: string;
let lm: string;
let lmCkpt: string;
let classifier: string;
let seq2seq: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-behaviour-'));
  lm = await tinyExport(dir, 'decoder-lm', 1);
  lmCkpt = join(dir, 'decoder-lm-ckpt');
  classifier = await tinyExport(dir, 'encoder-classifier', 3);
  seq2seq = await tinyExport(dir, 'encoder-decoder', 2);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Result {
  input: string;
  output: string;
  finishReason: string;
}

async function generateJson(model: string, args: string[]): Promise<{ results: Result[]; stderr: string; code: number | null }> {
  const r = await attend(['generate', model, ...args, '--json']);
  return { results: r.code === 0 ? (JSON.parse(r.stdout) as { results: Result[] }).results : [], stderr: r.stderr, code: r.code };
}

describe('finishReason and --sliding-window', () => {
  const prompts = ['abc', 'the', 'zz', 'hello', 'q', 'mn'];

  it('say context (with a note on stderr) when maxSeqLen stops the text; --sliding-window goes on to --max-new-tokens, the same on tfjs and onnxruntime', async () => {
    const stopped = await generateJson(lm, [...prompts, '--max-new-tokens', '40']);
    expect(stopped.code).toBe(0);
    expect(stopped.results.map((r) => r.input)).toEqual(prompts);
    const full = stopped.results.filter((r) => r.finishReason === 'context');
    expect(full.length).toBeGreaterThan(0); // some prompt fills the context
    for (const r of stopped.results) {
      expect(['eos', 'context']).toContain(r.finishReason);
      if (r.finishReason === 'context') expect(r.input.length + r.output.length).toBe(MAX_SEQ_LEN); // one token per character, no bos
      else expect(r.input.length + r.output.length).toBeLessThan(MAX_SEQ_LEN);
    }
    const notes = stopped.stderr.split('\n').filter((line) => line.includes("stopped at the model's context"));
    expect(notes).toHaveLength(full.length);
    expect(notes[0]).toMatch(/^attend: prompt \d stopped at the model's context of 24 tokens \(--sliding-window goes on past it\)$/);

    const inputs = full.map((r) => r.input);
    const slid = await generateJson(lm, [...inputs, '--max-new-tokens', '40', '--sliding-window']);
    const slidTfjs = await generateJson(lmCkpt, [...inputs, '--max-new-tokens', '40', '--sliding-window']);
    expect(slid.stderr).toBe('');
    expect(slidTfjs.stderr).toBe('');
    expect(slidTfjs.results).toEqual(slid.results);
    slid.results.forEach((r, i) => {
      expect(r.output.startsWith(full[i]!.output)).toBe(true);
      expect(['eos', 'length']).toContain(r.finishReason);
      if (r.finishReason === 'length') expect(r.output).toHaveLength(40);
    });
    expect(slid.results.some((r) => r.finishReason === 'length')).toBe(true); // 40 new tokens past a context of 24

    const short = await generateJson(lm, [inputs[0]!, '--max-new-tokens', '3']);
    expect(short.results[0]).toMatchObject({ finishReason: 'length', output: full[0]!.output.slice(0, 3) });
  });

  it('--sliding-window is refused for a model that does not generate', async () => {
    for (const model of [classifier, seq2seq]) {
      const r = await attend(['infer', model, 'abc', '--sliding-window']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^attend: --sliding-window: for a decoder-lm; this model is an encoder-(classifier|decoder)\n$/);
    }
  });
});

describe('one vocabulary of flags', () => {
  it('--max-tokens is an alias of --max-new-tokens; the two disagreeing is a usage error', async () => {
    const a = await attend(['generate', lm, 'abc', '--max-new-tokens', '4']);
    const b = await attend(['generate', lm, 'abc', '--max-tokens', '4']);
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const slid = await attend(['generate', lm, 'abc', '--max-new-tokens', '10001', '--sliding-window']);
    expect(slid.code).toBe(2);
    expect(slid.stderr).toBe('attend: --max-new-tokens: 10001 is over the limit of 10000 with --sliding-window\n');
    const both = await attend(['infer', lm, 'abc', '--max-new-tokens', '4', '--max-tokens', '5']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('attend: --max-new-tokens 4 and --max-tokens 5 (its alias) disagree; give one\n');
  });

  it('samples with seed 1 when --seed is not given, in generate and infer alike', async () => {
    const sample = ['--sample', '--temperature', '2', '--max-new-tokens', '12'];
    const unseeded = await attend(['generate', lm, 'ab', ...sample]);
    const one = await attend(['generate', lm, 'ab', ...sample, '--seed', '1']);
    const infer = await attend(['infer', lm, 'ab', ...sample]);
    expect(unseeded.stdout).toBe(one.stdout);
    expect(`ab${infer.stdout}`).toBe(unseeded.stdout);
    expect((await attend(['generate', lm, 'ab', ...sample, '--seed', '0'])).stdout).not.toBe(one.stdout);
  });

  it('gives every task the same JSON keys: input and output, then the task fields; no strategy for a classifier', async () => {
    const generated = JSON.parse((await attend(['infer', lm, 'abc', '--max-new-tokens', '3', '--json'])).stdout);
    expect(Object.keys(generated.results[0])).toEqual(['input', 'output', 'finishReason']);
    expect(generated.strategy).toEqual({ kind: 'greedy' });
    const translated = JSON.parse((await attend(['infer', seq2seq, 'abc', '--json'])).stdout);
    expect(Object.keys(translated.results[0])).toEqual(['input', 'output', 'finishReason']);
    expect(['eos', 'context']).toContain(translated.results[0].finishReason);
    const many = await attend(['infer', seq2seq, 'abc', 'hello', 'zz top', 'q', 'mnop', '--json']);
    const reasons = (JSON.parse(many.stdout) as { results: Result[] }).results.map((r) => r.finishReason);
    expect(reasons.every((r) => r === 'eos' || r === 'context')).toBe(true);
    const notes = many.stderr.split('\n').filter(Boolean);
    expect(notes).toEqual(reasons.flatMap((r, i) => (r === 'context' ? [`attend: input ${i + 1} stopped at the model's context of 24 tokens`] : [])));
    const capped = JSON.parse((await attend(['infer', seq2seq, 'abc', '--json', '--max-new-tokens', '1'])).stdout);
    expect(['eos', 'length']).toContain(capped.results[0].finishReason);
    const classified = JSON.parse((await attend(['infer', classifier, 'abc', '--json'])).stdout);
    expect(Object.keys(classified.results[0])).toEqual(['input', 'output', 'probabilities']);
    expect(classified.results[0].input).toBe('abc');
    expect(classified.strategy).toBeUndefined();
    expect(classified.preset).toBe('encoder-classifier');
  });
});

describe('what a model cannot take', () => {
  it('warns on stderr, with the count and the characters, about input the tokenizer does not know', async () => {
    const r = await attend(['generate', lm, 'JULY 4th', '--max-new-tokens', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('attend: warning: the input: 5 tokens unknown to the tokenizer, read as <unk> ("J", "U", "L", "Y", "4")\n');
    const many = await attend(['infer', classifier, 'abc', 'AB!', 'x?']);
    expect(many.stderr).toBe('attend: warning: 2 of 3 inputs: 4 tokens unknown to the tokenizer, read as <unk> ("A", "B", "!", "?")\n');
    expect((await attend(['generate', lm, 'july', '--max-new-tokens', '2'])).stderr).toBe('');
  });

  it('translate refuses a decoder-lm (and a classifier) in one line', async () => {
    const r = await attend(['translate', lm, 'abc']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${lm}: a decoder-lm model; translate needs an encoder-decoder or rnn-seq2seq (use attend generate)\n`);
    expect((await attend(['translate', classifier, 'abc'])).stderr).toMatch(/translate needs an encoder-decoder or rnn-seq2seq \(use attend infer\)\n$/);
    expect((await attend(['translate', seq2seq, 'abc'])).code).toBe(0);
  });

  it('--context-length for an encoder–decoder is a usage error, as --patch-size is', async () => {
    const r = await attend(['train', '--task', 'copy', '--context-length', '32', '--steps', '1', '--out', join(dir, 'ctx')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("attend: --context-length: preset 'encoder-decoder' has no such setting (it sets a decoder-lm's training windows)\n");
    const patch = await attend(['train', '--task', 'copy', '--patch-size', '2', '--steps', '1', '--out', join(dir, 'patch')]);
    expect(patch.code).toBe(2);
  });
});

describe('classifier --file accuracy', () => {
  it('reads a --file in the training layout (text,label rows) and reports the accuracy, as images do', async () => {
    const plain = JSON.parse((await attend(['infer', classifier, 'abc', 'hello world', 'zzz', '--json'])).stdout) as { results: { output: number }[] };
    const labels = plain.results.map((r) => r.output);
    labels[2] = (labels[2]! + 1) % 3; // one wrong on purpose: 2 of 3 right
    const csv = join(dir, 'dev.csv');
    await writeFile(csv, `text,label\nabc,${labels[0]}\n"hello world",${labels[1]}\nzzz,${labels[2]}\n`);
    const r = await attend(['infer', classifier, '--file', csv]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).toBe('accuracy: 66.67% (2/3 inputs)\n');
    const json = JSON.parse((await attend(['infer', classifier, '--file', csv, '--json'])).stdout);
    expect(json.summary).toEqual({ accuracy: 2 / 3, correct: 2, total: 3 });
    expect(json.results.map((x: { input: string; expected: number }) => [x.input, x.expected])).toEqual([['abc', labels[0]], ['hello world', labels[1]], ['zzz', labels[2]]]);
    // Plain lines (no labels) are inputs as they are, with no accuracy.
    const lines = join(dir, 'lines.txt');
    await writeFile(lines, 'abc\nhello, world\n');
    const unlabelled = await attend(['infer', classifier, '--file', lines]);
    expect(unlabelled.stdout.trim().split('\n')).toHaveLength(2);
    expect(unlabelled.stderr).toBe('attend: warning: 1 of 2 inputs: 1 token unknown to the tokenizer, read as <unk> (",")\n');
  });
});
