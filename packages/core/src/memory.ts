// The memory a training step needs, estimated before a model is built, so that a run too large
// for the tfjs wasm heap is refused in one line instead of dying with `Aborted()` mid-step: the
// weights with their gradients and AdamW's two moments (4 values per parameter), plus what each
// example keeps for the backward pass (each kind's `activations`: layer activations ∝ batch ×
// tokens × dModel, attention scores ∝ batch × heads × tokens², logits ∝ batch × tokens ×
// vocabulary), times the overhead tfjs adds on top (temporaries of the backward pass, the wasm
// allocator's free blocks), measured on real runs by packages/transformer/bench/memory.mjs.

import { ConfigError } from './errors.js';
import { flopsPerToken } from './flops.js';
import type { FlopsLengths, ModelKind } from './models/kind.js';
import { hasTokens, modelKind, type ModelConfig } from './models/registry.js';

/** The most memory the tfjs wasm backend can address (wasm32): 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** The training budget under the wasm heap: 10% is left for the heap's own fragmentation and the data. */
export const TRAINING_MEMORY_BUDGET = 0.9 * WASM_HEAP_BYTES;

/**
 * Peak wasm heap of a training step over the bytes this file counts; measured with
 * `node packages/transformer/bench/memory.mjs` (the largest ratio of its runs, rounded up).
 */
export const TFJS_MEMORY_OVERHEAD = 5.5;

/** Bytes the wasm heap holds before the model: the backend's own buffers (measured, rounded up). */
export const TFJS_BASE_BYTES = 32 * 1024 ** 2;

export interface TrainingLengths extends FlopsLengths {
  batchSize: number;
}

export interface TrainingMemory {
  /** Parameters of the model (matrix weights and embeddings; biases and norms left out). */
  parameters: number;
  /** Values one example keeps for the backward pass. */
  activationsPerExample: number;
  /** Estimated peak bytes of one training step, overhead included. */
  bytes: number;
}

/** Parameters of `config`: half the forward FLOPs per token of a one-token context (each weight's multiply-add), plus an untied input embedding. */
export function parameterEstimate(config: ModelConfig): number {
  const matrices = flopsPerToken(config, { contextLength: 1, sourceLength: 1 }).total / 2;
  const tied = 'tieEmbeddings' in config && config.tieEmbeddings;
  return matrices + (hasTokens(config) && !tied ? config.vocabSize * config.dModel : 0);
}

/** The estimated peak memory of one AdamW training step of `config` at these lengths and batch size. */
export function trainingMemory(config: ModelConfig, lengths: TrainingLengths): TrainingMemory {
  for (const [field, value] of Object.entries(lengths)) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(field, `must be an integer >= 1, got ${value}`);
  }
  const parameters = parameterEstimate(config);
  const activationsPerExample = (modelKind(config.preset) as ModelKind<ModelConfig>).activations(config, lengths);
  const bytes = TFJS_BASE_BYTES + TFJS_MEMORY_OVERHEAD * 4 * (4 * parameters + lengths.batchSize * activationsPerExample);
  return { parameters, activationsPerExample, bytes };
}

/** The largest batch size whose step fits in `budget` bytes (0 when not even one example does). */
export function largestBatchThatFits(config: ModelConfig, lengths: FlopsLengths, budget: number): number {
  const one = trainingMemory(config, { ...lengths, batchSize: 1 });
  const perExample = TFJS_MEMORY_OVERHEAD * 4 * one.activationsPerExample;
  return Math.max(0, Math.floor((budget - (one.bytes - perExample)) / perExample));
}
