// `attend infer` over many inputs: --file and stdin (`--file -`) are read and run --batch-size
// lines at a time, each batch's outputs written before the next is read (memory flat in the
// number of lines); --json writes the same single object as it goes; input numbers in errors
// count across batches. tokenBatch over a data-sized batch (no argument spreads).

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer } from '@attend/core';
import { tokenBatch } from './runner.js';
import { ALPHABET, tinyExport } from './test-utils/tiny-export.js';
import { attend, BIN } from './test-utils/attend.js';

let dir: string;
let seq2seq: string;
const word = (i: number) => Array.from({ length: 1 + (i % 7) }, (_, k) => ALPHABET[(i * 7 + k * 3) % 26]).join('');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-infer-stream-'));
  seq2seq = await tinyExport(dir, 'encoder-decoder', 3);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('infer --file in batches', () => {
  it('--file -: the first outputs are written while stdin is still open, then every line gets its output', async () => {
    const child = spawn(process.execPath, [BIN, 'infer', seq2seq, '--file', '-', '--batch-size', '2', '--max-tokens', '3'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstOutput = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), resolve())));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write('abc\nhello\n');
    // The input is not over: only a batch-by-batch reader can answer now.
    await Promise.race([firstOutput, closed.then(() => Promise.reject(new Error(`exited early: ${stderr}`)))]);
    expect(child.stdin.writableEnded).toBe(false);
    expect(stdout.split('\n').length).toBeGreaterThanOrEqual(2);
    child.stdin.end('xyz\nab\ncd\n');
    expect(await closed, stderr).toBe(0);
    expect(stdout.split('\n').filter((l, i, all) => i < all.length - 1)).toHaveLength(5);
  }, 60_000);

  it('outputs and --json do not depend on the batch size; --json is one object', async () => {
    const inputs = Array.from({ length: 70 }, (_, i) => word(i));
    const file = join(dir, 'inputs.txt');
    await writeFile(file, `${inputs.join('\n')}\n`);
    const one = await attend(['infer', seq2seq, '--file', file, '--batch-size', '1024', '--json', '--max-tokens', '4']);
    const small = await attend(['infer', seq2seq, '--file', file, '--batch-size', '8', '--json', '--max-tokens', '4']);
    expect(one.code, one.stderr).toBe(0);
    expect(small.stdout).toBe(one.stdout);
    const parsed = JSON.parse(small.stdout) as { results: { input: string; output: string }[] };
    expect(parsed.results.map((r) => r.input)).toEqual(inputs);
    const text = await attend(['infer', seq2seq, '--file', file, '--batch-size', '3', '--max-tokens', '4']);
    expect(text.stdout).toBe(parsed.results.map((r) => `${r.output}\n`).join(''));
  }, 60_000);

  it('an input error names the input counted over every batch, and --batch-size is capped (exit 2)', async () => {
    const file = join(dir, 'long.txt');
    await writeFile(file, ['ab', 'cd', 'ef', 'gh', 'ij', 'kl', 'x'.repeat(30), 'mn'].join('\n'));
    const r = await attend(['infer', seq2seq, '--file', file, '--batch-size', '3']);
    expect(r.code).toBe(1);
    // The error is the last line (translations of the batch before it may note the context).
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('attend: input 7 is 30 tokens long; the model takes at most 24');
    const capped = await attend(['infer', seq2seq, '--file', file, '--batch-size', '5000']);
    expect(capped.code).toBe(2);
    expect(capped.stderr).toBe('attend: --batch-size: 5000 is over the limit of 1024 inputs per model call\n');
  }, 60_000);

  it('a missing --file fails in one line before the model loads', async () => {
    const r = await attend(['infer', seq2seq, '--file', join(dir, 'nope.txt')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${join(dir, 'nope.txt')}: no such file\n`);
  });
});

describe('data-sized arrays', () => {
  it('tokenBatch pads 200,000 inputs (no spread over the batch)', () => {
    const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
    const texts = Array.from({ length: 200_000 }, (_, i) => word(i));
    const batch = tokenBatch(tokenizer, texts, 24);
    expect(batch.batchSize).toBe(200_000);
    expect(batch.seqLen).toBe(7);
    expect(Array.from(batch.ids.subarray(6 * 7, 7 * 7))).toEqual(tokenizer.encode(word(6)));
  });
});
