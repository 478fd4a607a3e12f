// attend export --format hf --max-shard-size: a BERT-shaped checkpoint with token types becomes
// model-0000i-of-0000N.safetensors shards with model.safetensors.index.json, which import back
// to the same config and weights, bit for bit; --overwrite without the flag replaces the shards
// and index with one model.safetensors (the earlier export's files only); a bad size, or the flag
// without --format hf, is one line with exit code 2.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend, checkpointWeights } from './test-utils/attend.js';

const TINY = ['--task', 'majority', '--eval-every', '4', '--d-model', '16', '--heads', '2', '--layers', '2', '--batch-size', '8', '--examples', '100', '--dev-size', '10', '--steps', '4'];
let dir: string;
let bert: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-export-hf-shards-'));
  const settings = join(dir, 'bert.json');
  await writeFile(settings, JSON.stringify({ norm: 'post', positional: 'learned', pooling: 'cls', pooler: true, scaleEmbedding: false, embeddingNorm: true, typeVocabSize: 2 }));
  bert = join(dir, 'bert');
  const r = await attend(['train', ...TINY, '--config', settings, '--out', bert]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend export --format hf --max-shard-size', () => {
  it('writes shards and an index that import back bit for bit; --overwrite without it writes one file again', async () => {
    const out = join(dir, 'bert-hf');
    const r = await attend(['export', bert, '--format', 'hf', '--max-shard-size', '4kB', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const entries = (await readdir(out)).sort();
    const shards = entries.filter((e) => e.startsWith('model-'));
    expect(shards.length).toBeGreaterThan(1);
    expect(shards.every((s, i) => s === `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`)).toBe(true);
    expect(entries).toEqual(['config.json', ...shards, 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json'].sort());
    expect(r.stdout).toContain('model.safetensors.index.json');
    const index = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8'));
    expect(index.weight_map['bert.embeddings.token_type_embeddings.weight']).toMatch(/^model-\d{5}-of-\d{5}\.safetensors$/);

    const back = join(dir, 'bert-back');
    const imported = await attend(['import', out, '--out', back]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(back, 'config.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(bert, 'config.json'), 'utf8')));
    expect(await checkpointWeights(back)).toEqual(await checkpointWeights(bert));

    const again = await attend(['export', bert, '--format', 'hf', '--out', out, '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  }, 120_000);

  it('refuses a size it cannot read, and the flag without --format hf, in one line', async () => {
    const bad = await attend(['export', bert, '--format', 'hf', '--max-shard-size', '5XB', '--out', join(dir, 'bad')]);
    expect([bad.code, bad.stderr]).toEqual([2, 'attend: --max-shard-size: "5XB" is not a size; expected bytes or a number with kB, MB, GB, KiB, MiB or GiB (e.g. 5GB)\n']);
    const onnx = await attend(['export', bert, '--max-shard-size', '5GB', '--out', join(dir, 'onnx')]);
    expect([onnx.code, onnx.stderr]).toEqual([2, 'attend: --max-shard-size: for --format hf (it splits model.safetensors into shards)\n']);
    await expect(readdir(join(dir, 'bad'))).rejects.toThrow(/ENOENT/);
  }, 60_000);
});
