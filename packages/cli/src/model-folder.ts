// Tells the two kinds of model folder apart: a training checkpoint (config.json +
// model.safetensors, see @attend/transformer's checkpoint.ts) and an ONNX export folder
// (config.json + onnx/*.onnx, see @attend/runtime-onnx's folder.ts).

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './errors.js';

export type FolderKind = 'checkpoint' | 'export';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Which kind of folder `dir` is; a one-line CliError when it is neither. */
export async function folderKind(dir: string): Promise<FolderKind> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new CliError(`${dir}: no such folder`);
  if (!info.isDirectory()) throw new CliError(`${dir}: not a folder (expected a checkpoint or an export folder)`);
  if (await exists(join(dir, 'onnx'))) return 'export';
  if (await exists(join(dir, 'model.safetensors'))) return 'checkpoint';
  throw new CliError(`${dir}: neither a checkpoint (config.json, model.safetensors) nor an export folder (config.json, onnx/)`);
}
