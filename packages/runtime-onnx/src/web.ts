// @attend/runtime-onnx for browsers (and Node, for tests): onnxruntime-web, devices 'wasm'
// and 'webgpu'; export folders read through fetch or any ReadFile (files picked in a page).

import * as ort from 'onnxruntime-web';
import { CheckpointError } from '@attend/core';
import { openExportFolder, type OpenedExportFolder, type OpenExportFolderOptions, type ReadFile } from './export-folder.js';
import { OnnxModel, type SessionOptions } from './session.js';

export * from './index.js';

/**
 * Loads ONNX bytes into an onnxruntime-web session (default device 'wasm'). `numThreads`
 * sets onnxruntime-web's process-wide WASM thread count, which takes effect before its first session.
 */
export function createOnnxModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
  if (options.numThreads) ort.env.wasm.numThreads = options.numThreads;
  return OnnxModel.create(ort, 'web', bytes, options);
}

/**
 * The files of the folder served at `baseUrl`, fetched on demand: a 404 reads as missing,
 * another HTTP failure is a CheckpointError naming the URL.
 */
export function fetchReadFile(baseUrl: string, fetcher: typeof fetch = fetch): ReadFile {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (name) => {
    const response = await fetcher(`${base}${name}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new CheckpointError(`${base}${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
}

/**
 * Opens an export folder (any preset) on onnxruntime-web — `source` a ReadFile, or the URL of
 * a served folder — see openExportFolder. Errors name the files by their URLs.
 */
export function openExport(source: string | ReadFile, options: OpenExportFolderOptions = {}): Promise<OpenedExportFolder> {
  if (typeof source !== 'string') return openExportFolder(source, createOnnxModel, options);
  const base = source.endsWith('/') ? source : `${source}/`;
  return openExportFolder(fetchReadFile(base), createOnnxModel, { fileName: (name) => `${base}${name}`, ...options });
}
