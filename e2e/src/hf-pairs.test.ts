// BERT sentence pairs against PyTorch: a small random BertForSequenceClassification written by
// e2e/hf-reference/hf_reference.py is imported with the CLI (its token-type table kept); a pair
// encoded by the folder's own tokenizer.json template (`[CLS] A [SEP] B [SEP]`, types 0 … 0 1 … 1)
// gives the reference's logits (float64, token_type_ids as given) within 1e-4 under tfjs,
// onnxruntime-node and onnxruntime-web, and so does `attend infer --pair` (its probabilities);
// the export back to the Hugging Face layout holds the same table, so the reference's logits on
// it are the same. Needs python3 with torch: skipped, saying so, without.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encoderPairIds, tokenizerFromJSON } from '@attend/core';
import { readCheckpointFolder } from '@attend/core/node';
import { loadCheckpoint, setupBackend } from '@attend/transformer';
import { asSession, exportCheckpointFiles, TokenForwardSession } from '@attend/runtime-onnx';
import { createOnnxModel as createNodeModel } from '@attend/runtime-onnx/node';
import { createOnnxModel as createWebModel } from '@attend/runtime-onnx/web';
import { attend, cli, flat, python, torchMissing as missingTorch } from './hf-reference.js';

const TOLERANCE = 1e-4;
const torchMissing = missingTorch('hf-pairs.test.ts');
const PAIRS = [
  ['the cat sat on the mat.', 'a dog sat.'],
  ['it was a good film!', 'very bad movie'],
  ['not good', 'the cat is not bad and the dog is very good.'],
] as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hf-pairs-'));
  await setupBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const maxDiff = (a: ArrayLike<number>, b: readonly number[]) => b.reduce((m, x, i) => Math.max(m, Math.abs(a[i]! - x)), 0);

describe.skipIf(torchMissing)('BERT sentence pairs: logits equal the PyTorch reference', () => {
  it('tfjs, onnxruntime-node and -web, infer --pair, and the HF export', async () => {
    const hf = join(dir, 'bert');
    const ckpt = join(dir, 'bert-attend');
    await python(['make', 'bert-cls', hf, '--seed', '11']);
    await cli(['import', hf, '--out', ckpt]);
    expect(JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')).typeVocabSize).toBe(2);

    const tokenizer = tokenizerFromJSON(JSON.parse(await readFile(join(hf, 'tokenizer.json'), 'utf8')), 'tokenizer.json');
    const rows = PAIRS.map(([a, b]) => encoderPairIds(tokenizer, a, b));
    expect(rows[0]!.typeIds).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    const ids = rows.map((r) => r.ids);
    const types = rows.map((r) => r.typeIds);
    const reference = JSON.parse(await python(['logits', hf, JSON.stringify(ids), '--types', JSON.stringify(types)])) as number[][];
    const zeros = JSON.parse(await python(['logits', hf, JSON.stringify(ids)])) as number[][];
    // The types matter: logits with them all 0 are far from the pair's.
    expect(maxDiff(flat(zeros), flat(reference))).toBeGreaterThan(1e-2);

    const B = rows.length;
    const T = Math.max(...ids.map((r) => r.length));
    const padded = (values: number[][], fill: (r: number[], t: number) => number) => Int32Array.from({ length: B * T }, (_, i) => (i % T < values[Math.floor(i / T)]!.length ? fill(values[Math.floor(i / T)]!, i % T) : 0));
    const idMatrix = padded(ids, (r, t) => r[t]!);
    const typeMatrix = padded(types, (r, t) => r[t]!);
    const mask = padded(ids, () => 1);
    const lengths = Int32Array.from(ids, (r) => r.length);

    const { model } = await loadCheckpoint(ckpt);
    const logits = model.forward({ ids: idMatrix, batchSize: B, seqLen: T, lengths, tokenTypes: typeMatrix }).logits;
    expect(maxDiff(logits.dataSync(), flat(reference)), 'tfjs').toBeLessThanOrEqual(TOLERANCE);
    logits.dispose();
    model.dispose();

    const graph = exportCheckpointFiles(await readCheckpointFolder(ckpt), { dir: ckpt });
    for (const [runtime, created] of [['node', await createNodeModel(graph)], ['web', await createWebModel(graph, { numThreads: 1 })]] as const) {
      const session = asSession(created, TokenForwardSession);
      const matrix = (data: Int32Array) => ({ data, batchSize: B, seqLen: T });
      const out = await session.run({ inputIds: matrix(idMatrix), attentionMask: matrix(mask), tokenTypeIds: matrix(typeMatrix) });
      expect(maxDiff(out.logits.data, flat(reference)), runtime).toBeLessThanOrEqual(TOLERANCE);
      await session.release();
    }

    // The CLI encodes the pair the same way: softmax of the reference's logits.
    const [a, b] = PAIRS[2]!;
    const result = JSON.parse(await cli(['infer', ckpt, a, '--pair', b, '--json'])) as { results: { probabilities: number[] }[] };
    const ref = reference[2]!;
    const exp = ref.map((x) => Math.exp(x - Math.max(...ref)));
    const sum = exp.reduce((s, x) => s + x, 0);
    expect(maxDiff(result.results[0]!.probabilities, exp.map((x) => x / sum))).toBeLessThanOrEqual(2e-6);

    // attend → Hugging Face: the same token types in PyTorch.
    const back = join(dir, 'bert-hf');
    expect((await attend(['export', ckpt, '--format', 'hf', '--out', back])).code).toBe(0);
    const again = JSON.parse(await python(['logits', back, JSON.stringify(ids), '--types', JSON.stringify(types)])) as number[][];
    expect(flat(again)).toEqual(flat(reference));
  }, 180_000);
});
