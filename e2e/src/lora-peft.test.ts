// LoRA adapters exported in PEFT's layout (`attend export --adapter-only`) against PyTorch: a
// small random Hugging Face GPT-2 / BERT folder (e2e/hf-reference/hf_reference.py) is imported,
// LoRA-trained with the CLI, and its adapter folder is merged into the original Hugging Face
// weights by the script as PEFT's LoRA layers compute (per module (lora_alpha / r)·B·A, with
// rank_pattern / alpha_pattern, transposed for GPT-2's Conv1D). The PyTorch logits of that equal
// the LoRA checkpoint's tfjs logits (base + adapters, unmerged) to 1e-4. Needs python3 with torch:
// skipped, saying so, without.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, setupBackend } from '@attend/transformer';
import { cli, flat, python, torchMissing as missingTorch } from './hf-reference.js';

const TOLERANCE = 1e-4;
const torchMissing = missingTorch('lora-peft.test.ts');

const logits = async (args: string[]): Promise<unknown[]> => JSON.parse(await python(['logits', ...args])) as unknown[];

/** Largest |a − b| between two references (same nesting). */
const refDiff = (a: unknown[], b: unknown[]): number => {
  const x = flat(a);
  const y = flat(b);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-lora-peft-'));
  await setupBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CORPUS = 'the cat sat on the mat . the dog sat on a log ! a good movie , a bad film ; it is not very good and it was bad to the end , said my old friend with one red hat . ';

const CASES = [
  { kind: 'gpt2', targets: 'q,v,o,fc1', data: (file: string) => ['--text', file], content: CORPUS.repeat(40), rows: [[5, 9, 14, 3, 8, 21], [7, 2, 30]] },
  { kind: 'bert-cls', targets: 'q,k,fc2', data: (file: string) => ['--csv', file], content: Array.from({ length: 6 }, () => CORPUS.split(/[.!;,]/).filter((t) => t.trim()).map((t, i) => `${t.trim()},${i % 2}`)).flat().join('\n'), rows: [[2, 9, 14, 3, 8, 3], [2, 7, 3]] },
] as const;

describe.skipIf(torchMissing)('attend export --adapter-only: the PEFT folder on the Hugging Face weights equals the LoRA checkpoint', () => {
  for (const c of CASES) {
    it(c.kind, async () => {
      const hf = join(dir, c.kind);
      await python(['make', c.kind, hf]);
      const ckpt = `${hf}-attend`;
      await cli(['import', hf, '--out', ckpt]);
      const data = join(dir, `${c.kind}.data`);
      await writeFile(data, `${c.content}\n`);
      const lora = `${hf}-lora`;
      await cli(['train', '--from', ckpt, ...c.data(data), '--lora-rank', '2', '--lora-alpha', '3', '--lora-targets', c.targets, '--steps', '8', '--lr', '5e-2', '--batch-size', '8', '--eval-every', '8', '--out', lora]);
      const peft = `${hf}-peft`;
      await cli(['export', lora, '--adapter-only', '--out', peft]);

      const rows = c.rows.map((r) => [...r]);
      const reference = await logits([hf, JSON.stringify(rows), '--adapter', peft]);
      const base = await logits([hf, JSON.stringify(rows)]);
      // The adapters trained: the merged reference is not the base model's.
      expect(refDiff(reference, base)).toBeGreaterThan(1e-3);

      const B = rows.length;
      const T = Math.max(...rows.map((r) => r.length));
      const ids = new Int32Array(B * T);
      rows.forEach((r, b) => r.forEach((id, t) => (ids[b * T + t] = id)));
      const { model } = await loadCheckpoint(lora);
      const result = model.forward({ ids, batchSize: B, seqLen: T, lengths: Int32Array.from(rows.map((r) => r.length)) });
      const got = result.logits.dataSync();
      const dims = result.logits.shape;
      result.logits.dispose();
      model.dispose();
      let worst = 0;
      reference.forEach((row, b) => {
        const ref = flat(row);
        const start = c.kind === 'gpt2' ? b * T * dims[2]! : b * dims[1]!;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[start + i]! - ref[i]!));
      });
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    }, 300_000);
  }
});
