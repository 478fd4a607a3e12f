// `attend export --format hf` against PyTorch and back: small random Hugging Face folders
// (e2e/hf-reference/hf_reference.py) are imported, LoRA-trained with the CLI (GPT-2, BERT), and
// exported to the Hugging Face layout with the adapters merged; the script's PyTorch forward pass
// (written from modeling_gpt2.py / modeling_bert.py / modeling_vit.py) on the exported folder
// equals the checkpoint's tfjs logits to 1e-4, and an imported folder exported back holds the
// original tensors. Needs python3 with torch: skipped, saying so, without.
// Then the learning test (no torch, no data files): a BERT-shaped classifier trained on one task,
// exported to the Hugging Face layout, imported back and LoRA-fine-tuned with a fresh head on a
// second task with other labels reaches 90 % held-out accuracy, its frozen weights bit-identical
// to those first trained.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, isLoraName, parseSafetensors, type NamedTensor } from '@attend/core';
import { loadCheckpoint, setupBackend } from '@attend/transformer';
import { cli, flat, python, torchMissing as missingTorch } from './hf-reference.js';

const TOLERANCE = 1e-4;
const torchMissing = missingTorch('hf-export.test.ts');

const tensorsOf = async (folder: string): Promise<Record<string, NamedTensor>> => parseSafetensors(new Uint8Array(await readFile(join(folder, 'model.safetensors')))).tensors;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hf-export-'));
  await setupBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CORPUS = 'the cat sat on the mat . the dog sat on a log ! a good movie , a bad film ; it is not very good and it was bad to the end , said my old friend with one red hat . ';

/** Images [B][C][S][S] of pixel_values, and the same values flat. */
function images(B: number, C: number, S: number): { rows: number[][][][]; pixels: Float32Array } {
  const pixels = Float32Array.from({ length: B * C * S * S }, (_, i) => Math.sin(i * 0.37) * 0.9);
  const rows = Array.from({ length: B }, (_, b) => Array.from({ length: C }, (_, c) => Array.from({ length: S }, (_, y) => Array.from(pixels.subarray(((b * C + c) * S + y) * S, ((b * C + c) * S + y + 1) * S)))));
  return { rows, pixels };
}

const CASES = [
  { kind: 'gpt2', lora: ['--text', 'q,v,o,fc1'], content: CORPUS.repeat(40), rows: [[5, 9, 14, 3, 8, 21], [7, 2, 30]] },
  { kind: 'bert-cls', lora: ['--csv', 'q,k,fc2'], content: Array.from({ length: 6 }, () => CORPUS.split(/[.!;,]/).filter((t) => t.trim()).map((t, i) => `${t.trim()},${i % 2}`)).flat().join('\n'), rows: [[2, 9, 14, 3, 8, 3], [2, 7, 3]] },
  { kind: 'vit', rows: [] },
] as const;

describe.skipIf(torchMissing)('attend export --format hf: PyTorch on the exported folder equals attend', () => {
  for (const c of CASES) {
    it(`${c.kind}${'lora' in c ? ', LoRA adapters merged' : ''}: logits within 1e-4`, async () => {
      const hf = join(dir, c.kind);
      await python(['make', c.kind, hf, '--seed', '5']);
      let ckpt = `${hf}-attend`;
      await cli(['import', hf, '--out', ckpt]);
      if ('lora' in c) {
        const data = join(dir, `${c.kind}.data`);
        await writeFile(data, `${c.content}\n`);
        await cli(['train', '--from', ckpt, c.lora[0], data, '--lora-rank', '2', '--lora-alpha', '3', '--lora-targets', c.lora[1], '--steps', '8', '--lr', '5e-2', '--batch-size', '8', '--eval-every', '8', '--out', `${hf}-lora`]);
        ckpt = `${hf}-lora`;
      }
      const out = `${hf}-hf`;
      expect(await cli(['export', ckpt, '--format', 'hf', '--out', out])).toContain('lora' in c ? 'LoRA adapters merged' : 'Hugging Face ViTForImageClassification');

      const { model } = await loadCheckpoint(ckpt);
      let reference: unknown[];
      let got: Float32Array;
      let dims: number[];
      let rows: number[][] = [];
      if (c.kind === 'vit') {
        const { rows: pictures, pixels } = images(3, 3, 8);
        reference = JSON.parse(await python(['logits', out, JSON.stringify(pictures)])) as unknown[];
        const result = model.forward({ ids: new Int32Array(0), batchSize: 3, seqLen: 0, pixels });
        [got, dims] = [result.logits.dataSync() as Float32Array, result.logits.shape];
        result.logits.dispose();
      } else {
        rows = c.rows.map((r) => [...r]);
        reference = JSON.parse(await python(['logits', out, JSON.stringify(rows)])) as unknown[];
        // The adapters trained: the merged export is not the original model.
        const base = flat(JSON.parse(await python(['logits', hf, JSON.stringify(rows)])));
        expect(flat(reference).reduce((m, v, i) => Math.max(m, Math.abs(v - base[i]!)), 0)).toBeGreaterThan(1e-3);
        const B = rows.length;
        const T = Math.max(...rows.map((r) => r.length));
        const ids = new Int32Array(B * T);
        rows.forEach((r, b) => r.forEach((id, t) => (ids[b * T + t] = id)));
        const result = model.forward({ ids, batchSize: B, seqLen: T, lengths: Int32Array.from(rows.map((r) => r.length)) });
        [got, dims] = [result.logits.dataSync() as Float32Array, result.logits.shape];
        result.logits.dispose();
      }
      model.dispose();
      let worst = 0;
      reference.forEach((row, b) => {
        const ref = flat(row);
        const start = c.kind === 'gpt2' ? b * Math.max(...rows.map((r) => r.length)) * dims[2]! : b * dims[1]!;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[start + i]! - ref[i]!));
      });
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    }, 300_000);
  }

  it('an imported folder exported back holds the original tensors, bit for bit (BERT\'s token types included)', async () => {
    for (const kind of ['gpt2', 'bert-cls', 'vit']) {
      const hf = join(dir, `${kind}-again`);
      await python(['make', kind, hf, '--seed', '6']);
      await cli(['import', hf, '--out', `${hf}-attend`]);
      await cli(['export', `${hf}-attend`, '--format', 'hf', '--out', `${hf}-hf`]);
      const original = await tensorsOf(hf);
      const back = await tensorsOf(`${hf}-hf`);
      expect(Object.keys(back).sort(), kind).toEqual(Object.keys(original).sort());
      for (const [name, t] of Object.entries(original)) {
        expect([name, back[name]!.shape], kind).toEqual([name, t.shape]);
        expect(Buffer.from(back[name]!.data).equals(Buffer.from(t.data)), `${kind} ${name}`).toBe(true);
      }
    }
  }, 300_000);
});

