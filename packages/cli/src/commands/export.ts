// `attend export`: a checkpoint folder → the ONNX export folder of @attend/runtime-onnx
// (transformers.js layout); `--quantize int8` replaces each graph by its int8-weight copy;
// `--target triton` writes a Triton Inference Server model repository instead (see
// @attend/runtime-onnx's triton.ts). Prints the files with their sizes and the parity of the
// export with the checkpoint (largest |tfjs − onnxruntime| logit on a few seeded inputs, see
// parity.ts).

import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { exportFolder, exportTritonRepository, quantizeModel } from '@attend/runtime-onnx/node';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { folderKind } from '../model-folder.js';
import { formatBytes } from '../options.js';
import type { Parity } from '../parity.js';

export interface ExportCommandOptions {
  out: string;
  quantize?: string;
  withAttention: boolean;
  /** 'onnx' (default): the export folder; 'triton': a Triton model repository. */
  target?: string;
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
  const target = o.target ?? 'onnx';
  if (target !== 'onnx' && target !== 'triton') throw new CliError(`--target: "${target}" is not supported; use onnx or triton`, 2);
  // For Triton, the export folder is a staging step in a temporary folder.
  const staging = target === 'triton' ? await mkdtemp(join(tmpdir(), 'attend-export-')) : undefined;
  const folder = staging ? join(staging, 'onnx') : o.out;
  let parity: Parity;
  try {
    await exportFolder(checkpoint, folder, { withAttention: o.withAttention });
    if (o.quantize === 'int8') {
      for (const file of (await listFiles(folder)).filter((f) => f.endsWith('.onnx'))) {
        const before = await readFile(file);
        await writeFileAtomic(file, quantizeModel(new Uint8Array(before.buffer, before.byteOffset, before.byteLength)));
      }
    }
    const { exportParity } = await import('../parity.js');
    parity = await exportParity(checkpoint, folder);
    if (staging) await exportTritonRepository(folder, o.out, { name: basename(resolve(checkpoint)).replace(/[^A-Za-z0-9_-]/g, '_') });
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
  }
  const files = await listFiles(o.out);
  console.log(`exported ${checkpoint} → ${o.out}${target === 'triton' ? ' (Triton model repository)' : ''}${o.quantize ? ' (int8 weights)' : ''}`);
  let total = 0;
  for (const file of files) {
    const size = (await stat(file)).size;
    total += size;
    console.log(`  ${relative(o.out, file).padEnd(36)} ${formatBytes(size).padStart(9)}`);
  }
  console.log(`  ${'total'.padEnd(36)} ${formatBytes(total).padStart(9)}`);
  console.log(`parity: max |tfjs − onnxruntime-node| logit = ${parity.maxAbsDiff.toExponential(2)} on ${parity.rows} ${parity.images ? 'images' : `inputs of ≤ ${parity.seqLen} tokens`}${o.quantize ? ' (int8 weights vs the fp32 checkpoint)' : ''}`);
}
