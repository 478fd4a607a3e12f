// @attend/runtime-onnx for Node: onnxruntime-node (devices 'cpu' and 'cuda'), plus reading
// checkpoint folders and .onnx files from disk with one-line errors.

import * as ort from 'onnxruntime-node';
import { CHECKPOINT_FILES, CheckpointError, tokenizerFromJSON, type ModelConfig, type Tokenizer } from '@attend/core';
import { readCheckpointFolder, writeFolderAtomic } from '@attend/core/node';
import { exportCheckpointFiles, type ExportOptions } from './export.js';
import type { GraphKind } from './graph-io.js';
import { EXPORT_FILES, exportFolderFiles, readFolderConfig, RNN_SEQ2SEQ_FILES, SEQ2SEQ_FILES, utf8Text } from './folder.js';
import type { OnnxRnnSeq2SeqModel } from './models/rnn-seq2seq/session.js';
import type { OnnxSeq2SeqModel } from './models/encoder-decoder/session.js';
import { OnnxModel, OnnxModelError, type SessionOptions } from './session.js';
import { tritonRepositoryFiles, type TritonOptions } from './triton.js';

export * from './index.js';

/** Loads ONNX bytes into an onnxruntime-node session (default device 'cpu'). */
export function createOnnxModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
  return OnnxModel.create(ort, 'node', bytes, options);
}

/** Loads an exported .onnx file, or the model of an export folder (see `loadExportFolder`). */
export async function loadOnnxModel(path: string, options: SessionOptions = {}): Promise<OnnxModel> {
  const { stat } = await import('node:fs/promises');
  const isFolder = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isFolder) {
    const { join } = await import('node:path');
    const configFile = join(path, EXPORT_FILES.config);
    const config = readFolderConfig(await readBytes(configFile, CheckpointError), configFile);
    return config.preset === 'vit-classifier' ? loadVitFolder(path, options) : (await loadExportFolder(path, options)).model;
  }
  return createOnnxModel(await readBytes(path, OnnxModelError), { source: path, ...options });
}

export interface ExportFolder {
  model: OnnxModel;
  tokenizer: Tokenizer;
}

/**
 * Loads an export folder (transformers.js layout, see folder.ts): checks that its files are
 * there, that config.json is an attend export and matches the model, and loads the tokenizer.
 */
export async function loadExportFolder(folder: string, options: SessionOptions = {}): Promise<ExportFolder> {
  const path = await import('node:path');
  const file = (name: string): string => path.join(folder, name);
  const config = readFolderConfig(await readBytes(file(EXPORT_FILES.config), CheckpointError), file(EXPORT_FILES.config));
  if (config.preset === 'encoder-decoder') {
    throw new CheckpointError(`${file(EXPORT_FILES.config)}: an encoder-decoder export (${SEQ2SEQ_FILES.encoder} + ${SEQ2SEQ_FILES.decoder}); load it with loadSeq2SeqFolder`);
  }
  if (config.preset === 'rnn-seq2seq') {
    throw new CheckpointError(`${file(EXPORT_FILES.config)}: an rnn-seq2seq export (${RNN_SEQ2SEQ_FILES.encoder} + ${RNN_SEQ2SEQ_FILES.decoder}); load it with loadRnnSeq2SeqFolder`);
  }
  if (config.preset === 'vit-classifier') {
    throw new CheckpointError(`${file(EXPORT_FILES.config)}: a vit-classifier export (images in, no tokenizer); load it with loadVitFolder`);
  }
  const tokenizerText = utf8Text(await readBytes(file(EXPORT_FILES.tokenizer), CheckpointError), file(EXPORT_FILES.tokenizer));
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromJSON(JSON.parse(tokenizerText) as unknown, file(EXPORT_FILES.tokenizer));
  } catch (error) {
    throw new CheckpointError(error instanceof SyntaxError ? `${file(EXPORT_FILES.tokenizer)}: not JSON (${error.message.replace(/\s+/g, ' ')})` : (error as Error).message);
  }
  const needed = config.preset === 'encoder-classifier' ? [EXPORT_FILES.tokenizerConfig] : [EXPORT_FILES.tokenizerConfig, EXPORT_FILES.generationConfig];
  for (const name of needed) await readBytes(file(name), CheckpointError);
  return { model: await loadFolderGraph(folder, config, options), tokenizer };
}

