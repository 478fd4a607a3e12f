// A model folder as the playground receives it — the demo fetched from the server, files from a
// picker, a dropped folder, or an export made in the page — checked before any ONNX Runtime
// session exists: the files an export needs (config.json, tokenizer.json, onnx/*.onnx: the
// transformers.js layout, or attend's for the GRU encoder–decoder; a vit-classifier has
// preprocessor_config.json instead of a tokenizer), the attend config, the tokenizer, and each
// graph's header and metadata.
// Every problem is one FolderError whose message names the file.

import { tokenizerFromJSON, type ModelConfig, type Tokenizer } from '@attend/core';
import { EXPORT_FILES, inspectModel, readFolderConfig, RNN_SEQ2SEQ_FILES, SEQ2SEQ_FILES } from '@attend/runtime-onnx';

export class FolderError extends Error {
  override readonly name = 'FolderError';
}

/** One file of a selection: its path (relative, as the picker or drop gives it) and its bytes. */
export interface PickedFile {
  path: string;
  bytes: () => Promise<Uint8Array>;
  size: number;
}

/** A checked model folder: the config, the tokenizer, and the ONNX graphs it runs. */
export interface ModelFolder {
  /** Where it came from, for the page ("demo", "my-export/", …). */
  source: string;
  config: ModelConfig;
  /** Absent for a vit-classifier (images in, no tokens). */
  tokenizer?: Tokenizer;
  /** Graph bytes by folder path (see graphFiles). */
  graphs: Record<string, Uint8Array>;
  /** Whether the graphs output attention weights (exported with --with-attention). */
  hasAttention: boolean;
}

/** The graph files a folder of this preset must hold. */
export function graphFiles(config: ModelConfig): string[] {
  if (config.preset === 'encoder-decoder') return [SEQ2SEQ_FILES.encoder, SEQ2SEQ_FILES.decoder];
  if (config.preset === 'rnn-seq2seq') return [RNN_SEQ2SEQ_FILES.encoder, RNN_SEQ2SEQ_FILES.decoder];
  return [EXPORT_FILES.model];
}

/** The graph kind each graph file holds. */
const GRAPH_OF: Record<string, string> = {
  [SEQ2SEQ_FILES.encoder]: 'seq2seq-encoder',
  [SEQ2SEQ_FILES.decoder]: 'seq2seq-decoder',
  [RNN_SEQ2SEQ_FILES.encoder]: 'rnn-seq2seq-encoder',
  [RNN_SEQ2SEQ_FILES.decoder]: 'rnn-seq2seq-decoder',
  [EXPORT_FILES.model]: 'decoder-with-past',
};

const KNOWN = new Set<string>([EXPORT_FILES.config, EXPORT_FILES.tokenizer, EXPORT_FILES.tokenizerConfig, EXPORT_FILES.generationConfig, EXPORT_FILES.preprocessorConfig, ...Object.keys(GRAPH_OF)]);

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

