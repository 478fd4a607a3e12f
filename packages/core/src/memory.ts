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

/**
 * The lengths a training batch is estimated at, from its sequences' lengths: `input` the
 * encoder's (or the only) sequence — tokens, image patches + CLS, glimpses —, `target` the
 * decoder's input of an encoder–decoder or captioner. Queries attend over the decoder's (or the
 * only) sequence; cross-attention reads the encoder's.
 */
export function batchLengths(shape: { input: number; target?: number }): FlopsLengths {
  return { context: shape.target ?? shape.input, source: shape.input };
}

/**
 * The bytes a training step may use on tfjs backend `backend`: the wasm heap's training budget
 * (wasm is the one backend whose heap is fixed), or `limit` bytes when given and lower; Infinity
 * when nothing bounds it (then there is nothing to check).
 */
export function trainingBudget(backend: string, limit?: number): number {
  return Math.min(backend === 'wasm' ? TRAINING_MEMORY_BUDGET : Infinity, limit ?? Infinity);
}

export interface MemoryFitOptions {
  /** Rows of a step's batch. */
  batchSize: number;
  /** Micro-batches each worker's rows are split into (the trainer's gradAccum). */
  gradAccum: number;
  /** Data-parallel workers, each with its own heap and ~1/workers of the rows; default 1. */
  workers?: number;
  /** Bytes one heap may hold (see trainingBudget). */
  budget: number;
}

export interface MemoryFit {
  /** Whether the step's estimate is within the budget. */
  fits: boolean;
  /** Rows of the largest share of the batch one heap trains on (the batch, or one worker's). */
  share: number;
  /** Rows of the largest micro-batch of that share: the activations alive at once. */
  microBatch: number;
  /** The estimated peak bytes of one heap in the step. */
  bytes: number;
  /** The most rows of one micro-batch that fit (0: not even one example). */
  largestMicroBatch: number;
  /** The fewest micro-batches that keep the batch and fit (0: none does). */
  gradAccum: number;
  /** The largest batch that fits with the same gradAccum and workers (0: none does). */
  batchSize: number;
  /** The estimate of one example (what is left to shrink when none fits). */
  oneExample: TrainingMemory;
}

/**
 * Whether a training step of `batchSize` rows fits in `budget` bytes, with what does when it
 * does not: its rows are split over the workers (each its own heap), each worker's share into
 * gradAccum micro-batches of consecutive rows (the trainer's split: the largest is the ceiling).
 * The one decision both `attend train` and the library's `train` take before a first step.
 */
export function memoryFit(config: ModelConfig, lengths: FlopsLengths, options: MemoryFitOptions): MemoryFit {
  const { batchSize, gradAccum, workers = 1, budget } = options;
  const share = Math.ceil(batchSize / workers);
  const microBatch = Math.ceil(share / gradAccum);
  const { bytes } = trainingMemory(config, { ...lengths, batchSize: microBatch });
  const largestMicroBatch = largestBatchThatFits(config, lengths, budget);
  return {
    fits: bytes <= budget,
    share,
    microBatch,
    bytes,
    largestMicroBatch,
    gradAccum: largestMicroBatch > 0 ? Math.ceil(share / Math.min(largestMicroBatch, share)) : 0,
    batchSize: largestMicroBatch * gradAccum * workers,
    oneExample: trainingMemory(config, { ...lengths, batchSize: 1 }),
  };
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Bytes for a message: GiB, two decimals under 1 GiB and one above; MiB under 0.01 GiB. */
export function formatGiB(bytes: number): string {
  if (bytes < 0.01 * GiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / GiB).toFixed(bytes < GiB ? 2 : 1)} GiB`;
}
