// Hugging Face model folders → attend checkpoints. One importer per config.json `model_type`
// (HF_IMPORTERS); each maps the architecture's config and tensors onto an attend model kind.

import { ConfigError } from '../errors.js';
import { checkWeights, type CheckpointData } from '../checkpoint-format.js';
import { describe } from '../models/fields.js';
import { hasTokens } from '../models/registry.js';
import { tokenizerFromJSON } from '../tokenizers/index.js';
import type { NamedTensor } from '../safetensors.js';
import { bertImporter } from './bert.js';
import { vitImporter } from './vit.js';
import { gpt2Importer } from './gpt2.js';
import { marianImporter } from './marian.js';
import { HfConfig, HfWeights, type HfImporter, type HfModel } from './model.js';

export type { HfModel, HfImporter, ImportedModel } from './model.js';
export { peftAdapterFiles, PEFT_FILES } from './peft.js';
export { HF_FILES } from './model.js';

/** The importers by config.json `model_type`. */
export const HF_IMPORTERS: Readonly<Record<string, HfImporter>> = {
  gpt2: gpt2Importer,
  bert: bertImporter,
  vit: vitImporter,
  marian: marianImporter,
};

/** An imported model: the checkpoint's contents, and notes on what the import changed or left out. */
export interface HfImport {
  data: CheckpointData<NamedTensor>;
  notes: string[];
}

/**
 * A Hugging Face model (see HfModel) as an attend checkpoint: its config, its weights in
 * checkpoint layout (checked against the config like any checkpoint), and tokenizer.json as it
 * is. An unsupported model_type, architecture or option is one ConfigError line naming the field.
 */
export function importHfModel(model: HfModel): HfImport {
  const source = `${model.source}/config.json`;
  const type = model.config.model_type;
  if (typeof type !== 'string' || !Object.hasOwn(HF_IMPORTERS, type)) {
    throw new ConfigError(`${source}: model_type`, `${describe(type)} is not supported; attend imports ${Object.keys(HF_IMPORTERS).join(', ')}`);
  }
  const importer = HF_IMPORTERS[type]!;
  const architectures = model.config.architectures;
  if (architectures !== undefined && architectures !== null) {
    const unknown = Array.isArray(architectures) ? architectures.filter((a) => !importer.architectures.includes(a as string)) : [architectures];
    if (unknown.length > 0) {
      throw new ConfigError(`${source}: architectures`, `${JSON.stringify(unknown)} is not supported for ${type}; attend imports ${importer.architectures.join(', ')}`);
    }
  }
  const weights = new HfWeights(model.weights, importer.basePrefix, `${model.source}: weights`);
  const imported = importer.import(model, new HfConfig(model.config, source), weights);
  weights.finish();
  checkWeights(imported.config, imported.weights, `${model.source}: imported weights`);
  const data: CheckpointData<NamedTensor> = { config: imported.config, weights: imported.weights };
  const notes = [...imported.notes];
  if (model.tokenizer === undefined) {
    if (hasTokens(imported.config)) notes.push('no tokenizer.json: the checkpoint has no tokenizer');
  } else {
    data.tokenizer = model.tokenizer;
    try {
      tokenizerFromJSON(model.tokenizer, `${model.source}/tokenizer.json`);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      notes.push(`tokenizer.json copied as it is, but attend cannot read it yet (${error.message})`);
    }
  }
  return { data, notes };
}

