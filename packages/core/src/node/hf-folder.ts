// Hugging Face model folders on disk: config.json, model.safetensors or a sharded
// model.safetensors.index.json, tokenizer.json, tokenizer_config.json and generation_config.json,
// read with the checkpoint files' guards (regular files only, size-checked) and imported.

import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { importHfModel, type HfImport, type HfModel } from '../hf-import/index.js';
import { HF_FILES } from '../hf-import/model.js';
import { parseSafetensors, type NamedTensor } from '../safetensors.js';
import { readModelFile } from './checkpoint-folder.js';

export { HF_FILES };

const HINT = 'is it a Hugging Face model folder?';

async function jsonFile(dir: string, name: string, optional: boolean): Promise<unknown> {
  const file = join(dir, name);
  const bytes = await readModelFile(file, optional, HINT);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CheckpointError(`${file}: not valid UTF-8 JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
  }
}

function objectFile(value: unknown, file: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CheckpointError(`${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * The tensors of model.safetensors, or of the shards model.safetensors.index.json maps them to
 * (each shard a plain file name in the folder, each tensor in the shard the index names, no
 * tensor twice).
 */
async function readWeights(dir: string): Promise<Record<string, NamedTensor>> {
  const single = await readModelFile(join(dir, HF_FILES.weights), true, HINT);
  if (single) return parseSafetensors(single, { source: join(dir, HF_FILES.weights) }).tensors;
  const indexFile = join(dir, HF_FILES.index);
  const index = await jsonFile(dir, HF_FILES.index, true);
  if (index === undefined) throw new CheckpointError(`${join(dir, HF_FILES.weights)}: missing, and no ${HF_FILES.index} names shards (${HINT})`);
  const map = objectFile(index, indexFile).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new CheckpointError(`${indexFile}: weight_map must be an object of tensor name -> shard file`);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard) || shard.startsWith('.')) {
      throw new CheckpointError(`${indexFile}: weight_map['${name}'] is ${JSON.stringify(shard)}; expected a .safetensors file name in the folder`);
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const weights: Record<string, NamedTensor> = {};
  for (const [shard, names] of byShard) {
    const file = join(dir, shard);
    const tensors = parseSafetensors((await readModelFile(file, false, `${HF_FILES.index} names it`))!, { source: file }).tensors;
    for (const name of names) {
      const t = tensors[name];
      if (!t) throw new CheckpointError(`${file}: has no tensor '${name}', which ${HF_FILES.index} puts there`);
      weights[name] = t;
    }
    const extra = Object.keys(tensors).find((n) => !names.includes(n));
    if (extra !== undefined) throw new CheckpointError(`${file}: tensor '${extra}' is not in ${HF_FILES.index}'s weight_map`);
  }
  return weights;
}

/** Reads the Hugging Face model folder `dir` (see HF_FILES); config.json and the weights are required. */
export async function readHfFolder(dir: string): Promise<HfModel> {
  const config = objectFile(await jsonFile(dir, HF_FILES.config, false), join(dir, HF_FILES.config));
  const model: HfModel = { config, weights: await readWeights(dir), source: dir };
  const tokenizer = await jsonFile(dir, HF_FILES.tokenizer, true);
  if (tokenizer !== undefined) model.tokenizer = tokenizer;
  for (const [key, name] of [['tokenizerConfig', HF_FILES.tokenizerConfig], ['generationConfig', HF_FILES.generationConfig], ['preprocessorConfig', HF_FILES.preprocessorConfig]] as const) {
    const value = await jsonFile(dir, name, true);
    if (value !== undefined) model[key] = objectFile(value, join(dir, name));
  }
  return model;
}

/** Imports the Hugging Face model folder `dir` (see importHfModel). */
export async function importHf(dir: string): Promise<HfImport> {
  return importHfModel(await readHfFolder(dir));
}
