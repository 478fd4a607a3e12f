// attend train --from CKPT --num-classes N: a classifier checkpoint gets a fresh head for a new
// label set (with LoRA, the head trains beside the adapters and every other weight is kept
// bitwise); data with more labels than the model's classes is refused naming the flag.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend, checkpointWeights } from './test-utils/attend.js';

const TINY = ['--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '100', '--dev-size', '10'];
let dir: string;
let source: string;
let csv: string;


beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-head-'));
  source = join(dir, 'majority');
  const r = await attend(['train', '--task', 'majority', ...TINY, '--steps', '4', '--out', source]);
  expect(r.code, r.stderr).toBe(0);
  // Three labels: which of a, b, c is most frequent in a string over the majority task's letters.
  const rng = createRng(3);
  const rows = Array.from({ length: 60 }, (_, i) => {
    const label = i % 3;
    const text = Array.from({ length: 8 }, () => (rng.next() < 0.6 ? 'abc'[label] : 'abc'[Math.floor(rng.next() * 3)])).join('');
    return `${text},${label}`;
  });
  csv = join(dir, 'three.csv');
  await writeFile(csv, `${rows.join('\n')}\n`);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend train --from --num-classes', () => {
  it('gives the classifier a fresh 3-class head that trains with the LoRA adapters; the rest is unchanged', async () => {
    const refused = await attend(['train', '--from', source, '--csv', csv, '--steps', '2', '--out', join(dir, 'refused')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^attend: .*three\.csv: labels go up to 2 but the model has 2 classes; give --num-classes 3 for a fresh head\n$/);

    const out = join(dir, 'three');
    const r = await attend(['train', '--from', source, '--csv', csv, '--num-classes', '3', '--lora-rank', '2', '--steps', '6', '--lr', '1e-2', '--eval-every', '3', '--batch-size', '8', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config.numClasses).toBe(3);
    expect(config.lora).toMatchObject({ rank: 2, targets: ['q', 'v'], trainable: ['classifier'] });
    const before = await checkpointWeights(source);
    const after = await checkpointWeights(out);
    expect(Array.from(after['classifier.bias']!)).toHaveLength(3);
    for (const [name, w] of Object.entries(before)) if (!name.startsWith('classifier.')) expect(after[name], name).toEqual(w);
    expect(after['classifier.bias']!.some((x) => x !== 0)).toBe(true);

    const infer = await attend(['infer', out, 'aaaaaaab', 'cccccccb']);
    expect(infer.code, infer.stderr).toBe(0);
    expect(infer.stdout.trim().split('\n')).toHaveLength(2);
    expect(infer.stdout).toMatch(/^[012]\t\(/);
  }, 240_000);

  it('refuses --num-classes without --from', async () => {
    const r = await attend(['train', '--csv', csv, '--num-classes', '3', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^attend: --num-classes needs --from CKPT/);
  }, 120_000);
});
