// The checkpoint folder format, without tfjs or the file system: its file names, and its files
// ↔ config, weights (HF-like names, Linear weights as [out, in]), tokenizer.json, trainer state
// and optimizer moments. @attend/transformer turns the weights into a tfjs model and back;
// @attend/runtime-onnx reads them for export; `@attend/core/node` reads and writes the folder.

import { parseModelConfig, type ModelConfig } from './config.js';
import { modelKind } from './models/registry.js';
import { CheckpointError, ConfigError } from './errors.js';
import { concatBytes, parseSafetensors, safetensorsParts, toFloat32, type NamedTensor } from './safetensors.js';

/** The files of a checkpoint folder; trainer state and optimizer only while training. */
export const CHECKPOINT_FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  weights: 'model.safetensors',
  trainerState: 'trainer_state.json',
  optimizer: 'optimizer.safetensors',
  /** One JSON object per evaluation (see `metricsJsonl`), written with the trainer state. */
  metrics: 'metrics.jsonl',
} as const;

/** Progress of a training run, saved beside the weights so `resume` continues where it stopped. */
export interface TrainerState {
  step: number;
  /** Best value of the early-stopping metric so far, and the step it was seen at. */
  best?: { metric: string; value: number; step: number };
  /** Evaluations so far: step and metrics. */
  evals: TrainerEval[];
  /** Training loss per logged step. */
  losses: { step: number; loss: number }[];
  /** Evaluations since the best one (for early stopping patience). */
  badEvals: number;
  /** Free-form description of how training was configured, for humans and resume checks. */
  options?: Record<string, unknown>;
  /** Wall-clock time spent training so far, over every run of a resumed training (ms). */
  elapsedMs?: number;
}

/** One evaluation of a training run. */
export interface TrainerEval {
  step: number;
  /** Dev metrics by name (`loss` is the dev loss). */
  metrics: Record<string, number>;
  /** Seconds of training (all runs) when it was taken. */
  elapsedS?: number;
  /** Mean training loss of the steps since the evaluation before. */
  trainLoss?: number;
}

/**
 * metrics.jsonl: one JSON object per evaluation, in order: `step`, `elapsed_s`, `train_loss`,
 * then each dev metric as `dev_<name>` in snake case (`dev_loss`, `dev_bleu`,
 * `dev_exact_match`, `dev_accuracy`, …). Rewritten whole with each save of the checkpoint, so
 * it always agrees with trainer_state.json and a resumed run continues it.
 */
export function metricsJsonl(state: TrainerState): string {
  const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return state.evals
    .map((e) => {
      const line: Record<string, number> = { step: e.step };
      if (e.elapsedS !== undefined) line.elapsed_s = e.elapsedS;
      if (e.trainLoss !== undefined) line.train_loss = e.trainLoss;
      for (const [name, value] of Object.entries(e.metrics)) line[`dev_${snake(name)}`] = value;
      return `${JSON.stringify(line)}\n`;
    })
    .join('');
}

/** AdamW moments by variable name, and the step they belong to. */
export interface OptimizerMoments<T = Float32Array> {
  step: number;
  m: Record<string, T>;
  v: Record<string, T>;
}

/** What a checkpoint holds, in checkpoint layout. */
export interface CheckpointData<Moment = Float32Array> {
  config: ModelConfig;
  weights: Record<string, NamedTensor>;
  /** The tokenizer.json object, when the run has one. */
  tokenizer?: unknown;
  trainerState?: TrainerState;
  optimizer?: OptimizerMoments<Moment>;
}

/** `name` inside `dir`, for error messages ('.' or none: the name alone). */
export function checkpointFilePath(dir: string | undefined, name: string): string {
  return dir === undefined || dir === '.' ? name : `${dir}/${name}`;
}

