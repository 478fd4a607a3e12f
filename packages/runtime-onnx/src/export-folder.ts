// The export-folder loader, backend-neutral (as onnxruntime's `common`): reads an export folder
// (layouts in folder.ts) through a `readFile` its caller binds — node:fs, fetch, files picked in a
// page — checks every file against config.json before any session exists, then opens the
// graphs through a `createSession` (onnxruntime-node or -web). As transformers.js's MODEL_TYPES,
// the preset alone decides which files are read and which sessions open: EXPORT_LAYOUTS.
// Every problem is one error whose message names the file.

import { checkTokenizerConfig, checkTokenizerFits, CheckpointError, hasTokens, tokenizerFromBytes, type ModelConfig, type Preset, type Tokenizer } from '@attend/core';
import type { GraphKind } from './graph-io.js';
import { EXPORT_FILES, FOLDER_GRAPHS_KEY, jsonFile, readFolderConfig, readFolderGraphs } from './folder.js';
import type { ExportLayout, LayoutGraph, OptionalLayoutGraph } from './models/kind.js';
import { RUNTIME_KINDS } from './models/registry.js';
import { inspectModel, OnnxModelError, type OnnxModel, type SessionOptions } from './session.js';
import type { Device } from './devices.js';

/** A file of the folder by its folder path ('onnx/model.onnx'); undefined when it is not there. */
export type ReadFile = (path: string) => Promise<Uint8Array | undefined>;

/** An ONNX Runtime session over graph bytes (createOnnxModel of `./node` or `./web`). */
export type CreateSession = (bytes: Uint8Array, options: SessionOptions) => Promise<OnnxModel>;

export type { ExportLayout, LayoutGraph, LayoutGraphs } from './models/kind.js';

/** The export folder layout of each preset (from the runtime registry). */
export const EXPORT_LAYOUTS: Readonly<Record<Preset, ExportLayout>> = Object.freeze(
  Object.fromEntries(Object.entries(RUNTIME_KINDS).map(([preset, kind]) => [preset, kind.layout])) as Record<Preset, ExportLayout>,
);

/** The graph files of a layout, in the order their sessions open. */
export function layoutGraphs(layout: ExportLayout): LayoutGraph[] {
  return Object.values(layout.graphs);
}

export interface ReadExportFolderOptions {
  /** How a folder path is named in errors (a disk path, a URL); default the path itself. */
  fileName?: (path: string) => string;
  /** Whether the files only transformers.js reads must be there too (the layout's transformersJsFiles); default true. */
  transformersJsFiles?: boolean;
  /** Sees config.json's ModelConfig before any other file is read; throws to refuse the folder (a preset the caller does not run). */
  accept?: (config: ModelConfig, configFile: string) => void;
}

/** An export folder whose files are all there and agree with config.json; no session yet. */
export interface CheckedExportFolder {
  config: ModelConfig;
  /** Absent for a vit-classifier (images in). */
  tokenizer?: Tokenizer;
  /** Graph bytes by folder path, in the order their sessions open. */
  graphs: Record<string, Uint8Array>;
  /** Whether the graphs output attention weights (exported with --with-attention). */
  hasAttention: boolean;
}

/** "an encoder-decoder export", "a vit-classifier export": how errors name a folder's kind. */
export function exportKind(preset: Preset): string {
  return `${/^(?:[aeiou]|rnn)/.test(preset) ? 'an' : 'a'} ${preset} export`; // "an rnn": said "ar-en-en"
}

/**
 * Reads and checks an export folder: config.json (an attend export), the tokenizer (its
 * vocabulary against the config), the other files of its layout, and each graph (an attend
 * graph of the expected kind, exported from the same config).
 */
