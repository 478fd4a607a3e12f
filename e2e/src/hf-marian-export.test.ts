// Marian back to Hugging Face, against PyTorch: a small random MarianMTModel (hf_reference.py
// `make marian`) is imported, fine-tuned a few steps on pairs (`train --from`), and exported with
// `--format hf`; the script's float64 reference (modeling_marian.py's equations) on the exported
// folder gives the fine-tuned checkpoint's tfjs logits within 1e-4, and importing the folder
// gives the checkpoint's config and weights back, bit for bit. Needs python3 with torch:
// skipped, saying so, without.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encoderInputIds, parseCheckpointFiles, toFloat32, tokenizerFromJSON } from '@attend/core';
import { readCheckpointFolder } from '@attend/core/node';
import { loadCheckpoint, setupBackend } from '@attend/transformer';
import { attend, cli, flat, python, torchMissing as missingTorch } from './hf-reference.js';

const TOLERANCE = 1e-4;
const torchMissing = missingTorch('hf-marian-export.test.ts');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hf-marian-export-'));
  await setupBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A checkpoint's config and tensors (name → dtype, shape, values). */
async function checkpoint(path: string) {
  const data = parseCheckpointFiles(await readCheckpointFolder(path), path);
  const { lora: _lora, ...config } = data.config as typeof data.config & { lora?: unknown };
  return { config, weights: Object.fromEntries(Object.entries(data.weights).map(([n, t]) => [n, [t.dtype, t.shape, [...toFloat32(t)]]])) };
}

describe.skipIf(torchMissing)('Marian → Hugging Face export', () => {
  it('a fine-tuned Marian model exports to a MarianMTModel folder with the same logits in PyTorch, and imports back bit for bit', async () => {
    const hf = join(dir, 'marian');
    const ckpt = join(dir, 'marian-attend');
    const tuned = join(dir, 'marian-tuned');
    await python(['make', 'marian', hf, '--seed', '5']);
    await cli(['import', hf, '--out', ckpt]);
    const sources = ['the cat sat on the mat', 'a dog', 'the dog sat', 'a cat on the mat', 'the mat', 'a cat sat', 'the dog on the mat', 'a mat', 'the cat', 'a dog sat on the mat', 'the cat on the dog', 'a dog on a cat'];
    const pairs = sources.map((s) => `${s}\t${s.replace(/the|a/g, 'le').replace('cat', 'chat').replace('dog', 'chien').replace('mat', 'tapis').replace('on', 'sur')}`);
    const tsv = join(dir, 'pairs.tsv');
    await writeFile(tsv, `${pairs.join('\n')}\n`);
    const trained = await attend(['train', '--from', ckpt, '--pairs', tsv, '--steps', '3', '--eval-every', '3', '--batch-size', '4', '--dev-size', '2', '--lr', '1e-2', '--out', tuned]);
    expect(trained.code, trained.stderr).toBe(0);
    const [before, after] = [await checkpoint(ckpt), await checkpoint(tuned)];
    expect(after.weights['encoder.layers.0.fc1.weight']).not.toEqual(before.weights['encoder.layers.0.fc1.weight']);

    const out = join(dir, 'marian-hf');
    const exported = await attend(['export', tuned, '--format', 'hf', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('(Hugging Face MarianMTModel)');
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'marian', architectures: ['MarianMTModel'], activation_function: 'swish', scale_embedding: true, normalize_before: false });

    const tokenizer = tokenizerFromJSON(JSON.parse(await readFile(join(tuned, 'tokenizer.json'), 'utf8')));
    const input = ['the cat sat on the mat', 'a dog'].map((t) => encoderInputIds(tokenizer, t));
    const start = config.decoder_start_token_id as number;
    const decoder = [[start, 7, 8, 9], [start, 11]];
    const reference = JSON.parse(await python(['logits', out, JSON.stringify({ input_ids: input, decoder_input_ids: decoder })])) as number[][][];

    const pad = (rows: number[][], fill: number) => {
      const T = Math.max(...rows.map((r) => r.length));
      return { ids: Int32Array.from({ length: rows.length * T }, (_, i) => rows[Math.floor(i / T)]![i % T] ?? fill), batchSize: rows.length, seqLen: T, lengths: Int32Array.from(rows, (r) => r.length) };
    };
    const { model } = await loadCheckpoint(tuned);
    const target = pad(decoder, config.pad_token_id as number);
    const logits = model.forward(pad(input, config.pad_token_id as number), target).logits;
    const data = logits.dataSync();
    const V = logits.shape.at(-1)!;
    let worst = 0;
    reference.forEach((row, b) => flat(row).forEach((x, i) => (worst = Math.max(worst, Math.abs(data[b * target.seqLen * V + i]! - x)))));
    logits.dispose();
    model.dispose();
    expect(worst).toBeLessThanOrEqual(TOLERANCE);

    const back = join(dir, 'marian-back');
    await cli(['import', out, '--out', back]);
    const again = await checkpoint(back);
    expect(again.config).toEqual(after.config);
    expect(again.weights).toEqual(after.weights);
  }, 240_000);
});
