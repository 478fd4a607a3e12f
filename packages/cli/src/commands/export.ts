// `attend export`: a checkpoint folder → the ONNX export folder of @attend/runtime-onnx
// (transformers.js layout); `--quantize int8` replaces each graph by its int8-weight copy.
// Prints the files with their sizes and the parity of the export with the checkpoint (largest
// |tfjs − onnxruntime| logit on a few seeded inputs, see parity.ts).

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { exportFolder, quantizeModel } from '@attend/runtime-onnx/node';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { folderKind } from '../model-folder.js';
import { formatBytes } from '../options.js';

export interface ExportCommandOptions {
  out: string;
  quantize?: string;
  withAttention: boolean;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function exportCommand(checkpoint: string, o: ExportCommandOptions): Promise<void> {
  if (o.quantize !== undefined && o.quantize !== 'int8') throw new CliError(`--quantize: "${o.quantize}" is not supported; use int8`, 2);
  if ((await folderKind(checkpoint)) !== 'checkpoint') throw new CliError(`${checkpoint}: already an export folder; export takes a training checkpoint`);
  await exportFolder(checkpoint, o.out, { withAttention: o.withAttention });
  const files = await listFiles(o.out);
  if (o.quantize === 'int8') {
    for (const file of files.filter((f) => f.endsWith('.onnx'))) {
      const before = await readFile(file);
      await writeFileAtomic(file, quantizeModel(new Uint8Array(before.buffer, before.byteOffset, before.byteLength)));
    }
  }
  console.log(`exported ${checkpoint} → ${o.out}${o.quantize ? ' (int8 weights)' : ''}`);
  let total = 0;
  for (const file of files) {
    const size = (await stat(file)).size;
    total += size;
    console.log(`  ${relative(o.out, file).padEnd(36)} ${formatBytes(size).padStart(9)}`);
  }
  console.log(`  ${'total'.padEnd(36)} ${formatBytes(total).padStart(9)}`);
  const { exportParity } = await import('../parity.js');
  const parity = await exportParity(checkpoint, o.out);
  console.log(`parity: max |tfjs − onnxruntime-node| logit = ${parity.maxAbsDiff.toExponential(2)} on ${parity.rows} inputs of ≤ ${parity.seqLen} tokens${o.quantize ? ' (int8 weights vs the fp32 checkpoint)' : ''}`);
}
