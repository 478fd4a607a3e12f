// Tells the two kinds of model folder on disk apart — a training checkpoint or an ONNX export
// folder — with core's one answer (modelFolderKind), and one-line errors for anything else.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { modelFolderKind, type ModelFolderKind } from '@attend/core';
import { CliError } from './errors.js';

export type FolderKind = ModelFolderKind;

/** Which kind of folder `dir` is; a one-line CliError when it is neither. */
export async function folderKind(dir: string): Promise<FolderKind> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new CliError(`${dir}: no such folder`);
  if (!info.isDirectory()) throw new CliError(`${dir}: not a folder (expected a checkpoint or an export folder)`);
  const kind = await modelFolderKind((path) =>
    stat(join(dir, path)).then(
      () => true,
      () => false,
    ),
  );
  if (kind) return kind;
  throw new CliError(`${dir}: neither a checkpoint (config.json, model.safetensors) nor an export folder (config.json, onnx/)`);
}
