// Scenes and checks for the captioners' CLI tests (caption-tools.test.ts,
// vision-caption-tools.test.ts): made-up pixel rows, as CSV lines or grey PNG files, the terminal
// lines of `attend attention` that list each generated word, and the checks that `infer`, `eval`
// and `bench` take a captioner's checkpoint and its export folder alike.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import { attend } from './attend.js';
import { writeBarDigits } from './bar-digits.js';

/** The canvas of these tests: 12 × 24 pixels. */
export const [SCENE_H, SCENE_W] = [12, 24];

/** A scene's pixel values: bars of grey k/255 (exact in a PNG) where (i + k) % 5 === 0. */
export const scene = (k: number): number[] => Array.from({ length: SCENE_H * SCENE_W }, (_, i) => ((i + k) % 5 === 0 ? (60 + 40 * k) / 255 : 0));

/**
 * Bar digits in `dir`, an image-captioner with `captioner` attention trained on them by `attend
 * train` (long enough at this rate for its captions to hold words: an untrained captioner says
 * nothing) and its export folder: the digits file, the checkpoint, the export and what `attend
 * export` printed.
 */
export async function trainLstmCaptioner(dir: string, captioner: 'soft' | 'hard'): Promise<{ digits: string; run: string; exported: string; exportOutput: string }> {
  const digits = await writeBarDigits(dir);
  const run = join(dir, captioner);
  const exported = join(dir, `${captioner}-onnx`);
  const trained = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', captioner, '--steps', '30', '--lr', '0.02', '--eval-every', '30', '--d-model', '16', '--batch-size', '8', '--examples', '64', '--dev-size', '8', '--canvas', `${SCENE_H}x${SCENE_W}`, '--scene-digits', '1-2', '--out', run]);
  expect(trained.stderr).toBe('');
  const e = await attend(['export', run, '--out', exported]);
  expect(e.stderr).toBe('');
  return { digits, run, exported, exportOutput: e.stdout };
}

/** Pixel values as one CSV line. */
export const csvRow = (values: number[]): string => values.map((v) => v.toFixed(4)).join(',');

/** Writes `values` (0 … 1, row-major) as a grey PNG of width × height. */
export async function writePng(file: string, values: number[], width = SCENE_W, height = SCENE_H): Promise<void> {
  const png = new PNG({ width, height });
  values.forEach((v, i) => {
    const g = Math.round(v * 255);
    png.data.set([g, g, g, 255], 4 * i);
  });
  await writeFile(file, PNG.sync.write(png));
}

/** The lines of `attend attention`'s output on a captioner that give each word's largest weight and where. */
export const wordLines = (stdout: string): string[] => stdout.split('\n').filter((l) => /largest α/.test(l));

/**
 * `attend infer` of a captioner's checkpoint `run` and its export folder `exported` on three
 * scenes: the export's captions (cpu and wasm, greedy and beam 3) equal the checkpoint's, some
 * caption holds words, and a PNG (written in `dir`) captions as its CSV row.
 */
export async function checkInferAgrees(run: string, exported: string, dir: string): Promise<void> {
  const rows = [0, 1, 2].map((k) => csvRow(scene(k)));
  const fromCheckpoint = await attend(['infer', run, ...rows]);
  expect(fromCheckpoint.stderr).toBe('');
  const lines = fromCheckpoint.stdout.replace(/\n$/, '').split('\n');
  expect(lines).toHaveLength(3);
  expect(lines.some((l) => l.length > 0)).toBe(true);
  for (const device of ['cpu', 'wasm']) {
    const fromExport = await attend(['infer', exported, ...rows, '--device', device]);
    expect(fromExport.stderr).toBe('');
    expect(fromExport.stdout).toBe(fromCheckpoint.stdout);
  }
  const beam = await attend(['infer', exported, ...rows, '--beam', '3']);
  expect(beam.stderr).toBe('');
  expect(beam.stdout).toBe((await attend(['infer', run, ...rows, '--beam', '3'])).stdout);
  const png = join(dir, 'scene.png');
  await writePng(png, scene(1));
  for (const model of [run, exported]) {
    const fromPng = await attend(['infer', model, png]);
    expect(fromPng.stderr).toBe('');
    expect(fromPng.stdout).toBe(`${lines[1]}\n`);
  }
}

