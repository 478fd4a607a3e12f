// exportForward: one ONNX graph of a model from its ModelConfig and checkpoint weights — the
// plain forward graph of a Transformer kind, or the decoder-lm's KV-cache graph. Which builder
// runs is the kind's entry in the runtime registry (models/registry.ts); the Transformer graphs
// themselves are in transformer-graph.ts.

import { CHECKPOINT_FILES, concatBytes, ConfigError, type ModelConfig, type NamedTensor } from '@attend/core';
import { encodeGraphParts, readCheckpointFiles } from './graph-file.js';
import { RUNTIME_KINDS, runtimeKind } from './models/registry.js';
import type { ForwardGraphKind } from './models/kind.js';
import { WeightReader } from './weights.js';

export interface ExportOptions {
  /**
   * Also output the attention weights [batch, heads, queries, keys] of every layer:
   * `attentions.{i}` for the classifier and the LM; `encoder_attentions.{i}`,
   * `decoder_attentions.{i}` and `cross_attentions.{i}` for the encoder–decoder. Default false.
   */
  withAttention?: boolean;
  /** Names the weights file in error messages; default 'model.safetensors'. */
  source?: string;
  /**
   * decoder-lm only: build the KV-cache graph (position_ids and past_key_values inputs,
   * present outputs) instead of the plain forward graph. Default false. 'shared': the KV-cache
   * graph over caches of maxSeqLen positions that each call updates in place (com.microsoft
   * GroupQueryAttention; implies `optimize`; run by kv-cache.ts on onnxruntime-node's CPU).
   */
  kvCache?: boolean | 'shared';
  /**
   * Write the graph with ONNX Runtime's com.microsoft fused operators (MultiHeadAttention,
   * RotaryEmbedding, FastGelu/BiasGelu) where they cover the model
   * (see transformer-graph.ts); such a graph runs on ONNX Runtime only and has no attention
   * weight outputs. Default false: standard ONNX operators.
   */
  optimize?: boolean;
}

/**
 * ONNX ModelProto bytes of the forward graph. `tensors` are checkpoint weights
 * (model.safetensors layout: Linear weights [out, in]); every tensor must be used.
 */
export function exportForward(config: ModelConfig, tensors: Record<string, NamedTensor>, options: ExportOptions = {}): Uint8Array {
  return concatBytes(exportForwardParts(config, tensors, options));
}

/**
 * exportForward's bytes as parts whose large weights are views (graph-file.ts `encodeGraphParts`):
 * for writing to a file. `transposed`: Linear weights of these `tensors` already transposed, shared
 * with other graphs of the same export (`exportCheckpointGraphs`).
 */
export function exportForwardParts(config: ModelConfig, tensors: Record<string, NamedTensor>, options: ExportOptions = {}, transposed?: Map<string, Float32Array>): Uint8Array[] {
  const builds = runtimeKind(config).forward;
  if ('none' in builds) throw new ConfigError('preset', `'${config.preset}' ${builds.none}`);
  const graph: ForwardGraphKind = options.kvCache === 'shared' ? 'decoder-shared-cache' : options.kvCache ? 'decoder-with-past' : 'forward';
  const build = builds[graph];
  if (!build) throw new ConfigError('preset', `the KV-cache export is for ${presetsWith(graph)}, got '${config.preset}'`);
  if (graph === 'decoder-shared-cache' && options.withAttention) throw new ConfigError('withAttention', 'the shared-cache graph has no attention weight outputs (GroupQueryAttention computes none)');
  const weights = new WeightReader(tensors, options.source ?? CHECKPOINT_FILES.weights, transposed);
  const fused = (options.optimize ?? false) || graph === 'decoder-shared-cache';
  const parts = encodeGraphParts(config, graph, `attend-${config.preset}`, (g) => build(config, weights, g, options.withAttention ?? false), fused);
  weights.checkAllUsed();
  return parts;
}

/** "'decoder-lm'": the kinds that build `graph`, quoted. */
function presetsWith(graph: ForwardGraphKind): string {
  return Object.entries(RUNTIME_KINDS)
    .filter(([, kind]) => !('none' in kind.forward) && kind.forward[graph] !== undefined)
    .map(([preset]) => `'${preset}'`)
    .join(' or ');
}

/** Exports from checkpoint files held in memory (`config.json`, `model.safetensors`). */
export function exportCheckpointFiles(files: Record<string, Uint8Array>, options: ExportOptions & { dir?: string } = {}): Uint8Array {
  return concatBytes(exportCheckpointParts(files, options));
}

/** exportCheckpointFiles's bytes as parts whose large weights are views (`exportForwardParts`). */
export function exportCheckpointParts(files: Record<string, Uint8Array>, options: ExportOptions & { dir?: string } = {}): Uint8Array[] {
  return exportCheckpointGraphs(files, options.dir, [options])[0]!;
}

/**
 * The parts of several graphs of one checkpoint (the decoder-lm's KV-cache graph and its in-place
 * cache graph), one list per `graphs` entry: the checkpoint is read once and each Linear weight
 * transposed once, the graphs' initializers sharing those arrays, so that an export holding both
 * graphs holds the transposed weights once. The bytes are those of separate exports.
 */
export function exportCheckpointGraphs(files: Record<string, Uint8Array>, dir: string | undefined, graphs: readonly ExportOptions[]): Uint8Array[][] {
  const { config, tensors, source } = readCheckpointFiles(files, dir);
  const transposed = new Map<string, Float32Array>();
  return graphs.map((options) => exportForwardParts(config, tensors, { ...options, source }, transposed));
}
