// Checkpoints as folders any tool can read: config.json (ModelConfig), tokenizer.json
// (Hugging Face format), model.safetensors (HF-like names, Linear weights as [out, in]), and
// while training trainer_state.json + optimizer.safetensors. A folder is written whole into a
// temporary sibling and swapped in by rename, so a crash never leaves a half-written checkpoint.

import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  ConfigError,
  f32Tensor,
  parseModelConfig,
  parseSafetensors,
  serializeSafetensors,
  toFloat32,
  type ModelConfig,
  type NamedTensor,
} from '@attend/core';
import { createModel, type AttendModel } from './models.js';
import type { NamedParam } from './params.js';
import type { AdamW } from './optimizer.js';

export const CHECKPOINT_FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  weights: 'model.safetensors',
  trainerState: 'trainer_state.json',
  optimizer: 'optimizer.safetensors',
} as const;

/** Progress of a training run, saved beside the weights so `resume` continues where it stopped. */
export interface TrainerState {
  step: number;
  /** Best value of the early-stopping metric so far, and the step it was seen at. */
  best?: { metric: string; value: number; step: number };
  /** Evaluations so far: step and metrics. */
  evals: { step: number; metrics: Record<string, number> }[];
  /** Training loss per logged step. */
  losses: { step: number; loss: number }[];
  /** Evaluations since the best one (for early stopping patience). */
  badEvals: number;
  /** Free-form description of how training was configured, for humans and resume checks. */
  options?: Record<string, unknown>;
}