/** What `attend eval --digits-csv --json` reports of a captioner (the metrics these tests read). */
export interface CaptionEvalJson {
  examples: number;
  strategy: string;
  hardInference?: string;
  metrics: { exactMatch: number; bleu: number; loss: number; perplexity: number; lossTokens: number; lossScenes: number; byDigits: { digits: number; scenes: number; exactMatch: number }[] };
}

/**
 * The export's eval metrics against the checkpoint's: the captions' scores the same, the
 * teacher-forced test loss within 2e-4 nats (the parity check of `attend export` holds the logits within 1e-4, so each
 * token's log-softmax within 2e-4), and each perplexity exp(loss). Returns the checkpoint's loss.
 */
export function expectSameEval(checkpoint: CaptionEvalJson, exportFolder: CaptionEvalJson): number {
  const { loss, perplexity, ...captions } = checkpoint.metrics;
  const { loss: exportLoss, perplexity: exportPerplexity, ...exportCaptions } = exportFolder.metrics;
  expect(exportCaptions).toEqual(captions);
  expect(Math.abs(exportLoss - loss)).toBeLessThanOrEqual(2e-4);
  expect(perplexity).toBeCloseTo(Math.exp(loss), 6);
  expect(exportPerplexity).toBeCloseTo(Math.exp(exportLoss), 6);
  return loss;
}

/**
 * `attend eval --digits-csv` of a captioner's checkpoint and export on `scenes` test scenes of 1–2
 * digits: the same metrics from both (`expectSameEval`), every scene in one digit-count group, the
 * overall exact match the groups' summed, every scene's words and end token in the test loss.
 * Returns the checkpoint's report.
 */
export async function checkEvalAgrees(run: string, exported: string, digits: string, scenes: number) {
  const args = ['--digits-csv', digits, '--scenes', String(scenes), '--scene-digits', '1-2', '--batch-size', '16', '--json'];
  const results = [];
  for (const model of [run, exported]) {
    const r = await attend(['eval', model, ...args]);
    expect(r.stderr).toBe('');
    results.push(JSON.parse(r.stdout) as CaptionEvalJson);
  }
  const [checkpoint, exportFolder] = results;
  expectSameEval(checkpoint!, exportFolder!);
  expect(checkpoint!.examples).toBe(scenes);
  const groups = checkpoint!.metrics.byDigits;
  expect(groups.map((g) => g.digits)).toEqual([1, 2]);
  expect(groups.reduce((n, g) => n + g.scenes, 0)).toBe(scenes);
  expect(checkpoint!.metrics.lossScenes).toBe(scenes);
  expect(checkpoint!.metrics.lossTokens).toBe(groups.reduce((n, g) => n + (g.digits + 1) * g.scenes, 0));
  expect(groups.reduce((n, g) => n + g.exactMatch * g.scenes, 0)).toBeCloseTo(checkpoint!.metrics.exactMatch * scenes, 6);
  return checkpoint!;
}

/** `attend bench` of a captioner: the export's forward, per-word step and whole caption on each runtime; the checkpoint's training step. */
export async function checkBench(run: string, exported: string): Promise<void> {
  const r = await attend(['bench', exported, '--seconds', '0.2', '--json']);
  expect(r.stderr).toBe('');
  const json = JSON.parse(r.stdout) as { rows: { runtime: string; forwardMs: number; decodeMsPerToken: number; msPerCaption: number }[] };
  expect(json.rows.map((row) => row.runtime)).toEqual(['onnxruntime-node cpu, 1 thread', 'onnxruntime-node cpu, 2 threads', 'onnxruntime-web wasm']);
  for (const row of json.rows) for (const x of [row.forwardMs, row.decodeMsPerToken, row.msPerCaption]) expect(x).toBeGreaterThan(0);
  const checkpoint = await attend(['bench', run, '--seconds', '0.2', '--train-steps', '1', '--batch-size', '4']);
  expect(checkpoint.stderr).toBe('');
  expect(checkpoint.stdout).toMatch(/forward, 1 × 3 tokens/);
}
