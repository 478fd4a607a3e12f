// The accuracy check on a real task: the quickstart's date-normalisation model, trained
// briefly with the tfjs trainer, exported to the encoder–decoder folder layout and decoded by
// ONNX Runtime, gives the same dev outputs — string by string — as tfjs, hence the same exact match.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactMatch, makeSeq2SeqBatch } from '@attend/core';
import { runDateExperiment, serializeCheckpoint, setupBackend } from '@attend/transformer';
import { exportFolder, loadSeq2SeqFolder, translate } from '@attend/runtime-onnx/node';

let dir: string;
let experiment: Awaited<ReturnType<typeof runDateExperiment>>;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-date-'));
  // 300 steps: far enough from 0% and 100% that a mismatch between runtimes would show.
  experiment = await runDateExperiment({ seed: 2, steps: 300, evalEvery: 10_000, devSize: 300, trainSize: 6000 });
  const ckpt = join(dir, 'ckpt');
  await mkdir(ckpt);
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model: experiment.model, tokenizer: experiment.tokenizer.toJSON() }))) {
    await writeFile(join(ckpt, name), bytes);
  }
  await exportFolder(ckpt, join(dir, 'onnx'));
}, 600_000);

afterAll(async () => {
  experiment?.model.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('date normalisation exported to ONNX', () => {
  it('decodes the dev set under onnxruntime-node exactly as tfjs does', async () => {
    const { tokenizer, dev, outputs } = experiment;
    const onnx = await loadSeq2SeqFolder(join(dir, 'onnx'));
    const encoded = dev.map((p) => ({ source: tokenizer.encode(p.source), target: tokenizer.encode(p.target) }));
    const batch = makeSeq2SeqBatch(encoded, tokenizer.specialTokenIds, { maxSrcLen: 40, maxTgtLen: 13 });
    const decoded = await translate(onnx.model, { ids: batch.srcIds, batchSize: batch.batchSize, seqLen: batch.srcLen, lengths: batch.srcLengths }, { maxNewTokens: 13 });
    const ortOutputs = decoded.map((ids) => tokenizer.decode(ids));
    const references = dev.map((p) => p.target);
    const tfjsExact = exactMatch(outputs, references);
    if (process.env.PARITY_REPORT) console.log(`date model after 300 steps: dev exact match ${tfjsExact} under tfjs and ORT (${dev.length} dates)`);
    expect(tfjsExact).toBeGreaterThan(0.05);
    expect(tfjsExact).toBeLessThan(1);
    expect(ortOutputs).toEqual(outputs);
    expect(exactMatch(ortOutputs, references)).toBe(tfjsExact);
    await onnx.model.encoder.release();
    await onnx.model.decoder.release();
  });
});