/** Weights in checkpoint layout: Linear kernels transposed from [in, out] to [out, in]. */
export function exportWeights(params: readonly NamedParam[]): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const p of params) {
    const values = p.variable.dataSync() as Float32Array;
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

/** The files of a checkpoint as bytes (browser-safe; `saveCheckpoint` writes them to disk). */
export function serializeCheckpoint(contents: CheckpointContents): Record<string, Uint8Array> {
  const enc = new TextEncoder();
  const json = (x: unknown): Uint8Array => enc.encode(`${JSON.stringify(x, null, 2)}\n`);
  const params = contents.model.namedParams();
  const files: Record<string, Uint8Array> = {
    [CHECKPOINT_FILES.config]: json(contents.model.config),
    [CHECKPOINT_FILES.weights]: serializeSafetensors(exportWeights(params), { format: 'pt', producer: 'attend' }),
  };
  if (contents.tokenizer !== undefined) files[CHECKPOINT_FILES.tokenizer] = json(contents.tokenizer);
  if (contents.trainerState) files[CHECKPOINT_FILES.trainerState] = json(contents.trainerState);
  if (contents.optimizer) {
    const opt = contents.optimizer;
    const tensors: Record<string, NamedTensor> = {};
    for (const [prefix, store] of [['m', opt.m], ['v', opt.v]] as const) {
      for (const [name, variable] of store) tensors[`${prefix}.${name}`] = f32Tensor([...variable.shape], Float32Array.from(variable.dataSync() as Float32Array));
    }
    files[CHECKPOINT_FILES.optimizer] = serializeSafetensors(tensors, { step: String(opt.step) });
  }
  return files;
}

/** Writes a checkpoint folder atomically: temp folder, then rename over the old one. */
export async function saveCheckpoint(dir: string, contents: CheckpointContents): Promise<void> {
  const files = serializeCheckpoint(contents);
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const target = path.resolve(dir);
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = `${target}.tmp-${stamp}`;
  const old = `${target}.old-${stamp}`;
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.mkdir(tmp);
  try {
    for (const [name, bytes] of Object.entries(files)) {
      const handle = await fs.open(path.join(tmp, name), 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    const exists = await fs.stat(target).then(() => true, () => false);
    if (exists) await fs.rename(target, old);
    await fs.rename(tmp, target);
    if (exists) await fs.rm(old, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new CheckpointError(`${dir}: could not write checkpoint (${(error as Error).message})`);
  }
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  model: AttendModel;
  tokenizer?: unknown;
  trainerState?: TrainerState;
  /** Optimizer moments by variable name, and the step they belong to. */
  optimizer?: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> };
}

/** Reads a checkpoint folder; every problem is a one-line CheckpointError naming the file. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const target = await recoverInterruptedSwap(path.resolve(dir));
  const read = async (name: string, required: boolean): Promise<Uint8Array | undefined> => {
    const file = path.join(target, name);
    try {
      return new Uint8Array(await fs.readFile(file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError(`${file}: missing (is ${dir} a checkpoint folder?)`);
      throw new CheckpointError(`${file}: cannot read (${(error as Error).message})`);
    }
  };
  const files: Record<string, Uint8Array> = {};
  for (const [key, name] of Object.entries(CHECKPOINT_FILES)) {
    const bytes = await read(name, key === 'config' || key === 'weights');
    if (bytes) files[name] = bytes;
  }
  return deserializeCheckpoint(files, target);
}

/** Builds a model from checkpoint files held in memory (browser-safe). */
export function deserializeCheckpoint(files: Record<string, Uint8Array>, dir = '.'): LoadedCheckpoint {
  const dec = new TextDecoder('utf-8', { fatal: true });
  const where = (name: string): string => (dir === '.' ? name : `${dir}/${name}`);
  const text = (name: string): string | undefined => {
    const bytes = files[name];
    if (!bytes) return undefined;
    try {
      return dec.decode(bytes);
    } catch {
      throw new CheckpointError(`${where(name)}: not valid UTF-8 text`);
    }
  };
  const json = (name: string): unknown => {
    const t = text(name);
    if (t === undefined) return undefined;
    try {
      return JSON.parse(t);
    } catch (error) {
      throw new CheckpointError(`${where(name)}: not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
    }
  };
  const configText = text(CHECKPOINT_FILES.config);
  if (configText === undefined) throw new CheckpointError(`${where(CHECKPOINT_FILES.config)}: missing`);
  let config: ModelConfig;
  try {
    config = parseModelConfig(configText, where(CHECKPOINT_FILES.config));
  } catch (error) {
    if (error instanceof ConfigError) throw new CheckpointError(error.message);
    throw error;
  }
  const weightBytes = files[CHECKPOINT_FILES.weights];
  if (!weightBytes) throw new CheckpointError(`${where(CHECKPOINT_FILES.weights)}: missing`);
  const { tensors } = parseSafetensors(weightBytes, { source: where(CHECKPOINT_FILES.weights) });
  // Everything is read and checked before the model is built, so a bad file leaks nothing.
  const tokenizer = json(CHECKPOINT_FILES.tokenizer);
  const state = json(CHECKPOINT_FILES.trainerState);
  const trainerState = state === undefined ? undefined : checkTrainerState(state, where(CHECKPOINT_FILES.trainerState));
  const optBytes = files[CHECKPOINT_FILES.optimizer];
  const optimizer = optBytes ? parseOptimizerState(optBytes, where(CHECKPOINT_FILES.optimizer)) : undefined;
  const model = createModel(config);
  try {
    importWeights(model.namedParams(), tensors, where(CHECKPOINT_FILES.weights));
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

function parseOptimizerState(bytes: Uint8Array, source: string): NonNullable<LoadedCheckpoint['optimizer']> {
  const parsed = parseSafetensors(bytes, { source });
  const step = Number(parsed.metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointError(`${source}: metadata 'step' is ${JSON.stringify(parsed.metadata.step)}, expected a non-negative integer`);
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(parsed.tensors)) {
    const dot = name.indexOf('.');
    const kind = name.slice(0, dot);
    if (kind !== 'm' && kind !== 'v') throw new CheckpointError(`${source}: unexpected tensor '${name}' (expected m.* or v.*)`);
    (kind === 'm' ? m : v)[name.slice(dot + 1)] = toFloat32(t, name);
  }
  return { step, m, v };
}

function checkTrainerState(x: unknown, source: string): TrainerState {
  const s = x as Partial<TrainerState> | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new CheckpointError(`${source}: expected a JSON object`);
  if (!Number.isSafeInteger(s.step) || (s.step as number) < 0) throw new CheckpointError(`${source}: 'step' is ${JSON.stringify(s.step)}, expected a non-negative integer`);
  if (!Array.isArray(s.evals) || !Array.isArray(s.losses)) throw new CheckpointError(`${source}: 'evals' and 'losses' must be arrays`);
  return { badEvals: 0, ...s } as TrainerState;
}

/** True if `dir` holds a checkpoint, or the previous one survives an interrupted save. */
export async function checkpointExists(dir: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const target = path.resolve(dir);
  if (await fs.stat(target).then(() => true, () => false)) return true;
  return (await interruptedSwaps(target)).length > 0;
}

/** `<dir>.old-*` siblings left by a save interrupted between its two renames, newest first. */
async function interruptedSwaps(target: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const parent = path.dirname(target);
  const base = path.basename(target);
  const entries = (await fs.readdir(parent).catch(() => [] as string[])).filter((e) => e.startsWith(`${base}.old-`));
  const dated = await Promise.all(entries.map(async (e) => ({ e, t: (await fs.stat(path.join(parent, e))).mtimeMs })));
  return dated.sort((a, b) => b.t - a.t).map(({ e }) => path.join(parent, e));
}

/** If a save was interrupted between its two renames, the previous checkpoint sits at `<dir>.old-*`. */
async function recoverInterruptedSwap(target: string): Promise<string> {
  const fs = await import('node:fs/promises');
  if (await fs.stat(target).then(() => true, () => false)) return target;
  const [newest] = await interruptedSwaps(target);
  if (!newest) throw new CheckpointError(`${target}: no such checkpoint folder`);
  await fs.rename(newest, target);
  return target;
}
