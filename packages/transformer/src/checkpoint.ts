// Checkpoints as folders any tool can read: config.json (ModelConfig), tokenizer.json
// (Hugging Face format), model.safetensors (HF-like names, Linear weights as [out, in]), and
// while training trainer_state.json + optimizer.safetensors. The format itself is
// @attend/core's checkpoint-format.ts; this file turns its weights into a tfjs model and back.
// A folder is written whole by @attend/core/node's atomic folder writer, so a crash never
// leaves a half-written checkpoint.

import * as tf from '@tensorflow/tfjs-core';
import {
  CHECKPOINT_FILES,
  CheckpointError,
  checkpointFilePath,
  checkpointFiles,
  f32Tensor,
  parseCheckpointFiles,
  toFloat32,
  type ModelConfig,
  type NamedTensor,
  type OptimizerMoments,
  type TrainerState,
} from '@attend/core';
import { createModel, type AttendModel } from './models.js';
import type { NamedParam } from './params.js';
import type { AdamW } from './optimizer.js';

export { CHECKPOINT_FILES, type TrainerState } from '@attend/core';

/** A variable's values, already read (see `serializeCheckpointAsync`) or read synchronously. */
type ReadValues = (variable: tf.Variable) => Float32Array;
const readSync: ReadValues = (variable) => variable.dataSync() as Float32Array;

/** Weights in checkpoint layout: Linear kernels transposed from [in, out] to [out, in]. */
export function exportWeights(params: readonly NamedParam[]): Record<string, NamedTensor> {
  return checkpointWeights(params, readSync);
}

/** `exportWeights` over values given by `read`. */
function checkpointWeights(params: readonly NamedParam[], read: ReadValues): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const p of params) {
    const values = read(p.variable);
    const shape = p.variable.shape;
    if (p.linear) {
      const [rows, cols] = shape as [number, number];
      out[p.name] = f32Tensor([cols, rows], transpose2d(values, rows, cols));
    } else {
      out[p.name] = f32Tensor([...shape], Float32Array.from(values));
    }
  }
  return out;
}

/** Writes checkpoint-layout weights into the model; every name must match in name and shape. */
export function importWeights(params: readonly NamedParam[], tensors: Record<string, NamedTensor>, source: string = CHECKPOINT_FILES.weights): void {
  const expected = new Set(params.map((p) => p.name));
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name)) throw new CheckpointError(`${source}: unexpected tensor '${name}' (not a weight of this model config)`);
  }
  const staged: { variable: tf.Variable; values: Float32Array }[] = [];
  for (const p of params) {
    const t = tensors[p.name];
    if (!t) throw new CheckpointError(`${source}: missing tensor '${p.name}'`);
    const shape = p.variable.shape;
    const fileShape = p.linear ? [shape[1]!, shape[0]!] : shape;
    if (t.shape.length !== fileShape.length || t.shape.some((d, i) => d !== fileShape[i])) {
      throw new CheckpointError(`${source}: tensor '${p.name}' has shape [${t.shape}], expected [${fileShape}]`);
    }
    let values: Float32Array;
    try {
      values = toFloat32(t);
    } catch (error) {
      throw new CheckpointError(`${source}: tensor '${p.name}': ${(error as Error).message}`);
    }
    staged.push({ variable: p.variable, values: p.linear ? transpose2d(values, fileShape[0]!, fileShape[1]!) : values });
  }
  // Only after every tensor checked out: a bad file never leaves the model half-loaded.
  for (const { variable, values } of staged) {
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
  }
}

