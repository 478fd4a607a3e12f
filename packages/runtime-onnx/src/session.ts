// Loading an exported graph into an ONNX Runtime session, backend-neutral: the `./node` and
// `./web` entry points pass in their runtime (onnxruntime-node or -web). The graph's attend
// metadata names its kind and graph; the kind's RuntimeKind `sessions` entry names the typed
// session (models/<kind>/session.ts) that runs it and checks its inputs before ORT sees them.

import { parseModelConfig, type ModelConfig } from '@attend/core';
import { forwardInputNames, GRAPH_KINDS, graphMainOutput, METADATA_KEYS, type GraphKind } from './graph-io.js';
import { GraphSession, OnnxModelError, type OrtRuntime } from './graph-session.js';
import { runtimeKind } from './models/registry.js';
import { readModelInfo, type ModelInfo } from './onnx/proto.js';
import { resolveDevice, type Device, type Runtime } from './devices.js';

export { asSession, GraphSession, OnnxModelError, onesMask, type SessionClass, type ForwardOutputs, type KvCache, type LayerCache, type LoadedGraph, type OrtRuntime, type OutputTensor, type TokenMatrix } from './graph-session.js';

export interface SessionOptions {
  /** Default 'cpu' (node) or 'wasm' (web). */
  device?: Device;
  /** 'cuda' only: the GPU index (CUDA provider's deviceId); default 0. */
  deviceId?: number;
  /** Fall back to CPU/WASM when a GPU device cannot start; default true. */
  allowFallback?: boolean;
  /** Intra-op threads (node); default ORT's choice. */
  numThreads?: number;
  /** Names the model in error messages; default 'model.onnx'. */
  source?: string;
}

/**
 * An attend graph in an ORT session: the typed session of its graph kind (TokenForwardSession,
 * CachedLmSession, Seq2SeqEncoderSession, …), all GraphSessions; narrow with `instanceof`.
 */
export type OnnxModel = GraphSession;

export const OnnxModel = {
  /** Loads graph bytes on a device (falling back as SessionOptions says) into the session class its kind registers for its graph. */
  async create(ort: OrtRuntime, runtime: Runtime, bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
    const source = options.source ?? 'model.onnx';
    const { info, config, graph } = inspectModel(bytes, source);
    const Session = runtimeKind(config).sessions[graph]!; // inspectModel refused a graph without one
    const fallbacks: { device: Device; reason: string }[] = [];
    let resolved = resolveDevice(options.device ?? (runtime === 'node' ? 'cpu' : 'wasm'), runtime, options.deviceId === undefined ? {} : { deviceId: options.deviceId });
    for (;;) {
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: resolved.executionProviders,
          ...(options.numThreads ? { intraOpNumThreads: options.numThreads } : {}),
          logSeverityLevel: 3,
        });
        return new Session({ ort, session, config, info, graph, device: resolved.device, fallbacks, source });
      } catch (error) {
        const reason = firstLine(error);
        if (resolved.fallback && (options.allowFallback ?? true)) {
          fallbacks.push({ device: resolved.device, reason });
          resolved = resolveDevice(resolved.fallback, runtime);
          continue;
        }
        throw new OnnxModelError(`${source}: ONNX Runtime could not load the model on '${resolved.device}': ${reason}`);
      }
    }
  },
};

/** Reads the model's header and attend metadata; a corrupt or foreign file is a one-line OnnxModelError. */
export function inspectModel(bytes: Uint8Array, source = 'model.onnx'): { info: ModelInfo; config: ModelConfig; graph: GraphKind } {
  let info: ModelInfo;
  try {
    info = readModelInfo(bytes);
  } catch (error) {
    throw new OnnxModelError(`${source}: not an ONNX model (${firstLine(error)})`);
  }
  const configText = info.metadata[METADATA_KEYS.config];
  if (configText === undefined) {
    throw new OnnxModelError(`${source}: an ONNX model, but not an attend export (no '${METADATA_KEYS.config}' metadata; producer '${info.producerName || 'unknown'}')`);
  }
  let config: ModelConfig;
  try {
    config = parseModelConfig(configText, `${source} metadata '${METADATA_KEYS.config}'`);
  } catch (error) {
    throw new OnnxModelError(firstLine(error));
  }
  const graph: GraphKind = GRAPH_KINDS.find((k) => k === info.metadata[METADATA_KEYS.graph]) ?? 'forward';
  const missing = forwardInputNames(config, graph).filter((n) => !info.inputs.includes(n));
  if (missing.length > 0 || !info.outputs.includes(graphMainOutput(graph)) || !runtimeKind(config).sessions[graph]) {
    throw new OnnxModelError(`${source}: not an attend ${graph} graph (inputs [${info.inputs.join(', ')}], outputs [${info.outputs.join(', ')}])`);
  }
  return { info, config, graph };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}
