// A model folder as the playground receives it — the demo fetched from the server, files from a
// picker, a dropped folder, or an export made in the page — read and checked by runtime-onnx's
// export-folder loader (readExportFolder) before any ONNX Runtime session exists: the files the
// preset's layout needs, the attend config, the tokenizer, and each graph's header and metadata.
// The playground adds what only it says: a training checkpoint is told to be exported first.
// Every problem is one FolderError whose message names the file.

import { modelFolderKind, type Tokenizer } from '@attend/core';
import { EXPORT_FILES, EXPORT_LAYOUTS, layoutGraphs, readExportFolder, type CheckedExportFolder, type ReadFile } from '@attend/runtime-onnx';
import { fetchReadFile } from '@attend/runtime-onnx/web';

export class FolderError extends Error {
  override readonly name = 'FolderError';
}

/** One file of a selection: its path (relative, as the picker or drop gives it) and its bytes. */
export interface PickedFile {
  path: string;
  bytes: () => Promise<Uint8Array>;
  size: number;
}

/** The files of a model folder: picked or in memory (by folder path), or read on demand (fetched). */
export type FolderFiles = Map<string, PickedFile> | ReadFile;

/** A checked model folder: the config, the tokenizer, and the ONNX graphs it runs (graph bytes by folder path). */
export interface ModelFolder extends CheckedExportFolder {
  /** Where it came from, for the page ("demo", "my-export/", …). */
  source: string;
}

/** The files a selection may hold: every layout's (its optional graphs too), and a checkpoint's weights (to tell it apart). */
const KNOWN = new Set<string>([
  EXPORT_FILES.config,
  EXPORT_FILES.tokenizer,
  EXPORT_FILES.tokenizerConfig,
  EXPORT_FILES.generationConfig,
  EXPORT_FILES.preprocessorConfig,
  ...Object.values(EXPORT_LAYOUTS).flatMap((layout) => [...layoutGraphs(layout), ...Object.values(layout.optionalGraphs ?? {})].map((g) => g.file)),
  'model.safetensors',
]);

/** The tokenizer of a text model's folder; a FolderError for a vit-classifier, which has none. */
export function textTokenizer(folder: ModelFolder): Tokenizer {
  if (!folder.tokenizer) throw new FolderError(`${folder.source}: a ${folder.config.preset} takes images, not text`);
  return folder.tokenizer;
}

/**
 * Maps a selection to folder paths: drops the common top folder of a folder pick or drop
 * ("my-export/onnx/model.onnx" → "onnx/model.onnx") and puts loose .onnx files (a multi-file
 * pick has names only) under onnx/. Files the folder does not use are ignored, but a selection
 * with none of its files is an error naming what was given.
 */
export function folderPaths(files: readonly PickedFile[]): Map<string, PickedFile> {
  if (files.length === 0) throw new FolderError('no files selected; choose an export folder (config.json, tokenizer.json, onnx/*.onnx)');
  const split = files.map((f) => f.path.replace(/\\/g, '/').replace(/^\.?\//, '').split('/').filter((p) => p !== ''));
  const top = split[0]!.length > 1 ? split[0]![0] : undefined;
  const strip = top !== undefined && split.every((parts) => parts.length > 1 && parts[0] === top);
  const out = new Map<string, PickedFile>();
  files.forEach((file, i) => {
    const parts = strip ? split[i]!.slice(1) : split[i]!;
    let path = parts.join('/');
    if (parts.length === 1 && path.endsWith('.onnx')) path = `onnx/${path}`;
    if (KNOWN.has(path)) out.set(path, file);
  });
  if (out.size === 0) {
    const names = files.slice(0, 3).map((f) => f.path).join(', ') + (files.length > 3 ? `, … (${files.length} files)` : '');
    throw new FolderError(`${names}: not a model folder; expected config.json, tokenizer.json and onnx/*.onnx from an attend export`);
  }
  return out;
}

/**
 * Reads and checks a model folder: picked or in-memory files (paths as `folderPaths` returns
 * them), or a ReadFile (the fetched demo).
 */
export async function readModelFolder(files: FolderFiles, source: string): Promise<ModelFolder> {
  const where = (name: string): string => `${source}${name}`;
  if (typeof files !== 'function') {
    const paths = [...files.keys()];
    const kind = await modelFolderKind((path) => paths.some((p) => p === path || p.startsWith(`${path}/`)));
    if (kind === 'checkpoint') {
      throw new FolderError(`${where(EXPORT_FILES.config)}: a training checkpoint, not an export; export it first: attend export <checkpoint> --out <folder> --with-attention`);
    }
  }
  const readFile: ReadFile = typeof files === 'function' ? files : async (name) => files.get(name)?.bytes();
  try {
    const folder = await readExportFolder(readFile, {
      fileName: where,
      transformersJsFiles: false, // the page reads config.json, tokenizer.json and the graphs only
    });
    return { source, ...folder };
  } catch (error) {
    if (error instanceof FolderError) throw error;
    throw new FolderError((error as Error).message.split('\n')[0] ?? String(error));
  }
}

/**
 * The files of a folder served over HTTP (the demo), fetched on demand (a 404 reads as
 * missing); config.json first, whose absence means the demo was not built.
 */
export async function fetchFolderFiles(baseUrl: string, fetcher: typeof fetch = fetch): Promise<ReadFile> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const configResponse = await fetcher(`${base}${EXPORT_FILES.config}`);
  if (!configResponse.ok) throw new FolderError(`${base}${EXPORT_FILES.config}: HTTP ${configResponse.status} (is the demo model built? run the app's build)`);
  const configBytes = new Uint8Array(await configResponse.arrayBuffer());
  const fetched = fetchReadFile(base, fetcher);
  return async (name) => (name === EXPORT_FILES.config ? configBytes : fetched(name));
}

/** Files held in memory (an export made in the page). */
export function memoryFolderFiles(files: Record<string, Uint8Array>): Map<string, PickedFile> {
  return new Map(Object.entries(files).map(([path, bytes]) => [path, { path, size: bytes.length, bytes: async () => bytes }]));
}
