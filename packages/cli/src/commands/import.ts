// `attend import`: a Hugging Face model folder (config.json, model.safetensors or a sharded
// index, tokenizer files) → an attend checkpoint, through @attend/core's importer registry
// (gpt2 → decoder-lm, bert → encoder-classifier). --out must be new or empty, or an earlier
// checkpoint replaced with --overwrite (see out-folder.ts); the folder is written atomically.

import { checkpointFileParts } from '@attend/core';
import { importHf, recoverFolder, writeCheckpointFolder } from '@attend/core/node';
import { CliError } from '../errors.js';
import { formatBytes } from '../options.js';
import { CHECKPOINT_FOLDER, outFolderState, refuseOverlap } from '../out-folder.js';

export interface ImportCommandOptions {
  out: string;
  /** Replace an earlier checkpoint in --out. */
  overwrite?: boolean;
}

export async function importCommand(folder: string, o: ImportCommandOptions): Promise<void> {
  await refuseOverlap(o.out, [folder]);
  await recoverFolder(o.out);
  if ((await outFolderState(o.out, CHECKPOINT_FOLDER)) === 'earlier-output' && !o.overwrite) {
    throw new CliError(`--out ${o.out}: already a checkpoint; give --overwrite to replace it`, 2);
  }
  const { data, notes } = await importHf(folder);
  // Written part by part: the weights' bytes go to disk from the imported tensors, not a second copy.
  const files = checkpointFileParts(data);
  await writeCheckpointFolder(o.out, files);
  const parameters = Object.values(data.weights).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  console.log(`imported ${folder} into ${o.out}: ${data.config.preset} checkpoint, ${parameters.toLocaleString('en-US')} parameters`);
  for (const [name, parts] of Object.entries(files)) console.log(`  ${name.padEnd(20)} ${formatBytes(parts.reduce((n, p) => n + p.length, 0))}`);
  for (const note of notes) console.log(`note: ${note}`);
}
