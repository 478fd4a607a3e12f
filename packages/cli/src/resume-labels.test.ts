// `attend train --resume` of a classifier whose class names came from --config (`labels`): the
// same config file resumes (labels are a classifier's field, compared as a list), other names are
// refused naming the file, the field and both lists.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

const TINY = ['--task', 'majority', '--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '100', '--dev-size', '10'];
let dir: string;
let ckpt: string;
let names: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-resume-labels-'));
  names = join(dir, 'names.json');
  await writeFile(names, JSON.stringify({ labels: ['more a', 'more b'] }));
  ckpt = join(dir, 'ckpt');
  const r = await attend(['train', ...TINY, '--config', names, '--steps', '4', '--out', ckpt]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend train --resume with labels', () => {
  it('resumes with the same --config labels, and refuses other names in one line', async () => {
    const same = await attend(['train', ...TINY, '--config', names, '--steps', '8', '--out', ckpt, '--resume']);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('done: step 8/8');
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ labels: ['x', 'y'] }));
    const refused = await attend(['train', ...TINY, '--config', other, '--steps', '12', '--out', ckpt, '--resume']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`attend: ${other}: labels: ["x","y"] differs from the checkpoint's ["more a","more b"] in ${ckpt}; a resumed run keeps its model (drop it, or start a new run with --overwrite)\n`);
  }, 120_000);
});