/** Reads and checks a model folder from its files (paths as `folderPaths` returns them). */
export async function readModelFolder(files: Map<string, PickedFile>, source: string): Promise<ModelFolder> {
  const where = (name: string): string => `${source}${name}`;
  const read = async (name: string, why: string): Promise<Uint8Array> => {
    const file = files.get(name);
    if (!file) throw new FolderError(`${where(name)}: missing (${why})`);
    return file.bytes();
  };
  const configBytes = await read(EXPORT_FILES.config, 'every export has one');
  if (isCheckpointConfig(configBytes)) {
    throw new FolderError(`${where(EXPORT_FILES.config)}: a training checkpoint, not an export; export it first: attend export <checkpoint> --out <folder> --with-attention`);
  }
  const modelConfig = rethrow(() => readFolderConfig(configBytes, where(EXPORT_FILES.config)));
  if (modelConfig.preset === 'encoder-classifier') {
    throw new FolderError(`${where(EXPORT_FILES.config)}: preset '${modelConfig.preset}'; the playground runs 'encoder-decoder', 'rnn-seq2seq', 'decoder-lm' and 'vit-classifier' exports`);
  }
  if (modelConfig.preset === 'vit-classifier') {
    await read(EXPORT_FILES.preprocessorConfig, 'a vit-classifier export has one');
    const bytes = await read(EXPORT_FILES.model, 'a vit-classifier export needs onnx/model.onnx');
    const { config, graph, info } = rethrow(() => inspectModel(bytes, where(EXPORT_FILES.model)));
    if (graph !== 'forward') throw new FolderError(`${where(EXPORT_FILES.model)}: holds a '${graph}' graph, expected 'forward'`);
    if (JSON.stringify(config) !== JSON.stringify(modelConfig)) throw new FolderError(`${where(EXPORT_FILES.model)}: its config differs from config.json (files from different exports?)`);
    const hasAttention = info.outputs.some((o) => /^attentions\.\d+$/.test(o));
    return { source, config: modelConfig, graphs: { [EXPORT_FILES.model]: bytes }, hasAttention };
  }
  const tokenizerBytes = await read(EXPORT_FILES.tokenizer, 'the export needs its tokenizer');
  const tokenizer = rethrow(() => {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(tokenizerBytes));
    } catch (error) {
      throw new FolderError(`${where(EXPORT_FILES.tokenizer)}: not JSON (${(error as Error).message})`);
    }
    return tokenizerFromJSON(json, where(EXPORT_FILES.tokenizer));
  });
  if (tokenizer.vocabSize !== modelConfig.vocabSize) {
    throw new FolderError(`${where(EXPORT_FILES.tokenizer)}: ${tokenizer.vocabSize} tokens but config.json has vocabSize ${modelConfig.vocabSize} (files from different exports?)`);
  }
  const names = graphFiles(modelConfig);
  const graphs: Record<string, Uint8Array> = {};
  let hasAttention = true;
  const kind = { 'encoder-decoder': 'an encoder-decoder', 'rnn-seq2seq': 'an rnn-seq2seq' }[modelConfig.preset as string] ?? 'a decoder-lm';
  for (const name of names) {
    const bytes = await read(name, `${kind} export needs ${names.join(' and ')}`);
    const { config, graph, info } = rethrow(() => inspectModel(bytes, where(name)));
    const expected = GRAPH_OF[name]!;
    if (graph !== expected) throw new FolderError(`${where(name)}: holds a '${graph}' graph, expected '${expected}'`);
    if (JSON.stringify(config) !== JSON.stringify(modelConfig)) throw new FolderError(`${where(name)}: its config differs from config.json (files from different exports?)`);
    // The GRU decoder step outputs its attention always (unless it has none); its encoder never does.
    if (graph === 'rnn-seq2seq-decoder') hasAttention &&= info.outputs.includes('attention_weights');
    else if (graph !== 'rnn-seq2seq-encoder' && !info.outputs.some((o) => /attentions\.\d+$/.test(o))) hasAttention = false;
    graphs[name] = bytes;
  }
  return { source, config: modelConfig, tokenizer, graphs, hasAttention };
}

/** Whether config.json is a checkpoint's (the ModelConfig itself, with no export wrapper). */
function isCheckpointConfig(bytes: Uint8Array): boolean {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return typeof json === 'object' && json !== null && 'preset' in json && !('attend' in json);
  } catch {
    return false;
  }
}

/** Files of a folder served over HTTP (the demo): fetched on demand, a 404 reads as missing. */
export async function fetchFolderFiles(baseUrl: string, fetcher: typeof fetch = fetch): Promise<Map<string, PickedFile>> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const configResponse = await fetcher(`${base}${EXPORT_FILES.config}`);
  if (!configResponse.ok) throw new FolderError(`${base}${EXPORT_FILES.config}: HTTP ${configResponse.status} (is the demo model built? run the app's build)`);
  const configBytes = new Uint8Array(await configResponse.arrayBuffer());
  const modelConfig = rethrow(() => readFolderConfig(configBytes, `${base}${EXPORT_FILES.config}`));
  const files = new Map<string, PickedFile>();
  files.set(EXPORT_FILES.config, { path: EXPORT_FILES.config, size: configBytes.length, bytes: async () => configBytes });
  const extra = modelConfig.preset === 'vit-classifier' ? EXPORT_FILES.preprocessorConfig : EXPORT_FILES.tokenizer;
  for (const name of [extra, ...graphFiles(modelConfig)]) {
    const response = await fetcher(`${base}${name}`);
    if (response.status === 404) continue;
    if (!response.ok) throw new FolderError(`${base}${name}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    files.set(name, { path: name, size: bytes.length, bytes: async () => bytes });
  }
  return files;
}

/** Files held in memory (an export made in the page). */
export function memoryFolderFiles(files: Record<string, Uint8Array>): Map<string, PickedFile> {
  return new Map(Object.entries(files).map(([path, bytes]) => [path, { path, size: bytes.length, bytes: async () => bytes }]));
}

/** Runs `f`, turning the toolkit's typed errors into FolderErrors with the same one-line message. */
function rethrow<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof FolderError) throw error;
    throw new FolderError((error as Error).message.split('\n')[0] ?? String(error));
  }
}
