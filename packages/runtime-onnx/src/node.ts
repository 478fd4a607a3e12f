// @attend/runtime-onnx for Node: onnxruntime-node (devices 'cpu' and 'cuda'), plus reading
// checkpoint folders, export folders (the export-folder loader bound to the disk: openExport)
// and .onnx files from disk with one-line errors.

import * as ort from 'onnxruntime-node';
import { CHECKPOINT_FILES, CheckpointError, hardCaptionerConfig, imageToTextConfig, presetsFor, type ModelConfig, type Preset, type Tokenizer } from '@attend/core';
import { readCheckpointFolder, readFileBytes, writeFolderAtomic } from '@attend/core/node';
import { exportCheckpointFiles, type ExportOptions } from './export.js';
import { resolveDevice } from './devices.js';
import { EXPORT_LAYOUTS, exportKind, layoutGraphs, openExportFolder, type OpenedExportFolder, type OpenExportFolderOptions, type ReadFile } from './export-folder.js';
import { EXPORT_FILES, exportFolderParts, readFolderConfig, type ExportFolderOptions } from './folder.js';
import { SEQ2SEQ_FILES } from './models/encoder-decoder/export.js';
import { RNN_SEQ2SEQ_FILES } from './models/rnn-seq2seq/export.js';
import type { CaptionRunOptions } from './models/image-captioner/session.js';
import type { CaptionTarget } from './models/kind.js';
import { runtimeKind } from './models/registry.js';
import { checkRnnSeq2SeqModel, type OnnxRnnSeq2SeqModel } from './models/rnn-seq2seq/session.js';
import { checkSeq2SeqModel, type OnnxSeq2SeqModel } from './models/encoder-decoder/session.js';
import type { TextModelSession } from './models/decoder-lm/session.js';
import type { ImageClassifierSession } from './models/vit-classifier/session.js';
import { inspectModel, OnnxModel, OnnxModelError, type SessionOptions } from './session.js';
import { tritonRepositoryFiles, type TritonOptions } from './triton.js';

export * from './index.js';

/**
 * Turns onnxruntime-node's native logger down to fatal errors, for the whole process. ORT reads
 * the level once, when the first session is created, so call it before that. For applications
 * that report ORT's failures themselves: each one also reaches the caller as an exception (a
 * CUDA library that is missing makes `createOnnxModel` fall back to cpu and say why in
 * `fallbacks`), which the native logger would otherwise print first, in red, on stderr.
 */
export function quietNativeLog(): void {
  ort.env.logLevel = 'fatal';
}

/** Loads ONNX bytes into an onnxruntime-node session (default device 'cpu'). */
export function createOnnxModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
  return OnnxModel.create(ort, 'node', bytes, options);
}

/** Loads an exported .onnx file, or the model of a one-graph export folder (see `openExport`). */
export async function loadOnnxModel(path: string, options: SessionOptions = {}): Promise<OnnxModel> {
  const { stat } = await import('node:fs/promises');
  const isFolder = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isFolder) {
    const { source: _, ...rest } = options;
    const opened = await openExport(path, { ...rest, accept: acceptOnly([...textModelPresets(), ...presetsFor('image-classification')]) });
    return (opened.sessions as { model: OnnxModel }).model;
  }
  return createOnnxModel(await readBytes(path, OnnxModelError), { source: path, ...options });
}

/**
 * The files of the folder `dir` on disk for `openExportFolder`: undefined for a missing file, a
 * CheckpointError naming the file when it cannot be read.
 */