/**
 * Loads a vit-classifier export folder (vit layout, see folder.ts): config.json,
 * preprocessor_config.json and the graph (pixel_values → logits), checked against config.json.
 */
export async function loadVitFolder(folder: string, options: SessionOptions = {}): Promise<OnnxModel> {
  const path = await import('node:path');
  const file = (name: string): string => path.join(folder, name);
  const config = readFolderConfig(await readBytes(file(EXPORT_FILES.config), CheckpointError), file(EXPORT_FILES.config));
  if (config.preset !== 'vit-classifier') throw new CheckpointError(`${file(EXPORT_FILES.config)}: preset '${config.preset}', not a vit-classifier export (use loadExportFolder)`);
  await readBytes(file(EXPORT_FILES.preprocessorConfig), CheckpointError);
  return loadFolderGraph(folder, config, options);
}

/** onnx/model.onnx of an export folder, checked against its config.json. */
async function loadFolderGraph(folder: string, config: ModelConfig, options: SessionOptions): Promise<OnnxModel> {
  const path = await import('node:path');
  const onnxFile = path.join(folder, EXPORT_FILES.model);
  const model = await createOnnxModel(await readBytes(onnxFile, OnnxModelError), { source: onnxFile, ...options });
  if (JSON.stringify(model.config) !== JSON.stringify(config)) {
    await model.release();
    throw new OnnxModelError(`${onnxFile}: its config differs from ${path.join(folder, EXPORT_FILES.config)} 'attend' (files from different exports?)`);
  }
  return model;
}

export interface Seq2SeqExportFolder {
  model: OnnxSeq2SeqModel;
  tokenizer: Tokenizer;
}

/**
 * Loads an encoder–decoder export folder (marian layout, see folder.ts): its files, the
 * tokenizer, and both graphs, each checked against config.json.
 */
export async function loadSeq2SeqFolder(folder: string, options: SessionOptions = {}): Promise<Seq2SeqExportFolder> {
  return loadTwoGraphFolder(folder, 'encoder-decoder', [SEQ2SEQ_FILES.encoder, 'seq2seq-encoder'], [SEQ2SEQ_FILES.decoder, 'seq2seq-decoder'], options);
}

export interface RnnSeq2SeqExportFolder {
  model: OnnxRnnSeq2SeqModel;
  tokenizer: Tokenizer;
}

/**
 * Loads an rnn-seq2seq export folder (attend-only layout, see folder.ts): its files, the
 * tokenizer, and the encoder and decoder-step graphs, each checked against config.json.
 */
export async function loadRnnSeq2SeqFolder(folder: string, options: SessionOptions = {}): Promise<RnnSeq2SeqExportFolder> {
  return loadTwoGraphFolder(folder, 'rnn-seq2seq', [RNN_SEQ2SEQ_FILES.encoder, 'rnn-seq2seq-encoder'], [RNN_SEQ2SEQ_FILES.decoder, 'rnn-seq2seq-decoder'], options);
}

async function loadTwoGraphFolder(
  folder: string,
  preset: 'encoder-decoder' | 'rnn-seq2seq',
  encoderFile: readonly [string, GraphKind],
  decoderFile: readonly [string, GraphKind],
  options: SessionOptions,
): Promise<{ model: { encoder: OnnxModel; decoder: OnnxModel }; tokenizer: Tokenizer }> {
  const path = await import('node:path');
  const file = (name: string): string => path.join(folder, name);
  const config = readFolderConfig(await readBytes(file(EXPORT_FILES.config), CheckpointError), file(EXPORT_FILES.config));
  if (config.preset !== preset) {
    const use = config.preset === 'encoder-decoder' ? 'loadSeq2SeqFolder' : config.preset === 'rnn-seq2seq' ? 'loadRnnSeq2SeqFolder' : 'loadExportFolder';
    throw new CheckpointError(`${file(EXPORT_FILES.config)}: preset '${config.preset}', not an ${preset} export (use ${use})`);
  }
  let tokenizer: Tokenizer;
  const tokenizerText = utf8Text(await readBytes(file(EXPORT_FILES.tokenizer), CheckpointError), file(EXPORT_FILES.tokenizer));
  try {
    tokenizer = tokenizerFromJSON(JSON.parse(tokenizerText) as unknown, file(EXPORT_FILES.tokenizer));
  } catch (error) {
    throw new CheckpointError(error instanceof SyntaxError ? `${file(EXPORT_FILES.tokenizer)}: not JSON (${error.message.replace(/\s+/g, ' ')})` : (error as Error).message);
  }
  for (const name of [EXPORT_FILES.tokenizerConfig, EXPORT_FILES.generationConfig]) await readBytes(file(name), CheckpointError);
  const loaded: OnnxModel[] = [];
  try {
    for (const [name, graph] of [encoderFile, decoderFile]) {
      const onnxFile = file(name);
      const model = await createOnnxModel(await readBytes(onnxFile, OnnxModelError), { source: onnxFile, ...options });
      loaded.push(model);
      if (model.graph !== graph) throw new OnnxModelError(`${onnxFile}: holds a '${model.graph}' graph, expected '${graph}'`);
      if (JSON.stringify(model.config) !== JSON.stringify(config)) throw new OnnxModelError(`${onnxFile}: its config differs from ${file(EXPORT_FILES.config)} 'attend' (files from different exports?)`);
    }
  } catch (error) {
    for (const m of loaded) await m.release();
    throw error;
  }
  return { model: { encoder: loaded[0]!, decoder: loaded[1]! }, tokenizer };
}