function transpose2d(values: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

export interface CheckpointContents {
  model: AttendModel;
  /** The tokenizer.json object, when the run has one. */
  tokenizer?: unknown;
  trainerState?: TrainerState;
  optimizer?: AdamW;
}

/**
 * The files of a checkpoint as bytes (browser-safe; `saveCheckpoint` writes them to disk). Reads
 * the weights synchronously: on a backend without fast synchronous reads (tfjs-webgpu, whose
 * `dataSync` stalls, or in a worker on SwiftShader reads zeros) use `serializeCheckpointAsync`.
 */
export function serializeCheckpoint(contents: CheckpointContents): Record<string, Uint8Array> {
  return checkpointBytes(contents, readSync);
}

/** `serializeCheckpoint` over values given by `read`. */
function checkpointBytes(contents: CheckpointContents, read: ReadValues): Record<string, Uint8Array> {
  const moments = (store: Map<string, tf.Variable>): Record<string, NamedTensor> =>
    Object.fromEntries([...store].map(([name, variable]) => [name, f32Tensor([...variable.shape], Float32Array.from(read(variable)))]));
  const opt = contents.optimizer;
  return checkpointFiles({
    config: contents.model.config,
    weights: checkpointWeights(contents.model.namedParams(), read),
    ...(contents.tokenizer !== undefined ? { tokenizer: contents.tokenizer } : {}),
    ...(contents.trainerState ? { trainerState: contents.trainerState } : {}),
    ...(opt ? { optimizer: { step: opt.step, m: moments(opt.m), v: moments(opt.v) } } : {}),
  });
}

/** `serializeCheckpoint` with every weight and moment read asynchronously first (the same bytes). */
export async function serializeCheckpointAsync(contents: CheckpointContents): Promise<Record<string, Uint8Array>> {
  const opt = contents.optimizer;
  const variables = [...contents.model.namedParams().map((p) => p.variable), ...(opt ? [...opt.m.values(), ...opt.v.values()] : [])];
  const values = await Promise.all(variables.map((v) => v.data() as Promise<Float32Array>));
  const read = new Map(variables.map((v, i) => [v, values[i]!]));
  return checkpointBytes(contents, (variable) => read.get(variable)!);
}

/**
 * Writes a checkpoint folder atomically: temp folder, then rename over the old one. `extra`
 * files (not checkpoint file names) are written into the folder with it. Reads the weights
 * asynchronously (`serializeCheckpointAsync`).
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents, extra: Record<string, Uint8Array> = {}): Promise<void> {
  const files = await serializeCheckpointAsync(contents);
  const clash = Object.keys(extra).find((name) => name in files);
  if (clash) throw new CheckpointError(`${dir}: ${clash} is a checkpoint file; it cannot be written as an extra file`);
  const { writeCheckpointFolder } = await import('@attend/core/node');
  await writeCheckpointFolder(dir, { ...files, ...extra });
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  model: AttendModel;
  tokenizer?: unknown;
  trainerState?: TrainerState;
  /** Optimizer moments by variable name, and the step they belong to. */
  optimizer?: OptimizerMoments;
}

/** Reads a checkpoint folder; every problem is a one-line CheckpointError naming the file. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { readCheckpointFolder } = await import('@attend/core/node');
  const path = await import('node:path');
  const target = path.resolve(dir);
  return deserializeCheckpoint(await readCheckpointFolder(target), target);
}

/** Builds a model from checkpoint files held in memory (browser-safe). */
export function deserializeCheckpoint(files: Record<string, Uint8Array>, dir = '.'): LoadedCheckpoint {
  // Everything is read and checked before the model is built, so a bad file leaks nothing.
  const { config, weights, tokenizer, trainerState, optimizer } = parseCheckpointFiles(files, dir);
  const model = createModel(config);
  try {
    importWeights(model.namedParams(), weights, checkpointFilePath(dir, CHECKPOINT_FILES.weights));
  } catch (error) {
    model.dispose();
    throw error;
  }
  const result: LoadedCheckpoint = { config, model };
  if (tokenizer !== undefined) result.tokenizer = tokenizer;
  if (trainerState) result.trainerState = trainerState;
  if (optimizer) result.optimizer = optimizer;
  return result;
}

/** True if `dir` holds a checkpoint, or the previous one survives an interrupted save. */
export async function checkpointExists(dir: string): Promise<boolean> {
  return (await import('@attend/core/node')).checkpointExists(dir);
}