export function folderReadFile(dir: string): ReadFile {
  return async (name) => {
    const { join } = await import('node:path');
    const file = join(dir, name);
    try {
      return await readFileBytes(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new CheckpointError(`${file}: cannot read (${(error as Error).message})`);
    }
  };
}

/**
 * Opens the export folder `dir` (any preset) from disk, see openExportFolder: on onnxruntime-node
 * (cpu, cuda), or on onnxruntime-web in this process for a web device (wasm), as the device table
 * says. Errors name the files by their paths under `dir`.
 */
export async function openExport(dir: string, options: Omit<OpenExportFolderOptions, 'fileName'> = {}): Promise<OpenedExportFolder> {
  const { join } = await import('node:path');
  const createSession = resolveDevice(options.device ?? 'cpu').runtime === 'web' ? (await import('./web.js')).createOnnxModel : createOnnxModel;
  return openExportFolder(folderReadFile(dir), createSession, { ...options, fileName: (name) => join(dir, name) });
}

/** The loader function of each preset's export folder, for the errors that point to it. */
const FOLDER_LOADERS: Readonly<Record<Preset, string>> = Object.freeze({
  'decoder-lm': 'loadExportFolder',
  'encoder-classifier': 'loadExportFolder',
  'vit-classifier': 'loadVitFolder',
  'encoder-decoder': 'loadSeq2SeqFolder',
  'rnn-seq2seq': 'loadRnnSeq2SeqFolder',
  'canvas-classifier': 'loadVitFolder',
  'stn-classifier': 'loadVitFolder',
  'image-captioner': 'openExport',
  'vision-encoder-decoder': 'openExport',
  'glimpse-classifier': 'loadVitFolder',
});

/** The kinds of the one-graph text folders (TextModelSession): language models and text classifiers. */
const textModelPresets = (): Preset[] => [...presetsFor('text-generation'), ...presetsFor('text-classification')];

/** An `accept` for openExport that refuses every preset but `presets`, naming the loader to use. */
function acceptOnly(presets: readonly Preset[]): (config: ModelConfig, configFile: string) => void {
  return (config, configFile) => {
    if (presets.includes(config.preset)) return;
    const use = FOLDER_LOADERS[config.preset];
    if (presets.length === 1) throw new CheckpointError(`${configFile}: preset '${config.preset}', not ${exportKind(presets[0]!)} (use ${use})`);
    const graphs = layoutGraphs(EXPORT_LAYOUTS[config.preset]).map((g) => g.file);
    throw new CheckpointError(`${configFile}: ${exportKind(config.preset)} (${graphs.join(' + ')}); load it with ${use}`);
  };
}

/** A one-graph text export folder: its model and tokenizer, and what openExport returns. */
export interface ExportFolder extends Omit<OpenedExportFolder, 'sessions' | 'tokenizer'> {
  /** A decoder-lm's KV-cache graph, or the forward graph of a classifier (or of an LM exported without its cache). */
  model: TextModelSession;
  tokenizer: Tokenizer;
}

/**
 * Loads a decoder-lm or encoder-classifier export folder (transformers.js layout, see
 * folder.ts): checks that its files are there, that config.json is an attend export and matches
 * the model, and loads the tokenizer.
 */
export async function loadExportFolder(folder: string, options: SessionOptions = {}): Promise<ExportFolder> {
  const { sessions, tokenizer, ...rest } = await openExport(folder, { ...withoutSource(options), accept: acceptOnly(textModelPresets()) });
  return { ...rest, model: (sessions as { model: TextModelSession }).model, tokenizer: tokenizer! }; // the accepted kinds' sessions
}

/**
 * Loads an image classifier's export folder (a vit-classifier's in the vit layout, see folder.ts;
 * canvas- and stn-classifier alike): config.json, preprocessor_config.json (vit) and the graph
 * (pixel_values → logits), checked against config.json.
 */
export async function loadVitFolder(folder: string, options: SessionOptions = {}): Promise<ImageClassifierSession> {
  const { sessions } = await openExport(folder, { ...withoutSource(options), accept: acceptOnly(presetsFor('image-classification')) });
  return (sessions as { model: ImageClassifierSession }).model; // the accepted kinds' session
}

export interface Seq2SeqExportFolder extends Omit<OpenedExportFolder, 'sessions' | 'tokenizer'> {
  model: OnnxSeq2SeqModel;
  tokenizer: Tokenizer;
}

/**
 * Loads an encoder–decoder export folder (marian layout, see folder.ts): its files, the
 * tokenizer, and both graphs, each checked against config.json.
 */
export async function loadSeq2SeqFolder(folder: string, options: SessionOptions = {}): Promise<Seq2SeqExportFolder> {
  const { model, ...rest } = await loadTwoGraphFolder(folder, 'encoder-decoder', options);
  return { ...rest, model: checkSeq2SeqModel(model) };
}

export interface RnnSeq2SeqExportFolder extends Omit<OpenedExportFolder, 'sessions' | 'tokenizer'> {
  model: OnnxRnnSeq2SeqModel;
  tokenizer: Tokenizer;
}

/**
 * Loads an rnn-seq2seq export folder (attend-only layout, see folder.ts): its files, the
 * tokenizer, and the encoder and decoder-step graphs, each checked against config.json.
 */
export async function loadRnnSeq2SeqFolder(folder: string, options: SessionOptions = {}): Promise<RnnSeq2SeqExportFolder> {
  const { model, ...rest } = await loadTwoGraphFolder(folder, 'rnn-seq2seq', options);
  return { ...rest, model: checkRnnSeq2SeqModel(model) };
}

async function loadTwoGraphFolder(folder: string, preset: 'encoder-decoder' | 'rnn-seq2seq', options: SessionOptions) {
  const { sessions, tokenizer, ...rest } = await openExport(folder, { ...withoutSource(options), accept: acceptOnly([preset]) });
  return { ...rest, model: sessions as { encoder: OnnxModel; decoder: OnnxModel }, tokenizer: tokenizer! };
}

/** Session options without `source`: the loader names each graph by its file. */
function withoutSource(options: SessionOptions): Omit<SessionOptions, 'source'> {
  const { source: _, ...rest } = options;
  return rest;
}

/**
 * Exports the checkpoint folder `checkpointDir` (config.json, model.safetensors,
 * tokenizer.json) to `outDir` in the transformers.js layout (gpt2, marian, bert or vit, see
 * folder.ts), or attend's rnn-seq2seq layout. Atomic (@attend/core/node's writeFolderAtomic):
 * written to a temporary folder beside `outDir`, fsynced, then renamed over it.
 */
export async function exportFolder(checkpointDir: string, outDir: string, options: ExportFolderOptions = {}): Promise<void> {
  const files = await readCheckpointFolder(checkpointDir, [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.tokenizer]);
  await writeFolderAtomic(outDir, exportFolderParts(files, { ...options, dir: checkpointDir }), { replaces: EXPORT_ENTRIES });
}

/** Every file an export folder can have: an earlier export's, replaced (or dropped) by the next. */
const EXPORT_ENTRIES = [...new Set([...Object.values(EXPORT_FILES), ...Object.values(EXPORT_LAYOUTS).flatMap((layout) => [...layoutGraphs(layout), ...Object.values(layout.optionalGraphs ?? {})].map((graph) => graph.file))])];
/** Every file a Triton model folder can have (see triton.ts). */
const TRITON_MODEL_ENTRIES = ['config.pbtxt', '1/model.onnx', EXPORT_FILES.config, EXPORT_FILES.tokenizer, EXPORT_FILES.preprocessorConfig];

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
    if (bytes) files[name] = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
  for (const [name, files] of Object.entries(models)) await writeFolderAtomic(path.join(repositoryDir, name), files, { replaces: TRITON_MODEL_ENTRIES });
  return Object.keys(models);
}

