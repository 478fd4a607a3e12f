// @attend/runtime-onnx for Node: onnxruntime-node (devices 'cpu' and 'cuda'), plus reading
// checkpoint folders and .onnx files from disk with one-line errors.

import * as ort from 'onnxruntime-node';
import { CheckpointError } from '@attend/core';
import { exportCheckpointFiles, type ExportOptions } from './export.js';
import { OnnxModel, OnnxModelError, type SessionOptions } from './session.js';

export * from './index.js';

/** Loads ONNX bytes into an onnxruntime-node session (default device 'cpu'). */
export function createOnnxModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
  return OnnxModel.create(ort, 'node', bytes, options);
}

/** Loads an exported .onnx file. */
export async function loadOnnxModel(file: string, options: SessionOptions = {}): Promise<OnnxModel> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OnnxModelError(code === 'ENOENT' ? `${file}: missing (no such file)` : `${file}: cannot read (${(error as Error).message})`);
  }
  return createOnnxModel(bytes, { source: file, ...options });
}

/** Exports the forward graph of the checkpoint folder `dir` (config.json + model.safetensors). */
export async function exportCheckpoint(dir: string, options: ExportOptions = {}): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const files: Record<string, Uint8Array> = {};
  for (const name of ['config.json', 'model.safetensors']) {
    const file = path.join(dir, name);
    try {
      files[name] = new Uint8Array(await fs.readFile(file));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CheckpointError(code === 'ENOENT' ? `${file}: missing (is ${dir} a checkpoint folder?)` : `${file}: cannot read (${(error as Error).message})`);
    }
  }
  return exportCheckpointFiles(files, { ...options, dir });
}
