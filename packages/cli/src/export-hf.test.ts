// attend export --format hf: a checkpoint in the BERT shape, its classes named in --config,
// becomes a Hugging Face folder (id2label from the names) that imports back to the same config
// and weights, whose infer prints the names; a config BERT cannot compute is a one-line usage
// error naming the field; --out follows export's rules (an earlier folder only with --overwrite,
// never a folder holding other files); flags of the ONNX export are refused with it.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend, checkpointWeights } from './test-utils/attend.js';

const TINY = ['--task', 'majority', '--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '100', '--dev-size', '10', '--steps', '4'];
let dir: string;
let bert: string;
let plain: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-export-hf-'));
  const settings = join(dir, 'bert.json');
  await writeFile(settings, JSON.stringify({ norm: 'post', positional: 'learned', pooling: 'cls', pooler: true, scaleEmbedding: false, embeddingNorm: true, labels: ['more a', 'more b'] }));
  bert = join(dir, 'bert');
  plain = join(dir, 'plain');
  for (const [out, extra] of [[bert, ['--config', settings]], [plain, []]] as const) {
    const r = await attend(['train', ...TINY, ...extra, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend export --format hf', () => {
  it('writes the Hugging Face folder, which imports back to the same config and weights', async () => {
    const out = join(dir, 'bert-hf');
    const r = await attend(['export', bert, '--format', 'hf', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(Hugging Face BertForSequenceClassification)');
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'bert', architectures: ['BertForSequenceClassification'], hidden_size: 16, num_labels: 2, id2label: { 0: 'more a', 1: 'more b' } });
    expect(config).not.toHaveProperty('attend');

    const back = join(dir, 'bert-back');
    const imported = await attend(['import', out, '--out', back]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(back, 'config.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(bert, 'config.json'), 'utf8')));
    expect(await checkpointWeights(back)).toEqual(await checkpointWeights(bert));
    const infer = await attend(['infer', back, 'aab', 'abb']);
    expect(infer.code, infer.stderr).toBe(0);
    expect(infer.stdout).toMatch(/^more [ab]\t\(0: [\d.]+, 1: [\d.]+\)\nmore [ab]\t/);
  }, 120_000);

  it('refuses a config BERT cannot compute, naming the field, and writes nothing', async () => {
    const out = join(dir, 'plain-hf');
    const r = await attend(['export', plain, '--format', 'hf', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`attend: --format hf: ${plain}: norm: "pre" has no equivalent in Hugging Face BertForSequenceClassification (it has "post")\n`);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('replaces an earlier folder only with --overwrite, and never a folder with other files', async () => {
    const out = join(dir, 'again');
    expect((await attend(['export', bert, '--format', 'hf', '--out', out])).code).toBe(0);
    const again = await attend(['export', bert, '--format', 'hf', '--out', out]);
    expect([again.code, again.stderr]).toEqual([2, `attend: --out ${out}: already a Hugging Face model folder; give --overwrite to replace it\n`]);
    expect((await attend(['export', bert, '--format', 'hf', '--out', out, '--overwrite'])).code).toBe(0);

    const mine = join(dir, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep me');
    const refused = await attend(['export', bert, '--format', 'hf', '--out', mine, '--overwrite']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('holds other files (notes.txt)');
    expect(await readdir(mine)).toEqual(['notes.txt']);
  }, 120_000);

  it('a fresh head (--num-classes) drops the old label names', async () => {
    const csv = join(dir, 'three.csv');
    await writeFile(csv, 'aab,0\nabb,1\nabc,2\n'.repeat(10));
    const out = join(dir, 'three');
    const r = await attend(['train', '--from', bert, '--csv', csv, '--num-classes', '3', '--steps', '1', '--eval-every', '1', '--batch-size', '4', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect([config.numClasses, config.labels]).toEqual([3, undefined]);
  }, 120_000);

  it('takes none of the ONNX export\'s flags', async () => {
    const r = await attend(['export', bert, '--format', 'hf', '--quantize', 'int8', '--out', join(dir, 'q')]);
    expect([r.code, r.stderr]).toEqual([2, 'attend: --format hf writes PyTorch weights; it takes no --target, --quantize, --optimize, --with-attention or --adapter-only\n']);
  });
});