async function readBytes(file: string, type: new (message: string) => Error): Promise<Uint8Array> {
  try {
    return await readFileBytes(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new type(code === 'ENOENT' ? `${file}: missing (no such file)` : `${file}: cannot read (${(error as Error).message})`);
  }
}

/** Exports the forward graph of the checkpoint folder `dir` (config.json + model.safetensors). */
export async function exportCheckpoint(dir: string, options: ExportOptions = {}): Promise<Uint8Array> {
  return exportCheckpointFiles(await readCheckpointFolder(dir, [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights]), { ...options, dir });
}

/**
 * Teacher-forced logits (and attention rows, when the kind has them) of a captioner's export
 * folder (task image-to-text) on onnxruntime-node (cpu), through its kind's `captionLogits`
 * (the vision-encoder-decoder's one word at a time through the decoder's caches, as
 * transformers.js runs it), read as `options` says (a hard captioner's `hardInference`, refused
 * for any other model). Sessions are released before it returns.
 */
export async function captionFolderLogits(dir: string, pixels: Float32Array, target: CaptionTarget, options: CaptionRunOptions = {}): Promise<{ logits: Float32Array; attention?: Float32Array }> {
  const { join } = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const configFile = join(dir, EXPORT_FILES.config);
  const config = imageToTextConfig(readFolderConfig(await readFile(configFile), configFile), 'captionFolderLogits');
  const kind = runtimeKind(config);
  const { graphs } = kind.layout;
  if (!kind.captionLogits || !('encoder' in graphs)) throw new OnnxModelError(`${dir} holds ${exportKind(config.preset)}, whose captions captionFolderLogits cannot run`);
  if (options.hardInference) hardCaptionerConfig(config, options.hardInference);
  const encoder = await ort.InferenceSession.create(await readFile(join(dir, graphs.encoder.file)));
  try {
    const decoder = await ort.InferenceSession.create(await readFile(join(dir, graphs.decoder.file)));
    try {
      return await kind.captionLogits(ort, { encoder, decoder }, config, pixels, target, options);
    } finally {
      await decoder.release();
    }
  } finally {
    await encoder.release();
  }
}