/** `n` rows `text,label` of strings over a, b, c (odd lengths 5–9) whose `label` is defined. */
function rows(n: number, seed: number, label: (s: string) => number | undefined): string {
  const rng = createRng(seed);
  const out: string[] = [];
  while (out.length < n) {
    const s = Array.from({ length: 5 + 2 * rng.int(3) }, () => 'abc'[rng.int(3)]).join('');
    const y = label(s);
    if (y !== undefined) out.push(`${s},${y}`);
  }
  return `${out.join('\n')}\n`;
}

const count = (s: string, ch: string): number => s.split(ch).length - 1;
/** Task A: 1 when b outnumbers a, 0 when a outnumbers b. */
const majority = (s: string): number | undefined => (count(s, 'a') === count(s, 'b') ? undefined : Number(count(s, 'b') > count(s, 'a')));
/** Task B, three labels: the letter that occurs most (ties left out). */
const commonest = (s: string): number | undefined => {
  const counts = [...'abc'].map((ch) => count(s, ch));
  const top = Math.max(...counts);
  return counts.filter((x) => x === top).length > 1 ? undefined : counts.indexOf(top);
};

/** The BERT shape in attend's config fields (`attend export --format hf` refuses anything else). */
const BERT_SHAPE = { norm: 'post', positional: 'learned', pooling: 'cls', pooler: true, scaleEmbedding: false, embeddingNorm: true, layerNormEps: 1e-12 };

describe('learning through the Hugging Face layout', () => {
  it('train on task A, export --format hf, import, LoRA-fine-tune a fresh 3-label head on task B: ≥ 90 % held out, frozen weights unchanged', async () => {
    const file = (name: string): string => join(dir, name);
    await writeFile(file('a.csv'), rows(2000, 1, majority));
    await writeFile(file('b.csv'), rows(2000, 2, commonest));
    await writeFile(file('b-test.csv'), rows(300, 3, commonest));
    await writeFile(file('bert.json'), JSON.stringify(BERT_SHAPE));
    const small = ['--d-model', '32', '--heads', '2', '--layers', '2', '--batch-size', '32', '--seed', '3'];
    await cli(['train', '--preset', 'encoder-classifier', '--config', file('bert.json'), '--csv', file('a.csv'), ...small, '--steps', '100', '--eval-every', '100', '--out', file('task-a')]);
    expect(await cli(['export', file('task-a'), '--format', 'hf', '--out', file('task-a-hf')])).toContain('BertForSequenceClassification');
    await cli(['import', file('task-a-hf'), '--out', file('task-a-back')]);
    await cli(['train', '--from', file('task-a-back'), '--csv', file('b.csv'), '--num-classes', '3', '--lora-rank', '4', '--lora-targets', 'q,v,fc1,fc2', ...small, '--steps', '120', '--lr', '1e-2', '--eval-every', '120', '--out', file('task-b')]);

    const report = await cli(['eval', file('task-b'), '--csv', file('b-test.csv')]);
    const accuracy = Number(/accuracy\D*([\d.]+)\s*%/.exec(report)?.[1]);
    expect(accuracy, report).toBeGreaterThanOrEqual(90);

    // Every weight of task A's model but the replaced head, as first trained: bit for bit after export, import and LoRA training.
    const first = await tensorsOf(file('task-a'));
    const tuned = await tensorsOf(file('task-b'));
    const frozen = Object.keys(first).filter((n) => !n.startsWith('classifier.'));
    expect(frozen.length).toBeGreaterThan(20);
    for (const name of frozen) expect(Buffer.from(tuned[name]!.data).equals(Buffer.from(first[name]!.data)), name).toBe(true);
    expect(Object.keys(tuned).filter((n) => !frozen.includes(n) && !isLoraName(n)).sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(tuned['classifier.weight']!.shape).toEqual([3, 32]);
  }, 300_000);
});
