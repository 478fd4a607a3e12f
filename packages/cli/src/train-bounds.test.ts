// Bounds of `attend train` on any input, through the built CLI: documented caps on --examples,
// --d-model, the context and the character vocabulary; a memory estimate that refuses a run too
// large for the tfjs wasm heap (or --memory-limit) before a model is built, naming the batch
// size that fits, or without --grad-accum splits the batch into the micro-batches that fit; data checked before training (too few pairs, every source or target the same,
// text shorter than a window, one class), each one line naming the flag or the file.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

let dir: string;
/** A text file of `n` characters from a small alphabet. */
let text: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-train-bounds-'));
  text = join(dir, 'text.txt');
  await writeFile(text, Array.from({ length: 3000 }, (_, i) => 'the cat sat on a mat '[i % 21]).join(''));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const out = (name: string) => join(dir, 'runs', name);

describe('train caps', () => {
  it('--examples 1e9 and --d-model 65536 are usage errors naming the flag and the cap; in a config file, the file and field', async () => {
    const examples = await attend(['train', '--task', 'reverse', '--examples', '1e9', '--out', out('examples')]);
    expect(examples.code).toBe(2);
    expect(examples.stderr).toBe('attend: --examples: 1000000000 is over the limit of 1,000,000\n');
    const width = await attend(['train', '--text', text, '--d-model', '65536', '--heads', '4', '--out', out('width')]);
    expect(width.code).toBe(2);
    expect(width.stderr).toBe('attend: --d-model: 65536 is over the limit of 4,096\n');
    const config = join(dir, 'wide.json');
    await writeFile(config, JSON.stringify({ dModel: 65536, contextLength: 100_000 }));
    const file = await attend(['train', '--text', text, '--config', config, '--out', out('file')]);
    expect(file.code).toBe(1);
    expect(file.stderr).toBe(`attend: ${config}: dModel: 65536 is over the limit of 4,096\n`);
  });

  it('a text of 70,000 distinct characters is refused naming the file, before a model is built', async () => {
    const wide = join(dir, 'wide.txt');
    await writeFile(wide, Array.from({ length: 70_000 }, (_, i) => String.fromCodePoint(0x10000 + i)).join(''));
    const r = await attend(['train', '--text', wide, '--out', out('vocab')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${wide}: 70,004 distinct characters; a character vocabulary holds at most 65,536 (is it text?)\n`);
  });

  it('a CSV row longer than the longest context is refused naming the file', async () => {
    const csv = join(dir, 'long.csv');
    await writeFile(csv, `text,label\n${'a'.repeat(9000)},0\nbb,1\nab,0\nba,1\n`);
    const r = await attend(['train', '--csv', csv, '--out', out('long')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${csv}: its longest text needs 9,002 tokens; the model takes at most 8,192\n`);
  });
});

describe('train memory estimate', () => {
  it("the issue's run (context 256, batch 64, d 128, 4 layers) with --grad-accum 1 is refused before training, naming the batch size that fits", async () => {
    const r = await attend(['train', '--text', text, '--context-length', '256', '--batch-size', '64', '--grad-accum', '1', '--d-model', '128', '--layers', '4', '--out', out('big')]);
    expect(r.code).toBe(2);
    const m = /^attend: --batch-size 64 needs ~(\d+\.\d) GiB; the tfjs wasm heap holds 4\.0 GiB \(3\.6 GiB for training\); --batch-size (\d+) fits, or --grad-accum (\d+) keeps the batch of 64\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(3.6);
    expect(Number(m![2])).toBeGreaterThanOrEqual(8);
    expect(Number(m![2])).toBeLessThan(32);
    expect(Number(m![3])).toBe(Math.ceil(64 / Number(m![2])));
    expect(r.stdout).toBe('');
  });

  it('a model too large for even one example names what to lower', async () => {
    const r = await attend(['train', '--text', text, '--d-model', '4096', '--layers', '8', '--heads', '8', '--out', out('huge')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^attend: the model \([\d,]+ parameters, one example of 64 tokens\) needs ~\d+\.\d GiB to train; the tfjs wasm heap holds 4\.0 GiB \(3\.6 GiB for training\); lower --d-model, --layers, --context-length or the vocabulary\n$/);
  });

  it('--memory-limit: the batch size it names trains', async () => {
    const args = ['train', '--text', text, '--context-length', '32', '--d-model', '16', '--heads', '2', '--layers', '1', '--steps', '1', '--eval-every', '1'];
    const refused = await attend([...args, '--memory-limit', '0.05', '--grad-accum', '1', '--out', out('limit')]);
    expect(refused.code).toBe(2);
    const m = /^attend: --batch-size 64 \(the default\) needs ~0\.\d\d GiB; --memory-limit is 0\.05 GiB; --batch-size (\d+) fits, or --grad-accum (\d+) keeps the batch of 64\n$/.exec(refused.stderr);
    expect(m, refused.stderr).not.toBeNull();
    const ok = await attend([...args, '--memory-limit', '0.05', '--batch-size', m![1]!, '--out', out('limit')]);
    expect(ok.code, ok.stderr).toBe(0);
    // The same batch of 64 in the micro-batches it names fits too, and trains.
    const accumulated = await attend([...args, '--memory-limit', '0.05', '--grad-accum', m![2]!, '--out', out('limit-accum')]);
    expect(accumulated.code, accumulated.stderr).toBe(0);
    const tooMany = await attend([...args, '--batch-size', '8', '--grad-accum', '9', '--out', out('limit-accum-bad')]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toBe('attend: --grad-accum: 9 micro-batches cannot split a batch of 8; use at most 8\n');
  }, 90_000);

  it('--workers: each worker has its own heap and half the rows, so twice the batch fits', async () => {
    // A limit under a worker's 32 rows (one worker: fewer than 32 fit), so neither run trains.
    const args = ['train', '--text', text, '--context-length', '32', '--d-model', '16', '--heads', '2', '--layers', '1', '--memory-limit', '0.04', '--grad-accum', '1'];
    const one = await attend([...args, '--out', out('workers-1')]);
    const fits = Number(/--batch-size (\d+) fits/.exec(one.stderr)?.[1]);
    expect(fits, one.stderr).toBeGreaterThan(0);
    expect(fits).toBeLessThan(32);
    const two = await attend([...args, '--workers', '2', '--out', out('workers-2')]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(new RegExp(`^attend: --batch-size 64 \\(the default\\) on 2 workers \\(32 rows each\\) needs ~0\\.\\d\\d GiB per worker; --memory-limit is 0\\.04 GiB; --batch-size ${2 * fits} fits, or --grad-accum ${Math.ceil(32 / fits)} keeps the batch of 64\n$`));
  }, 60_000);

  it('without --grad-accum, a batch too large is trained in the fewest micro-batches that fit, as --grad-accum would', async () => {
    const args = ['train', '--text', text, '--context-length', '32', '--d-model', '16', '--heads', '2', '--layers', '1', '--steps', '2', '--eval-every', '2', '--memory-limit', '0.05'];
    const refused = await attend([...args, '--grad-accum', '1', '--out', out('auto-refused')]);
    const accum = Number(/--grad-accum (\d+) keeps the batch of 64/.exec(refused.stderr)?.[1]);
    expect(accum, refused.stderr).toBeGreaterThan(1);
    const auto = await attend([...args, '--out', out('auto')]);
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stdout).toContain(`batch 64 (${accum} micro-batches of ≤ ${Math.ceil(64 / accum)}, to fit in memory)`);
    const given = await attend([...args, '--grad-accum', String(accum), '--out', out('auto-given')]);
    expect(given.code, given.stderr).toBe(0);
    // Every line of metrics.jsonl but its wall-clock time.
    const metrics = async (name: string) =>
      (await readFile(join(out(name), 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => ({ ...JSON.parse(line), elapsed_s: undefined }));
    expect(await metrics('auto')).toEqual(await metrics('auto-given'));
  }, 120_000);

  it('200,000 pairs reach the memory check without overflowing the stack (no spreads over the data)', async () => {
    const tsv = join(dir, 'many.tsv');
    await writeFile(tsv, Array.from({ length: 200_000 }, (_, i) => `w${i} x${i % 97}\tm${i}`).join('\n'));
    const r = await attend(['train', '--pairs', tsv, '--memory-limit', '0.01', '--grad-accum', '1', '--out', out('many')]);
    expect(r.stderr).toMatch(/^attend: .*--memory-limit is 0\.01 GiB/);
    expect(r.code).toBe(2);
  }, 60_000);
});

describe('train data checks', () => {
  const pairsFile = async (name: string, lines: string[]) => {
    const path = join(dir, name);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  };

  it('a TSV of 1 to 3 pairs is refused before training, naming the file', async () => {
    for (const n of [1, 2, 3]) {
      const tsv = await pairsFile(`tiny${n}.tsv`, Array.from({ length: n }, (_, i) => `src ${i}\ttgt ${i}`));
      const r = await attend(['train', '--pairs', tsv, '--out', out(`tiny${n}`)]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(`attend: ${tsv}: ${n} pair${n === 1 ? '' : 's'} are too few for a train and a dev set (dev takes 10%, by source sentence); give at least 10 pairs with different sources\n`);
    }
  });

  it('pairs whose sources (or targets) are all the same are refused naming the file and the side', async () => {
    const sources = await pairsFile('same-src.tsv', Array.from({ length: 30 }, (_, i) => `hello\tbonjour ${i}`));
    const a = await attend(['train', '--pairs', sources, '--out', out('same-src')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(`attend: ${sources}: every source is "hello"; the pairs need different sources to learn from\n`);
    const targets = await pairsFile('same-tgt.tsv', Array.from({ length: 30 }, (_, i) => `hello ${i}\tbonjour`));
    const b = await attend(['train', '--pairs', targets, '--out', out('same-tgt')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe(`attend: ${targets}: every target is "bonjour"; the pairs need different targets to learn from\n`);
  });

  it('--task with too few --examples, a text shorter than a window, a CSV of one class: one line each', async () => {
    const task = await attend(['train', '--task', 'reverse', '--examples', '3', '--out', out('few')]);
    expect(task.code).toBe(1);
    expect(task.stderr).toMatch(/^attend: task reverse: 3 pairs are too few for a train and a dev set/);
    const short = join(dir, 'short.txt');
    await writeFile(short, 'to be or not to be');
    const lm = await attend(['train', '--text', short, '--out', out('short')]);
    expect(lm.code).toBe(1);
    expect(lm.stderr).toBe(`attend: ${short}: 18 characters are too few for windows of 64 tokens (lower --context-length)\n`);
    const csv = join(dir, 'one-class.csv');
    await writeFile(csv, 'good,1\nfine,1\nnice,1\n');
    const one = await attend(['train', '--csv', csv, '--out', out('one-class')]);
    expect(one.code).toBe(1);
    expect(one.stderr).toBe(`attend: ${csv}: every row has label 1; a classifier needs at least 2 classes\n`);
  });
});