export async function readExportFolder(readFile: ReadFile, options: ReadExportFolderOptions = {}): Promise<CheckedExportFolder> {
  const name = options.fileName ?? ((path: string) => path);
  const read = async (path: string, why: string, error: new (message: string) => Error = CheckpointError): Promise<Uint8Array> => {
    const bytes = await readFile(path);
    if (bytes === undefined) throw new error(`${name(path)}: missing (${why})`);
    return bytes;
  };
  const configFile = name(EXPORT_FILES.config);
  const configBytes = await read(EXPORT_FILES.config, 'every export has one');
  const config = readFolderConfig(configBytes, configFile);
  options.accept?.(config, configFile);
  const layout = EXPORT_LAYOUTS[config.preset];
  const kind = exportKind(config.preset);
  let tokenizer: Tokenizer | undefined;
  if (layout.tokenizer && hasTokens(config)) {
    const file = name(EXPORT_FILES.tokenizer);
    const loaded = tokenizerFromBytes(await read(EXPORT_FILES.tokenizer, 'the export needs its tokenizer'), file);
    checkTokenizerFits(loaded, config, file);
    tokenizer = loaded;
  }
  const others = options.transformersJsFiles === false ? layout.files : [...layout.files, ...layout.transformersJsFiles];
  for (const path of others) {
    const bytes = await read(path, `${kind} has one`);
    if (path === EXPORT_FILES.tokenizerConfig && tokenizer && hasTokens(config)) {
      checkTokenizerConfig(jsonFile(bytes, name(path)), tokenizer, config, name(path));
    }
  }
  const wanted = layoutGraphs(layout);
  const graphs: Record<string, Uint8Array> = {};
  let hasAttention = true;
  /** The graph `file` (why it must be there: `why`), checked to be an `expected` graph of config.json's model. */
  const readGraph = async (file: string, expected: GraphKind, why: string) => {
    const bytes = await read(file, why, OnnxModelError);
    const inspected = inspectModel(bytes, name(file));
    if (inspected.graph !== expected) throw new OnnxModelError(`${name(file)}: holds a '${inspected.graph}' graph, expected '${expected}'`);
    if (JSON.stringify(inspected.config) !== JSON.stringify(config)) throw new OnnxModelError(`${name(file)}: its config differs from ${configFile} 'attend' (files from different exports?)`);
    graphs[file] = bytes;
    return inspected.info;
  };
  for (const { file, graph, attentions } of wanted) {
    const info = await readGraph(file, graph, `${kind} needs ${wanted.map((g) => g.file).join(' and ')}`);
    if (attentions) hasAttention &&= info.outputs.some((o) => attentions.test(o));
  }
  for (const [graph, file] of Object.entries(readFolderGraphs(configBytes, configFile))) {
    const optional = layout.optionalGraphs?.[graph as GraphKind];
    if (optional?.file !== file) throw new OnnxModelError(`${configFile}: '${FOLDER_GRAPHS_KEY}' lists '${graph}' → ${file}, which ${kind} does not have${optional ? ` (its ${graph} graph is ${optional.file})` : ''}`);
    await readGraph(file, optional.graph, `${configFile} lists it`);
  }
  return { config, ...(tokenizer ? { tokenizer } : {}), graphs, hasAttention };
}

/** The sessions of an export folder by role: the layout's graphs, opened. */
export type ExportSessions = { model: OnnxModel } | { encoder: OnnxModel; decoder: OnnxModel };

export interface OpenedSessions {
  sessions: ExportSessions;
  /** The device that runs them, and the devices tried first that could not start. */
  device: Device;
  fallbacks: { device: Device; reason: string }[];
  /** Releases every session. */
  release(): Promise<void>;
}

export type OpenSessionsOptions = Omit<SessionOptions, 'source'> & Pick<ReadExportFolderOptions, 'fileName'>;

/** Opens the sessions of a checked folder; releases what it opened if one fails. */
export async function openExportSessions(folder: CheckedExportFolder, createSession: CreateSession, options: OpenSessionsOptions = {}): Promise<OpenedSessions> {
  const { fileName = (path: string) => path, ...session } = options;
  const opened: [string, OnnxModel][] = [];
  const release = async (): Promise<void> => {
    await Promise.all(opened.map(([, m]) => m.release()));
  };
  const layout = EXPORT_LAYOUTS[folder.config.preset];
  try {
    for (const [role, { file }] of Object.entries(layout.graphs) as [string, LayoutGraph][]) {
      opened.push([role, await createSession(folder.graphs[file]!, { ...session, source: fileName(file) })]);
    }
    const model = opened[0]![1];
    for (const optional of Object.values(layout.optionalGraphs ?? {})) {
      const bytes = folder.graphs[optional.file];
      if (!bytes || !optionalGraphRuns(optional, model)) continue; // not written, or not run here: the layout's graph does the work
      const extra = await createSession(bytes, { ...session, device: model.device, source: fileName(optional.file) });
      try {
        optional.attach(model, extra); // the model owns it from here: releasing the model releases it
      } catch (error) {
        await extra.release();
        throw error;
      }
    }
  } catch (error) {
    await release();
    throw error;
  }
  const first = opened[0]![1];
  return { sessions: Object.fromEntries(opened) as ExportSessions, device: first.device, fallbacks: first.fallbacks, release };
}

/**
 * Whether `optional` runs beside `model` (the layout's graph as opened): on one of its devices,
 * 'webgpu' only over a runtime whose WebGPU EP shares a buffer bound as input and output
 * (OrtRuntime `gpuCache`: onnxruntime-web's `webgpu` build, web.ts `webGpuCacheSessions`).
 */
export function optionalGraphRuns(optional: OptionalLayoutGraph, model: OnnxModel): boolean {
  return optional.devices.includes(model.device) && (model.device !== 'webgpu' || model.ortSession.ort.gpuCache !== undefined);
}

/** An export folder read, checked and opened. */
export type OpenedExportFolder = CheckedExportFolder & OpenedSessions;

export type OpenExportFolderOptions = OpenSessionsOptions & ReadExportFolderOptions;

/** Reads and checks an export folder (readExportFolder), then opens its sessions (openExportSessions). */
export async function openExportFolder(readFile: ReadFile, createSession: CreateSession, options: OpenExportFolderOptions = {}): Promise<OpenedExportFolder> {
  const { accept, transformersJsFiles, ...sessionOptions } = options;
  const folder = await readExportFolder(readFile, { ...(options.fileName ? { fileName: options.fileName } : {}), ...(accept ? { accept } : {}), ...(transformersJsFiles === undefined ? {} : { transformersJsFiles }) });
  return { ...folder, ...(await openExportSessions(folder, createSession, sessionOptions)) };
}
