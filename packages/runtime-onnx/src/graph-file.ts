// The two ends of every graph export: a checkpoint's config and weights, read from its files
// held in memory, and a built graph as ModelProto bytes with attend's producer and metadata
// (the graph I/O contract in graph-io.ts).

import { CHECKPOINT_FILES, checkpointFilePath, concatBytes, mergeLora, parseCheckpointFiles, type ModelConfig, type NamedTensor } from '@attend/core';
import { METADATA_KEYS, PRODUCER_NAME, PRODUCER_VERSION, type GraphKind } from './graph-io.js';
import { GraphBuilder } from './onnx/graph.js';
import { encodeModelParts } from './onnx/proto.js';

/**
 * The config and weights of a checkpoint held in memory (`config.json`, `model.safetensors`);
 * errors name the file. LoRA adapters are merged into the weights (core `mergeLora`): graphs
 * hold the plain weights and the config without `lora`.
 */
export function readCheckpointFiles(files: Record<string, Uint8Array>, dir?: string): { config: ModelConfig; tensors: Record<string, NamedTensor>; source: string } {
  const { config: configFile, weights } = CHECKPOINT_FILES;
  const only = (name: string): Record<string, Uint8Array> => (files[name] ? { [name]: files[name] } : {});
  const parsed = parseCheckpointFiles({ ...only(configFile), ...only(weights) }, dir);
  const { config, weights: tensors } = mergeLora(parsed.config, parsed.weights);
  return { config, tensors, source: checkpointFilePath(dir, weights) };
}

/** A file's bytes, whole or as parts to be written one after another (encodeGraphParts). */
export type FileBytes = Uint8Array | readonly Uint8Array[];

/**
 * ModelProto bytes of the graph `build` writes into a builder named `name`, tagged with
 * `config` and `graph`; `fused` lets it use ONNX Runtime's com.microsoft operators.
 */
export function encodeGraph(config: ModelConfig, graph: GraphKind, name: string, build: (g: GraphBuilder) => void, fused = false): Uint8Array {
  return concatBytes(encodeGraphParts(config, graph, name, build, fused));
}

/**
 * encodeGraph's bytes as parts (onnx/proto.ts `encodeModelParts`): the large weights are views,
 * not copies, so writing a graph to a file part by part needs no second copy of its weights.
 */
export function encodeGraphParts(config: ModelConfig, graph: GraphKind, name: string, build: (g: GraphBuilder) => void, fused = false): Uint8Array[] {
  const g = new GraphBuilder(name, fused);
  build(g);
  return encodeModelParts(
    g.toModel({
      producerName: PRODUCER_NAME,
      producerVersion: PRODUCER_VERSION,
      docString: `attend ${config.preset} ${graph} graph`,
      metadata: { [METADATA_KEYS.config]: JSON.stringify(config), [METADATA_KEYS.graph]: graph },
    }),
  );
}
