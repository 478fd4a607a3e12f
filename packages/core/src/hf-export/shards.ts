// Sharded safetensors, as Hugging Face's save_pretrained writes them when the weights exceed
// `max_shard_size`: tensors taken in order into `model-00001-of-0000N.safetensors` files, a new
// shard started when the next tensor would take the current one over the limit (a tensor larger
// than the limit gets a shard of its own), and `model.safetensors.index.json` mapping each tensor
// name to its shard (`metadata.total_size`: the tensor bytes). Weights within the limit stay one
// model.safetensors, as Hugging Face writes them.

import { ConfigError } from '../errors.js';
import { HF_FILES } from '../hf-import/model.js';
import { safetensorsParts, type NamedTensor } from '../safetensors.js';

/** A shard's file name: `model-00002-of-00003.safetensors`. */
export function shardFileName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index)}-of-${pad(count)}.safetensors`;
}

/** Whether `name` is a shard file name as `shardFileName` writes it. */
export function isShardFileName(name: string): boolean {
  return /^model-\d{5}-of-\d{5}\.safetensors$/.test(name);
}

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/**
 * A shard size as Hugging Face spells it (`5GB`, `500MB`, `2GiB`: decimal kB/MB/GB, binary
 * KiB/MiB/GiB) or a number of bytes, in bytes; a ConfigError naming `field` otherwise.
 */
export function parseShardSize(value: string, field: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = UNITS[(match?.[2] || 'b').toLowerCase()];
  const bytes = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new ConfigError(field, `${JSON.stringify(value)} is not a size; expected bytes or a number with kB, MB, GB, KiB, MiB or GiB (e.g. 5GB)`);
  return bytes;
}

/**
 * The weight files of a Hugging Face folder: `model.safetensors` when the tensors' bytes fit in
 * `maxShardSize` (or none is given), else the shards and their index (see the file comment).
 * Each file's parts view the tensors (no copy).
 */
export function safetensorsFiles(weights: Readonly<Record<string, NamedTensor>>, maxShardSize?: number): Record<string, Uint8Array[]> {
  const metadata = { format: 'pt' };
  const names = Object.keys(weights);
  const total = names.reduce((n, name) => n + weights[name]!.data.length, 0);
  if (maxShardSize === undefined || total <= maxShardSize) return { [HF_FILES.weights]: safetensorsParts({ ...weights }, metadata) };
  const shards: string[][] = [];
  let size = 0;
  for (const name of names) {
    const bytes = weights[name]!.data.length;
    if (shards.length === 0 || (size + bytes > maxShardSize && size > 0)) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(name);
    size += bytes;
  }
  const files: Record<string, Uint8Array[]> = {};
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const file = shardFileName(i + 1, shards.length);
    files[file] = safetensorsParts(Object.fromEntries(shard.map((name) => [name, weights[name]!])), metadata);
    for (const name of shard) weightMap[name] = file;
  });
  const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((name) => [name, weightMap[name]!]));
  files[HF_FILES.index] = [new TextEncoder().encode(`${JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2)}\n`)];
  return files;
}
