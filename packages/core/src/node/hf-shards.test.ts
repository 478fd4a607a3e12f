// Sharded Hugging Face output (hf-export/shards.ts): weights over the limit are written as
// model-0000i-of-0000N.safetensors files, each within the limit unless one tensor is larger,
// with model.safetensors.index.json as save_pretrained writes it; reading the folder back
// (readHfFolder, the importer's reader) gives the same tensors, bit for bit, and importing it
// the same checkpoint as the unsharded folder. Shard sizes parse as Hugging Face spells them.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportHfModel, hfModelFiles, parseShardSize } from '../hf-export/index.js';
import { importHfModel } from '../hf-import/index.js';
import { parseSafetensors, toFloat32, type NamedTensor } from '../safetensors.js';
import { bert, gpt2 } from '../test-utils/hf-models.js';
import { readHfFolder } from './hf-folder.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hf-shards-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeModel(name: string, files: Record<string, Uint8Array[]>): Promise<string> {
  const out = join(dir, name);
  await rm(out, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(out));
  for (const [file, parts] of Object.entries(files)) await writeFile(join(out, file), Buffer.concat(parts));
  return out;
}

const bytesOf = (tensors: Record<string, NamedTensor>) => Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, [t.dtype, t.shape, [...toFloat32(t)]]]));

describe('export --format hf: sharded safetensors', () => {
  it.each([
    ['gpt2', () => gpt2()],
    ['bert', () => bert()],
  ])('%s: shards within the limit and an index; reading them back gives the same tensors and the same import', async (name, make) => {
    const { data } = importHfModel(make());
    const model = exportHfModel(data);
    const sizes = Object.values(model.weights).map((t) => t.data.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const limit = 400;
    expect(Math.max(...sizes)).toBeGreaterThan(limit); // one tensor larger than a shard: a shard of its own
    const out = await writeModel(`${name}-sharded`, hfModelFiles(model, { maxShardSize: limit }));
    const entries = (await readdir(out)).sort();
    const shards = entries.filter((e) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(e));
    expect(shards.length).toBeGreaterThan(2);
    expect(shards[0]).toBe(`model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    expect(entries).not.toContain('model.safetensors');
    const index = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(total);
    expect(Object.keys(index.weight_map)).toEqual(Object.keys(model.weights).sort());
    for (const shard of shards) {
      const parsed = parseSafetensors(new Uint8Array(await readFile(join(out, shard))), { source: shard });
      const tensorBytes = Object.values(parsed.tensors).map((t) => t.data.length);
      const bytes = tensorBytes.reduce((a, b) => a + b, 0);
      expect(bytes <= limit || tensorBytes.length === 1, `${shard}: ${bytes} bytes in ${tensorBytes.length} tensors`).toBe(true);
      expect(parsed.metadata).toEqual({ format: 'pt' });
      for (const n of Object.keys(parsed.tensors)) expect(index.weight_map[n]).toBe(shard);
    }
    const back = await readHfFolder(out);
    expect(bytesOf(back.weights)).toEqual(bytesOf(model.weights));
    const single = await writeModel(`${name}-single`, hfModelFiles(model));
    expect((await readdir(single)).filter((e) => e.endsWith('.safetensors'))).toEqual(['model.safetensors']);
    const [fromShards, fromSingle] = [importHfModel(back).data, importHfModel(await readHfFolder(single)).data];
    expect(fromShards.config).toEqual(fromSingle.config);
    expect(bytesOf(fromShards.weights)).toEqual(bytesOf(fromSingle.weights));
    expect(bytesOf(fromShards.weights)).toEqual(bytesOf(data.weights));
  });

  it('weights within the limit stay one model.safetensors', () => {
    const model = exportHfModel(importHfModel(gpt2()).data);
    expect(Object.keys(hfModelFiles(model, { maxShardSize: 1e9 })).filter((f) => f.includes('safetensors'))).toEqual(['model.safetensors']);
  });

  it.each([
    ['5GB', 5e9], ['500MB', 5e8], ['2GiB', 2 ** 31], ['100kB', 1e5], ['1.5MiB', 1.5 * 2 ** 20], ['4096', 4096],
  ])('shard size %s is %d bytes', (value, bytes) => {
    expect(parseShardSize(value, 'maxShardSize')).toBe(bytes);
  });

  it.each(['', '5XB', '-1GB', '0', 'GB'])('shard size %j is refused naming the field', (value) => {
    expect(() => parseShardSize(value, '--max-shard-size')).toThrow(`--max-shard-size: ${JSON.stringify(value)} is not a size`);
  });
});
