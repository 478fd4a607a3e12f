// The glimpse-classifier through the CLI: `attend train --preset glimpse-classifier --images`,
// then infer, export (with its parity check) and attention (the glimpse boxes) on the checkpoint
// and on the export folder, which must agree.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-glimpse-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 16×16 canvases, values 0 … 1: a bright 4×4 square in one quadrant (the class) over faint noise. */
function canvases(count: number, seed: number): string[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, () => {
    const label = Math.floor(next() * 4);
    const [x0, y0] = [(label % 2) * 8 + 1 + Math.floor(next() * 3), Math.floor(label / 2) * 8 + 1 + Math.floor(next() * 3)];
    const pixels = Array.from({ length: 256 }, (_, i) => {
      const [x, y] = [i % 16, Math.floor(i / 16)];
      return x >= x0 && x < x0 + 4 && y >= y0 && y < y0 + 4 ? 1 : Math.round(next() * 20) / 100;
    });
    return [...pixels, label].join(',');
  });
}

describe('attend train --preset glimpse-classifier → infer, export, attention', () => {
  it('refuses --workers 2 (its objective samples and keeps baselines: one thread), exit 2, before --out is made', async () => {
    const csv = join(dir, 'few.csv');
    await writeFile(csv, canvases(60, 3).join('\n') + '\n');
    const out = join(dir, 'ram-workers');
    const r = await attend(['train', '--preset', 'glimpse-classifier', '--images', csv, '--workers', '2', '--out', out, '--d-model', '32', '--batch-size', '8', '--dev-size', '10']);
    expect(r.stderr).toBe('attend: --workers: a glimpse-classifier trains with its own objective (sampling, baselines) on one thread; drop --workers or give 1\n');
    expect(r.code).toBe(2);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('trains on an images CSV; checkpoint and export classify alike and draw the same glimpses', async () => {
    const csv = join(dir, 'canvases.csv');
    await writeFile(csv, canvases(300, 1).join('\n') + '\n');
    const test = join(dir, 'test.csv');
    const testRows = canvases(12, 2);
    await writeFile(test, testRows.join('\n') + '\n');
    const ckpt = join(dir, 'ram');
    const r = await attend(['train', '--preset', 'glimpse-classifier', '--images', csv, '--steps', '40', '--eval-every', '20', '--out', ckpt, '--d-model', '32', '--batch-size', '32', '--dev-size', '20']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1×16×16 in 6 glimpses of 3 scales/);
    expect(JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8'))).toMatchObject({ preset: 'glimpse-classifier', imageSize: 16, numClasses: 4, dModel: 32 });
    const metrics = (await readFile(join(ckpt, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics.at(-1)!.dev_reward).toBeGreaterThanOrEqual(0);

    const tfjs = await attend(['infer', ckpt, '--file', test, '--json']);
    expect(tfjs.code).toBe(0);
    const parsed = JSON.parse(tfjs.stdout) as { preset: string; results: { output: number }[]; summary: { total: number } };
    expect(parsed.preset).toBe('glimpse-classifier');
    expect(parsed.summary.total).toBe(12);

    const onnx = join(dir, 'ram-onnx');
    const e = await attend(['export', ckpt, '--out', onnx]);
    expect(e.code).toBe(0);
    expect(Number(/logit = (\S+) on 3 images/.exec(e.stdout)?.[1])).toBeLessThan(1e-4);
    const ort = await attend(['infer', onnx, '--file', test, '--json']);
    expect((JSON.parse(ort.stdout) as typeof parsed).results.map((x) => x.output)).toEqual(parsed.results.map((x) => x.output));

    const row = testRows[0]!.split(',').slice(0, 256).join(',');
    const figures: string[] = [];
    for (const model of [ckpt, onnx]) {
      const out = join(dir, `figures-${figures.length}`);
      const a = await attend(['attention', model, row, '--out', out]);
      expect(a.stderr).toBe('');
      expect(a.code).toBe(0);
      expect(a.stdout.match(/^glimpse \d: \(/gm)).toHaveLength(6);
      expect(a.stdout).toContain('attention-glimpses.svg (6 glimpses, 3 scales)');
      const svg = await readFile(join(out, 'attention-glimpses.svg'), 'utf8');
      expect(svg.match(/glimpse \d at/g)).toHaveLength(6);
      figures.push(a.stdout.split('\n').filter((l) => l.startsWith('glimpse ')).join('\n'));
    }
    expect(figures[1]).toBe(figures[0]); // locations to 3 decimals: tfjs and onnxruntime look at the same places
  }, 300_000);
});