const jsonBytes = (x: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(x, null, 2)}\n`);

/** The files of a checkpoint as bytes. */
export function checkpointFiles(data: CheckpointData<NamedTensor>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(checkpointFileParts(data)).map(([name, parts]) => [name, concatBytes(parts)]));
}

/**
 * The files of a checkpoint, each as consecutive parts whose tensor data are views of the
 * weights (see `safetensorsParts`): written part by part, a large model is not held twice.
 */
export function checkpointFileParts(data: CheckpointData<NamedTensor>): Record<string, Uint8Array[]> {
  const files: Record<string, Uint8Array[]> = {
    [CHECKPOINT_FILES.config]: [jsonBytes(data.config)],
    [CHECKPOINT_FILES.weights]: safetensorsParts(data.weights, { format: 'pt', producer: 'attend' }),
  };
  if (data.tokenizer !== undefined) files[CHECKPOINT_FILES.tokenizer] = [jsonBytes(data.tokenizer)];
  if (data.trainerState) {
    files[CHECKPOINT_FILES.trainerState] = [jsonBytes(data.trainerState)];
    files[CHECKPOINT_FILES.metrics] = [new TextEncoder().encode(metricsJsonl(data.trainerState))];
  }
  if (data.optimizer) {
    const tensors: Record<string, NamedTensor> = {};
    for (const [prefix, store] of [['m', data.optimizer.m], ['v', data.optimizer.v]] as const) {
      for (const [name, t] of Object.entries(store)) tensors[`${prefix}.${name}`] = t;
    }
    files[CHECKPOINT_FILES.optimizer] = safetensorsParts(tensors, { step: String(data.optimizer.step) });
  }
  return files;
}

/**
 * Reads checkpoint files held in memory: config.json and model.safetensors are required, the
 * others optional. Every problem is a one-line CheckpointError naming the file inside `dir`.
 */
export function parseCheckpointFiles(files: Record<string, Uint8Array>, dir?: string): CheckpointData {
  const where = (name: string): string => checkpointFilePath(dir, name);
  const dec = new TextDecoder('utf-8', { fatal: true });
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
  const weights = parseSafetensors(weightBytes, { source: where(CHECKPOINT_FILES.weights) }).tensors;
  checkWeights(config, weights, where(CHECKPOINT_FILES.weights));
  const data: CheckpointData = { config, weights };
  const tokenizer = json(CHECKPOINT_FILES.tokenizer);
  if (tokenizer !== undefined) data.tokenizer = tokenizer;
  const state = json(CHECKPOINT_FILES.trainerState);
  if (state !== undefined) data.trainerState = parseTrainerState(state, where(CHECKPOINT_FILES.trainerState));
  const optimizer = files[CHECKPOINT_FILES.optimizer];
  if (optimizer) data.optimizer = parseOptimizerMoments(optimizer, where(CHECKPOINT_FILES.optimizer));
  // Saved together, they count the same steps; a mismatch would resume with moments of another step.
  if (data.trainerState && data.optimizer && data.trainerState.step !== data.optimizer.step) {
    throw new CheckpointError(
      `${where(CHECKPOINT_FILES.trainerState)}: step ${data.trainerState.step} disagrees with ${where(CHECKPOINT_FILES.optimizer)}: step ${data.optimizer.step}; the two files are not from the same save`,
    );
  }
  return data;
}

/**
 * Checks checkpoint weights against their config before anything is built from them: the
 * tensors that pin the model's size have the shapes the config implies (so a config that claims
 * 20 M tokens fails here instead of allocating gigabytes), and every value is finite.
 * One-line CheckpointError naming `source` and the tensor.
 */
export function checkWeights(config: ModelConfig, weights: Record<string, NamedTensor>, source: string = CHECKPOINT_FILES.weights): void {
  for (const [name, shape] of Object.entries(modelKind(config.preset).sizedWeights(config))) {
    const t = weights[name];
    if (!t) throw new CheckpointError(`${source}: missing tensor '${name}' (config.json implies shape [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`${source}: tensor '${name}' has shape [${t.shape}], but config.json implies [${shape}]`);
    }
  }
  for (const [name, t] of Object.entries(weights)) {
    if (!FLOAT_DTYPES.has(t.dtype)) continue;
    const values = toFloat32(t, name);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) throw new CheckpointError(`${source}: tensor '${name}' holds ${values[i]} at index ${i}; weights must be finite`);
    }
  }
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F16', 'BF16', 'F32', 'F64']);

/** Checks a parsed trainer_state.json; `source` names it in errors. */
export function parseTrainerState(x: unknown, source: string = CHECKPOINT_FILES.trainerState): TrainerState {
  const s = x as Partial<TrainerState> | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new CheckpointError(`${source}: expected a JSON object`);
  if (!Number.isSafeInteger(s.step) || (s.step as number) < 0) throw new CheckpointError(`${source}: 'step' is ${JSON.stringify(s.step)}, expected a non-negative integer`);
  if (!Array.isArray(s.evals) || !Array.isArray(s.losses)) throw new CheckpointError(`${source}: 'evals' and 'losses' must be arrays`);
  return { badEvals: 0, ...s } as TrainerState;
}

/** Reads optimizer.safetensors: tensors `m.<name>` and `v.<name>`, metadata `step`. */
export function parseOptimizerMoments(bytes: Uint8Array, source: string = CHECKPOINT_FILES.optimizer): OptimizerMoments {
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
