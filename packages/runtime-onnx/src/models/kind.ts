// RuntimeKind: what runtime-onnx knows of one model kind, in one object per kind (as
// transformers.js's MODEL_TYPES): the graphs `exportForward` can build, how a checkpoint becomes
// its export folder's graph and JSON files, and the folder's layout that the loader reads.
// The entries are in models/<kind>/, the registry in models/registry.ts.

import type { InferenceSession } from 'onnxruntime-common';
import type { ModelConfig, Translator } from '@attend/core';
import type { GraphSession, LoadedGraph } from '../graph-session.js';
import type { SourceBatch } from './encoder-decoder/session.js';
import type { CaptionRunOptions, ImageSource } from './image-captioner/session.js';
import type { OrtRuntime } from '../session.js';
import { EXPORT_FILES } from '../folder-files.js';
import type { FileBytes } from '../graph-file.js';
import type { GraphKind } from '../graph-io.js';
import type { Device } from '../devices.js';
import type { GraphBuilder } from '../onnx/graph.js';
import type { WeightReader } from '../weights.js';

/** One graph file of a layout. */
export interface LayoutGraph {
  file: string;
  graph: GraphKind;
  /** Outputs that carry attention weights; absent for a graph that never has any (the GRU encoder). */
  attentions?: RegExp;
}

/**
 * A graph a folder may hold besides its layout's (the decoder-lm's in-place cache graph): written
 * on request, listed in config.json's `attend_graphs` (graph kind → file), opened only on
 * `devices` ('webgpu' only over a runtime with GPU buffers: export-folder.ts `optionalGraphRuns`),
 * and then handed to the main session by `attach`.
 */
export interface OptionalLayoutGraph extends LayoutGraph {
  readonly devices: readonly Device[];
  /** Links the opened graph to the layout's `model` session, which then uses it and releases it with its own release(). */
  attach(model: GraphSession, extra: GraphSession): void;
}

/** The graphs of a layout by role: one model, or an encoder and a decoder (step). */
export type LayoutGraphs = { readonly model: LayoutGraph } | { readonly encoder: LayoutGraph; readonly decoder: LayoutGraph };

/** What an export folder of one preset holds. */
export interface ExportLayout {
  readonly graphs: LayoutGraphs;
  /** Whether it has tokenizer.json (text in). */
  readonly tokenizer: boolean;
  /** Other files it must hold (preprocessor_config.json of a vit folder). */
  readonly files: readonly string[];
  /** Files only transformers.js reads (the tokenizer and generation configs); checked unless the caller opts out. */
  readonly transformersJsFiles: readonly string[];
  /** Graphs the folder may also hold, by graph kind (see OptionalLayoutGraph). */
  readonly optionalGraphs?: { readonly [G in GraphKind]?: OptionalLayoutGraph };
}

/** Attention outputs of the Transformer graphs: `attentions.{i}`, `encoder_attentions.{i}`, …. */
export const LAYER_ATTENTIONS = /attentions\.\d+$/;
/** transformersJsFiles of a kind that generates text. */
export const TEXT_FILES = [EXPORT_FILES.tokenizerConfig, EXPORT_FILES.generationConfig] as const;

/** A single graph that `exportForward` builds: the plain forward graph, or one of the decoder-lm KV-cache graphs. */
export type ForwardGraphKind = Extract<GraphKind, 'forward' | 'decoder-with-past' | 'decoder-shared-cache'>;

/** The typed session class of one graph kind (models/<kind>/session.ts), built over a loaded graph. */
export type SessionClass<C extends ModelConfig> = new (loaded: LoadedGraph<C>) => GraphSession;

/** Writes the graph of `config` into `g`, reading `weights`. */
export type BuildGraph<C> = (config: C, weights: WeightReader, g: GraphBuilder, withAttention: boolean) => void;

/** A checkpoint held in memory (`config.json`, `model.safetensors`) and how to export it. */
export interface CheckpointSource {
  files: Record<string, Uint8Array>;
  /** Names the checkpoint folder in errors. */
  dir?: string;
  /** A checkpoint file's bytes; a CheckpointError naming it (`where`) when it is missing. */
  read(name: string): Uint8Array;
  where(name: string): string;
  withAttention: boolean;
  /** ExportOptions.optimize: fused ONNX Runtime operators. */
  optimize: boolean;
  /** 'shared': also write the in-place cache graph (a decoder-lm's optional graph). */
  kvCache: FolderKvCache;
}

/** Which KV-cache graphs an export folder holds: the standard one alone, or the in-place one beside it. */
export type FolderKvCache = 'standard' | 'shared';

export interface RuntimeKind<C extends ModelConfig> {
  /** The export folder's graph files and what else it holds (the loader reads this). */
  readonly layout: ExportLayout;
  /** The session class that runs each graph kind the kind exports; OnnxModel.create refuses any other. */
  readonly sessions: { readonly [G in GraphKind]?: SessionClass<C> };
  /** The graphs `exportForward` builds for the kind, or why it has none. */
  readonly forward: { readonly forward: BuildGraph<C>; readonly 'decoder-with-past'?: BuildGraph<C>; readonly 'decoder-shared-cache'?: BuildGraph<C> } | { readonly none: string };
  /** The export folder's graph files (paths as in `layout`) from the checkpoint. */
  exportGraphs(config: C, checkpoint: CheckpointSource): Record<string, FileBytes>;
  /** The export folder's JSON files besides config.json and the tokenizer's (generation_config.json, preprocessor_config.json), by path. */
  folderJson(config: C): Record<string, unknown>;
  /** An encoder–decoder's two sessions as core's Translator (what `translate` decodes with); absent for kinds that do not translate. */
  readonly translator?: (sessions: { encoder: GraphSession; decoder: GraphSession }) => Translator<SourceBatch>;
  /** A captioner's two sessions as core's Translator over images (task image-to-text); absent for kinds that do not caption. */
  readonly captioner?: (sessions: { encoder: GraphSession; decoder: GraphSession }, options?: CaptionRunOptions) => Translator<ImageSource>;
  /**
   * A captioner's teacher-forced logits [B, T, V] (and attention rows, when it has them) of the
   * captions `target` for the images `pixels`, over its two raw ONNX Runtime sessions as
   * transformers.js runs them (the parity check of `attend export`), read as `options` says; absent for kinds that do not caption.
   */
  readonly captionLogits?: (ort: OrtRuntime, sessions: { encoder: InferenceSession; decoder: InferenceSession }, config: C, pixels: Float32Array, target: CaptionTarget, options?: CaptionRunOptions) => Promise<{ logits: Float32Array; attention?: Float32Array }>;
}

/** Caption ids [B, T], each row starting with bos. */
export interface CaptionTarget {
  ids: Int32Array;
  batchSize: number;
  seqLen: number;
}
