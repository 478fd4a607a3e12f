// `attend export CKPT --format hf --out DIR`: a checkpoint as a Hugging Face model folder
// (config.json, model.safetensors with Hugging Face names and layouts, tokenizer.json,
// tokenizer_config.json, generation_config.json or preprocessor_config.json; core hf-export/),
// for transformers' from_pretrained. LoRA adapters are merged. --max-shard-size splits the
// weights into model-0000i-of-0000N.safetensors shards with model.safetensors.index.json, as
// save_pretrained does. A kind or config value with no Hugging Face equivalent is a one-line
// usage error. --out follows export's rules.

import { readdir } from 'node:fs/promises';

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILES, ConfigError, exportHfModel, HF_FILES, hasTokens, hfModelFiles, isShardFileName, modelTask, parseCheckpointFiles, parseShardSize, tokenizerFromJSON } from '@attend/core';
import { readCheckpointFolder, writeFolderAtomic } from '@attend/core/node';
import { generationConfig, tokenizerConfig } from '@attend/runtime-onnx';
import { CliError } from '../errors.js';
import { formatBytes } from '../options.js';
import { foreignEntries, outFolderState, type OutputKind } from '../out-folder.js';

/** The files a Hugging Face model folder written here may hold, shards (`model-0000i-of-0000N.safetensors`) aside. */
const HF_ENTRIES = [HF_FILES.config, HF_FILES.weights, HF_FILES.index, HF_FILES.tokenizer, HF_FILES.tokenizerConfig, HF_FILES.generationConfig, HF_FILES.preprocessorConfig];

/** A Hugging Face model folder as attend writes it: config.json, model.safetensors (or its shards and index) and the tokenizer or processor files. */
const HF_FOLDER: OutputKind = {
  name: 'a Hugging Face model folder',
  marks: (entries) => entries.includes(HF_FILES.config) && (entries.includes(HF_FILES.weights) || entries.includes(HF_FILES.index)),
  foreign: (dir, entries) => foreignEntries(dir, entries, [...HF_ENTRIES, ...entries.filter(isShardFileName)]),
};

/** Writes the Hugging Face model folder of the checkpoint `checkpoint` into `out` (see the file comment). */
export async function exportHfCommand(checkpoint: string, o: { out: string; overwrite?: boolean; maxShardSize?: string }): Promise<void> {
  let maxShardSize: number | undefined;
  try {
    maxShardSize = o.maxShardSize === undefined ? undefined : parseShardSize(o.maxShardSize, '--max-shard-size');
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
  const earlier = await outFolderState(o.out, HF_FOLDER);
  if (earlier === 'earlier-output' && !o.overwrite) {
    throw new CliError(`--out ${o.out}: already a Hugging Face model folder; give --overwrite to replace it`, 2);
  }
  // An earlier export's shards are replaced too (HF_FOLDER allowed no other files beside them).
  const shards = earlier === 'earlier-output' ? (await readdir(o.out)).filter(isShardFileName) : [];
  const data = parseCheckpointFiles(await readCheckpointFolder(checkpoint, [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.tokenizer]), checkpoint);
  let model;
  try {
    model = exportHfModel(data, checkpoint);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`--format hf: ${checkpoint}: ${error.message}`, 2);
    throw error;
  }
  const config = data.config;
  const notes: string[] = [];
  if (hasTokens(config)) {
    if (modelTask(config) !== 'text-classification') model.generationConfig = generationConfig(config);
    const source = join(checkpoint, CHECKPOINT_FILES.tokenizer);
    if (data.tokenizer === undefined) notes.push(`no ${CHECKPOINT_FILES.tokenizer} in the checkpoint: the folder has no tokenizer files`);
    else {
      try {
        model.tokenizerConfig = tokenizerConfig(config, tokenizerFromJSON(data.tokenizer, source), source);
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        notes.push(`${HF_FILES.tokenizer} copied as it is, without ${HF_FILES.tokenizerConfig} (${error.message})`);
      }
    }
  }
  const files = hfModelFiles(model, maxShardSize === undefined ? {} : { maxShardSize });
  await writeFolderAtomic(o.out, files, { replaces: [...HF_ENTRIES, ...shards] });
  console.log(`exported ${checkpoint} → ${o.out} (Hugging Face ${String((model.config.architectures as string[])[0])}${config.lora ? ', LoRA adapters merged' : ''})`);
  for (const name of Object.keys(files).sort()) {
    const size = await stat(join(o.out, name)).then((s) => s.size, () => undefined);
    if (size !== undefined) console.log(`  ${name.padEnd(36)} ${formatBytes(size).padStart(9)}`);
  }
  for (const note of notes) console.log(`note: ${note}`);
}
