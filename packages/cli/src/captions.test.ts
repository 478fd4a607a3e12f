// attend train --task digit-scenes (image-captioner) end to end on a small made-up digits file:
// a tiny run writes a captioner checkpoint, --resume continues it, infer captions CSV rows of
// pixels, export writes the two ONNX graphs at parity; usage errors name their flag and exit 2.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { writeBarDigits } from './test-utils/bar-digits.js';

let dir = '';
let digits = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-captions-'));
  digits = await writeBarDigits(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TINY = ['--d-model', '16', '--batch-size', '8', '--examples', '64', '--dev-size', '8', '--canvas', '12x24', '--scene-digits', '1-2'];

describe('attend train --task digit-scenes', () => {
  it('trains a hard-attention captioner, resumes it, and exports it at parity', async () => {
    const out = join(dir, 'run');
    const r = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'hard', '--steps', '6', '--eval-every', '3', '--clutter', '2', '--out', out, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training image-captioner on task digit-scenes');
    expect(r.stdout).toMatch(/^ {2}data {6}64 scenes, dev 8; 12×24 pixels, hard attention$/m);
    expect(r.stdout).toMatch(/eval @ step 6: dev exact match \d+\.\d\d%, dev BLEU \d+\.\d\d, dev loss \d/);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    // bos + up to 2 words + eos; the word vocabulary of the captions (4 special tokens + ≤ 10 words).
    expect(config).toMatchObject({ preset: 'image-captioner', visualAttention: 'hard', imageHeight: 12, imageWidth: 24, maxSeqLen: 4, dModel: 16 });
    expect(config.vocabSize).toBeLessThanOrEqual(14);

    const resumed = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'hard', '--steps', '9', '--eval-every', '3', '--clutter', '2', '--out', out, '--resume', ...TINY]);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toContain('resuming from step 6');
    expect(resumed.stdout).toContain('done: step 9/9');

    // infer: one caption per CSV row of 12 × 24 pixel values, words of the digits' names.
    const row = (k: number) => Array.from({ length: 12 * 24 }, (_, i) => ((i + k) % 5 === 0 ? 1 : 0)).join(',');
    const inferred = await attend(['infer', out, row(0), row(1)]);
    expect(inferred.stderr).toBe('');
    // A captioner this short-trained may say nothing (eos first): one line per image all the same.
    const captions = inferred.stdout.replace(/\n$/, '').split('\n');
    expect(captions).toHaveLength(2);
    for (const c of captions) expect(c).toMatch(/^((zero|one|two|three|four|five|six|seven|eight|nine)( |$))*$/);
    const json = JSON.parse((await attend(['infer', out, row(2), '--json'])).stdout) as { preset: string; results: { output: string }[] };
    expect(json.preset).toBe('image-captioner');
    expect(json.results).toHaveLength(1);
    const short = await attend(['infer', out, '1,2,3']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('3 values; the model takes 12 × 24 = 288 pixel values');

    const exported = join(dir, 'export');
    const e = await attend(['export', out, '--out', exported]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toContain('onnx/captioner_encoder.onnx');
    const parity = Number(/logit = ([0-9.e+-]+) on 3 images/.exec(e.stdout)?.[1]);
    expect(parity).toBeLessThanOrEqual(1e-4);
  }, 180_000);

  it.each([
    [['--captioner', 'soft'], '--digits-csv FILE'],
    [['--digits-csv', 'DIGITS', '--canvas', '12by24'], '--canvas: "12by24" is not HEIGHTxWIDTH'],
    [['--digits-csv', 'DIGITS', '--scene-digits', '4', '--canvas', '12x24'], '--scene-digits: 4 digits of 8 px do not fit'],
    [['--digits-csv', 'DIGITS', '--clutter', '1000'], '--clutter: 1000 is over the limit'],
  ])('%j is a usage error naming the flag', async (flags, message) => {
    const args = flags.map((f) => (f === 'DIGITS' ? digits : f));
    const r = await attend(['train', '--task', 'digit-scenes', ...args, '--out', join(dir, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