/**
 * Exports the checkpoint folder `checkpointDir` (config.json, model.safetensors,
 * tokenizer.json) to `outDir` in the transformers.js layout (gpt2, marian, bert or vit, see
 * folder.ts), or attend's rnn-seq2seq layout. Atomic (@attend/core/node's writeFolderAtomic):
 * written to a temporary folder beside `outDir`, fsynced, then renamed over it.
 */
export async function exportFolder(checkpointDir: string, outDir: string, options: Pick<ExportOptions, 'withAttention'> = {}): Promise<void> {
  const files = await readCheckpointFolder(checkpointDir, [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.tokenizer]);
  await writeFolderAtomic(outDir, exportFolderFiles(files, { ...options, dir: checkpointDir }));
}

/** The model folders of the Triton repository of the export folder `exportDir` (see triton.ts): files by model name. */
export async function tritonModels(exportDir: string, options: TritonOptions): Promise<Record<string, Record<string, Uint8Array>>> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const files: Record<string, Uint8Array> = {};
  for (const name of [EXPORT_FILES.config, EXPORT_FILES.tokenizer, EXPORT_FILES.preprocessorConfig, EXPORT_FILES.model, SEQ2SEQ_FILES.encoder, SEQ2SEQ_FILES.decoder, RNN_SEQ2SEQ_FILES.encoder, RNN_SEQ2SEQ_FILES.decoder]) {
    const file = path.join(exportDir, name);
    const bytes = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new CheckpointError(`${file}: cannot read (${error.message})`);
    });
    if (bytes) files[name] = new Uint8Array(bytes);
  }
  const models: Record<string, Record<string, Uint8Array>> = {};
  for (const [name, bytes] of Object.entries(tritonRepositoryFiles(files, options))) {
    const slash = name.indexOf('/');
    (models[name.slice(0, slash)] ??= {})[name.slice(slash + 1)] = bytes;
  }
  return models;
}

/**
 * Adds the model folders of the export folder `exportDir` to the Triton model repository
 * `repositoryDir` (created if missing), each written atomically and replacing only a model
 * folder of the same name; the repository's other models are left as they are. Returns the
 * names of the models written.
 */
export async function exportTritonRepository(exportDir: string, repositoryDir: string, options: TritonOptions): Promise<string[]> {
  const path = await import('node:path');
  const models = await tritonModels(exportDir, options);
  for (const [name, files] of Object.entries(models)) await writeFolderAtomic(path.join(repositoryDir, name), files);
  return Object.keys(models);
}

async function readBytes(file: string, type: new (message: string) => Error): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new type(code === 'ENOENT' ? `${file}: missing (no such file)` : `${file}: cannot read (${(error as Error).message})`);
  }
}

/** Exports the forward graph of the checkpoint folder `dir` (config.json + model.safetensors). */
export async function exportCheckpoint(dir: string, options: ExportOptions = {}): Promise<Uint8Array> {
  return exportCheckpointFiles(await readCheckpointFolder(dir, [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights]), { ...options, dir });
}
