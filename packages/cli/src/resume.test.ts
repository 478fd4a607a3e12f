// `attend train --resume` through the built CLI (dist/bin.js): flags that contradict the
// checkpoint's model are refused naming the flag and both values while training settings may
// change, a trainer state whose step disagrees with the optimizer's is refused, and Ctrl-C at a
// random moment of a run ends it soon with a checkpoint that resumes.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

const TINY = ['--task', 'reverse', '--d-model', '32', '--heads', '2', '--layers', '1', '--batch-size', '16', '--examples', '300', '--dev-size', '20'];

/** Runs the CLI; `onStdout` sees the output so far and may signal the process. */

let dir: string;
let ckpt: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-resume-'));
  ckpt = join(dir, 'ckpt');
  const r = await attend(['train', ...TINY, '--steps', '4', '--eval-every', '4', '--out', ckpt]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the 4-step checkpoint, so that each test resumes its own. */
async function copy(name: string): Promise<string> {
  const to = join(dir, name);
  await cp(ckpt, to, { recursive: true });
  return to;
}

describe('attend train --resume with contradicting settings', () => {
  it.each([
    [['--d-model', '64'], '--d-model: 64 differs from the checkpoint\'s 32'],
    [['--heads', '4'], '--heads: 4 differs from the checkpoint\'s 2'],
    [['--layers', '3'], '--layers: 3 differs from the checkpoint\'s numEncoderLayers 1'],
    [['--d-ff', '100'], '--d-ff: 100 differs from the checkpoint\'s 128'],
    [['--preset', 'rnn-seq2seq'], '--preset: rnn-seq2seq differs from the checkpoint\'s encoder-decoder'],
  ])('%j is refused in one line naming the flag and both values; the checkpoint is unchanged', async (flags, message) => {
    const out = await copy(`contradict${flags[0]}`);
    const before = await readFile(join(out, 'model.safetensors'));
    const r = await attend(['train', ...TINY, '--steps', '8', '--out', out, '--resume', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`attend: ${message} in ${out}; a resumed run keeps its model (drop it, or start a new run with --overwrite)\n`);
    expect(await readFile(join(out, 'model.safetensors'))).toEqual(before);
  });

  it('a flag the checkpoint\'s kind does not have is refused', async () => {
    const out = await copy('contradict-kind');
    const r = await attend(['train', ...TINY, '--steps', '8', '--out', out, '--resume', '--rnn-cell', 'lstm']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`attend: --rnn-cell: the checkpoint in ${out} (encoder-decoder) has no such setting\n`);
  });

  it('a --config field that contradicts the checkpoint is refused naming the file and the field', async () => {
    const out = await copy('contradict-file');
    const file = join(dir, 'wide.json');
    await writeFile(file, JSON.stringify({ dModel: 48 }));
    const r = await attend(['train', ...TINY.filter((a, i, all) => a !== '--d-model' && all[i - 1] !== '--d-model'), '--config', file, '--steps', '8', '--out', out, '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${file}: dModel: 48 differs from the checkpoint's 32 in ${out}; a resumed run keeps its model (drop it, or start a new run with --overwrite)\n`);
  });

  it('training settings may change, and model flags equal to the checkpoint\'s are accepted', async () => {
    const out = await copy('accepted');
    const r = await attend(['train', ...TINY, '--d-ff', '128', '--steps', '8', '--lr', '0.001', '--batch-size', '8', '--eval-every', '2', '--out', out, '--resume']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resuming from step 4:');
    expect(r.stdout).toContain('done: step 8/8');
  });

  it('a trainer_state.json whose step disagrees with the optimizer state is refused naming both files and steps', async () => {
    const out = await copy('steps');
    const statePath = join(out, 'trainer_state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { step: number };
    expect(state.step).toBe(4);
    await writeFile(statePath, JSON.stringify({ ...state, step: 9 }));
    const r = await attend(['train', ...TINY, '--steps', '12', '--out', out, '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${statePath}: step 9 disagrees with ${join(out, 'optimizer.safetensors')}: step 4; the two files are not from the same save\n`);
  });
});

describe('Ctrl-C during training', () => {
  it('SIGINT at a random moment after the first progress line ends the run soon, with a checkpoint that resumes', async () => {
    const out = join(dir, 'interrupted');
    const delay = Math.floor(Math.random() * 3000);
    let sentAt: number | undefined;
    const first = await attend(['train', ...TINY, '--steps', '100000', '--eval-every', '1000', '--out', out], { onStdout: (text, child) => {
      if (sentAt === undefined && /step \d+\/100000/.test(text)) {
        sentAt = -1;
        setTimeout(() => {
          sentAt = performance.now();
          child.kill('SIGINT');
        }, delay);
      }
    } });
    const seconds = (performance.now() - sentAt!) / 1000;
    const context = `SIGINT ${delay} ms after the first progress line; exited ${seconds.toFixed(1)} s later\n${first.stderr}`;
    expect(sentAt, context).toBeGreaterThan(0);
    expect(first.code, context).toBe(130);
    // Within one step plus the checkpoint write, with room for a loaded machine.
    expect(seconds, context).toBeLessThan(15);
    const saved = Number(/interrupted at step (\d+); checkpoint saved/.exec(first.stdout)?.[1]);
    expect(saved, context).toBeGreaterThanOrEqual(10);
    const second = await attend(['train', ...TINY, '--steps', String(saved + 5), '--eval-every', '1000', '--out', out, '--resume']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`resuming from step ${saved}:`);
    expect(second.stdout).toContain(`done: step ${saved + 5}/${saved + 5}`);
  });
});
