// `attend bench` names what its throughput counts, in the table and in --json, and the figure is
// that count per second of the timed forward pass (tiny exports, short measurements).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEQ_LEN, tinyExport } from './test-utils/tiny-export.js';
import { attend } from './test-utils/attend.js';

interface BenchRow {
  runtime: string;
  forwardMs: number;
  throughput: number;
  decodeMsPerToken?: number;
  generatedTokensPerSecond?: number;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-bench-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend bench units', () => {
  it.each([
    ['encoder-classifier', 'sequences/s', 1],
    ['decoder-lm', 'tokens/s', 16],
    ['encoder-decoder', 'source + target tokens/s', 2 * 16],
  ] as const)('%s: %s', async (preset, unit, perForward) => {
    const folder = await tinyExport(dir, preset);
    const r = await attend(['bench', folder, '--seconds', '0.05', '--tokens', '16', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { unit: string; forward: { tokens: number }; rows: BenchRow[] };
    expect(report.unit).toBe(unit);
    expect(report.forward.tokens).toBe(Math.min(16, MAX_SEQ_LEN));
    expect(report.rows.map((row) => row.runtime)).toEqual(['onnxruntime-node cpu, 1 thread', 'onnxruntime-node cpu, 2 threads', 'onnxruntime-web wasm']);
    for (const row of report.rows) {
      // The throughput is what one forward pass counts, per second of its median time.
      expect(row.throughput).toBeCloseTo((1000 * perForward) / row.forwardMs, 6);
      if (preset === 'encoder-classifier') expect(row.decodeMsPerToken).toBeUndefined();
      else expect(row.generatedTokensPerSecond).toBeCloseTo(1000 / row.decodeMsPerToken!, 6);
    }
    const table = await attend(['bench', folder, '--seconds', '0.05', '--tokens', '16']);
    expect(table.stdout).toContain(`│ ${unit} │`);
    if (preset !== 'encoder-classifier') expect(table.stdout).toContain(preset === 'encoder-decoder' ? '│ generated target tokens/s │' : '│ generated tokens/s │');
  }, 120_000);
});
