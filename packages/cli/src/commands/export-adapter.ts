// `attend export CKPT --adapter-only --out DIR`: a LoRA checkpoint's adapters alone, in PEFT's
// layout (adapter_config.json + adapter_model.safetensors; core hf-import/peft.ts), for
// `PeftModel.from_pretrained` on the Hugging Face model. --out follows export's rules.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILES, ConfigError, parseCheckpointFiles, PEFT_FILES, peftAdapterFiles } from '@attend/core';
import { readCheckpointFolder, writeFolderAtomic } from '@attend/core/node';
import { CliError } from '../errors.js';
import { formatBytes } from '../options.js';
import { foreignEntries, outFolderState, type OutputKind } from '../out-folder.js';

const ADAPTER_ENTRIES = Object.values(PEFT_FILES);

/** A PEFT adapter folder: the two files, nothing else. */
const ADAPTER_FOLDER: OutputKind = {
  name: 'a PEFT adapter folder',
  marks: (entries) => entries.includes(PEFT_FILES.config),
  foreign: (dir, entries) => foreignEntries(dir, entries, ADAPTER_ENTRIES),
};

/** Writes the PEFT adapter folder of the LoRA checkpoint `checkpoint` into `out` (see the file comment). */
export async function exportAdapterCommand(checkpoint: string, o: { out: string; overwrite?: boolean }): Promise<void> {
  if ((await outFolderState(o.out, ADAPTER_FOLDER)) === 'earlier-output' && !o.overwrite) {
    throw new CliError(`--out ${o.out}: already an adapter folder; give --overwrite to replace it`, 2);
  }
  const { config, weights } = parseCheckpointFiles(await readCheckpointFolder(checkpoint, [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights]), checkpoint);
  let files: Record<string, Uint8Array>;
  try {
    files = peftAdapterFiles(config, weights);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`--adapter-only: ${checkpoint}: ${error.message}`, 2);
    throw error;
  }
  await writeFolderAtomic(o.out, files, { replaces: ADAPTER_ENTRIES });
  console.log(`exported the LoRA adapters of ${checkpoint} → ${o.out} (PEFT layout)`);
  for (const name of ADAPTER_ENTRIES) console.log(`  ${name.padEnd(36)} ${formatBytes((await stat(join(o.out, name))).size).padStart(9)}`);
}
