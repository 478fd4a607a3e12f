// A Hugging Face model folder held in memory, and the helpers each model_type's importer shares:
// reading config.json fields (one-line errors naming the field and what is allowed), taking
// tensors by their Hugging Face names (prefix and old LayerNorm names accepted), converting
// them to attend's checkpoint layout (float32, Linear weights [out, in]), and special-token ids.

import { CheckpointError, ConfigError } from '../errors.js';
import type { ModelConfig } from '../config.js';
import { describe } from '../models/fields.js';
import { createRng } from '../random.js';
import { f32Tensor, toFloat32, type NamedTensor } from '../safetensors.js';

/** The file names of a Hugging Face model folder. */
export const HF_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  index: 'model.safetensors.index.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  preprocessorConfig: 'preprocessor_config.json',
} as const;

/** The files of a Hugging Face model folder, parsed. */
export interface HfModel {
  /** config.json. */
  config: Record<string, unknown>;
  /** Every tensor of model.safetensors (or of the shards the index names), by its Hugging Face name. */
  weights: Record<string, NamedTensor>;
  /** tokenizer.json, when present. */
  tokenizer?: unknown;
  /** tokenizer_config.json, when present. */
  tokenizerConfig?: Record<string, unknown>;
  /** generation_config.json, when present. */
  generationConfig?: Record<string, unknown>;
  /** preprocessor_config.json (an image model's), when present. */
  preprocessorConfig?: Record<string, unknown>;
  /** The folder, for messages. */
  source: string;
}

/** What one model_type's importer makes: an attend config, its weights in checkpoint layout, and notes for the user. */
export interface ImportedModel {
  config: ModelConfig;
  weights: Record<string, NamedTensor>;
  notes: string[];
}

/**
 * Where the Linear modules and LayerNorms of attend's layer `i` live in a Hugging Face layer: the
 * importer reads its weights through this table, the exporter (hf-export) writes them through it,
 * and LoRA adapters are named through it in PEFT's layout.
 */
export interface HfLayerLinears {
  /** attend's layer prefix (`decoder.layers`); layer i is `${attendLayers}.${i}`. */
  readonly attendLayers: string;
  /** The Hugging Face layer prefix under the base prefix (`h`, `encoder.layer`). */
  readonly hfLayers: string;
  /**
   * attend module under a layer (`self_attn.q_proj`) → the Hugging Face module under a layer and,
   * for a fused module (GPT-2's `c_attn`), which of its `parts` equal output slices it is.
   */
  readonly modules: Readonly<Record<string, { module: string; part?: number; parts?: number }>>;
  /** Weights stored [in, out] (GPT-2's Conv1D; PEFT's `fan_in_fan_out`). */
  readonly conv1d: boolean;
  /** attend LayerNorm under a layer (`self_attn_layer_norm`) → the Hugging Face one under a layer (`ln_1`). */
  readonly norms: Readonly<Record<string, string>>;
}

/** How one Hugging Face model_type becomes an attend model kind. */
export interface HfImporter {
  /** config.json `architectures` this importer reads. */
  readonly architectures: readonly string[];
  /** The base model's prefix in a head model's files (`transformer.`, `bert.`), accepted or not. */
  readonly basePrefix: string;
  /** The layers' Linear modules and LayerNorms, both names. */
  readonly linears: HfLayerLinears;
  /**
   * The tensors outside the layers, attend name → Hugging Face name (under the base prefix
   * unless it is one of `heads`): the same values, reshaped where the layouts differ.
   */
  readonly tensors: Readonly<Record<string, string>>;
  /** Hugging Face tensors of the head model, outside the base prefix (`lm_head.weight`, `classifier.*`). */
  readonly heads: readonly string[];
  import(model: HfModel, config: HfConfig, weights: HfWeights): ImportedModel;
}

/** [out, in] of the Linear module `name` of a Transformer layer (attend's names): fc1 widens to dFf, fc2 narrows back, the rest keep d. */
export function linearShape(name: string, d: number, dFf: number): [number, number] {
  return name === 'fc1' ? [dFf, d] : name === 'fc2' ? [d, dFf] : [d, d];
}

/** Reads config.json fields; every problem names config.json and the field. */
export class HfConfig {
  constructor(
    readonly raw: Record<string, unknown>,
    private readonly source: string,
  ) {}

  private fail(field: string, problem: string): never {
    throw new ConfigError(`${this.source}: ${field}`, problem);
  }

  /** An integer >= min. */
  int(field: string, min = 1): number {
    const x = this.raw[field];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) this.fail(field, `${describe(x)} is not allowed; expected an integer >= ${min}`);
    return x as number;
  }

  /** An integer >= min, or `fallback` when absent or null. */
  optionalInt(field: string, fallback: number, min = 1): number {
    return this.raw[field] === undefined || this.raw[field] === null ? fallback : this.int(field, min);
  }

  /** A finite number in [min, max), or `fallback` when absent. */
  number(field: string, fallback: number, min = 0, max = 1): number {
    const x = this.raw[field] ?? fallback;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x >= max) this.fail(field, `${describe(x)} is not allowed; expected a number in [${min}, ${max})`);
    return x as number;
  }

  /** A boolean, or `fallback` when absent. */
  bool(field: string, fallback: boolean): boolean {
    const x = this.raw[field] ?? fallback;
    if (typeof x !== 'boolean') this.fail(field, `${describe(x)} is not allowed; expected true or false`);
    return x as boolean;
  }

  /** The value of `field` (or `fallback` when absent) mapped through `allowed`; anything else names what is supported. */
  oneOf<T>(field: string, fallback: string | null, allowed: Readonly<Record<string, T>>): T {
    const x = this.raw[field] ?? fallback;
    if (typeof x !== 'string' || !Object.hasOwn(allowed, x)) this.fail(field, `${describe(x)} is not supported; attend imports ${Object.keys(allowed).join(', ')}`);
    return allowed[x as string]!;
  }

  /** Refuses a field whose value is not the one attend implements (absent is fine). */
  only(field: string, supported: unknown, what: string): void {
    const x = this.raw[field];
    if (x !== undefined && x !== null && x !== supported) this.fail(field, `${describe(x)} is not supported; attend imports ${what}`);
  }

  /** The label names of a classifier head (id2label, or num_labels LABEL_i), or undefined when the config names none. */
  labels(): string[] | undefined {
    const map = this.raw.id2label;
    if (map !== undefined && map !== null) {
      if (typeof map !== 'object' || Array.isArray(map)) this.fail('id2label', `${describe(map)} is not allowed; expected an object of id -> label`);
      const entries = Object.entries(map as Record<string, unknown>);
      const labels = entries.map((_, i) => {
        const label = (map as Record<string, unknown>)[String(i)];
        if (typeof label !== 'string') this.fail('id2label', `ids must run 0..${entries.length - 1} with string labels; id ${i} is ${describe(label)}`);
        return label as string;
      });
      if (this.raw.num_labels !== undefined && this.raw.num_labels !== labels.length) this.fail('num_labels', `${describe(this.raw.num_labels)} disagrees with id2label's ${labels.length} labels`);
      return labels;
    }
    if (this.raw.num_labels === undefined) return undefined;
    return Array.from({ length: this.int('num_labels') }, (_, i) => `LABEL_${i}`);
  }
}

/**
 * The tensors of a Hugging Face checkpoint by name, with the base-model prefix stripped and
 * LayerNorm's old `gamma`/`beta` read as `weight`/`bias`. Each tensor is taken once; `rest`
 * lists what was never taken, so an unknown tensor is found rather than silently dropped.
 */
export class HfWeights {
  private readonly byName = new Map<string, { original: string; tensor: NamedTensor }>();
  private readonly taken = new Set<string>();

  constructor(
    weights: Record<string, NamedTensor>,
    prefix: string,
    private readonly source: string,
  ) {
    for (const [original, tensor] of Object.entries(weights)) {
      const name = (original.startsWith(prefix) ? original.slice(prefix.length) : original).replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
      const other = this.byName.get(name);
      if (other) throw new CheckpointError(`${source}: tensors '${other.original}' and '${original}' are the same weight '${name}'; keep one`);
      this.byName.set(name, { original, tensor });
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The float32 values of `name`, checked to have `shape`. */
  take(name: string, shape: readonly number[]): Float32Array {
    return toFloat32(this.tensor(name, shape), name);
  }

  /** `name` as an attend checkpoint tensor of the same shape: a float32 tensor as it is (no copy), others converted. */
  copy(name: string, shape: readonly number[]): NamedTensor {
    const tensor = this.tensor(name, shape);
    return tensor.dtype === 'F32' ? tensor : f32Tensor([...shape], toFloat32(tensor, name));
  }

  /** The tensor `name`, checked to have `shape`, marked as taken. */
  private tensor(name: string, shape: readonly number[]): NamedTensor {
    const entry = this.byName.get(name);
    if (!entry) throw new CheckpointError(`${this.source}: missing tensor '${name}' (shape [${shape}])`);
    const { original, tensor } = entry;
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`${this.source}: tensor '${original}' has shape [${tensor.shape}], but config.json implies [${shape}]`);
    }
    this.taken.add(name);
    return tensor;
  }

  /** Marks tensors the import does not need (buffers, other heads) as read. */
  skip(test: (name: string) => boolean): string[] {
    const skipped = [...this.byName.keys()].filter((n) => !this.taken.has(n) && test(n));
    for (const n of skipped) this.taken.add(n);
    return skipped;
  }

  /** Refuses tensors nothing took: they belong to a layout the importer does not know. */
  finish(): void {
    const rest = [...this.byName.entries()].filter(([n]) => !this.taken.has(n)).map(([, e]) => e.original);
    if (rest.length === 0) return;
    const shown = rest.slice(0, 3).map((n) => `'${n}'`).join(', ') + (rest.length > 3 ? ` and ${rest.length - 3} more` : '');
    throw new CheckpointError(`${this.source}: unexpected tensor ${shown}; the architecture has weights attend does not import`);
  }
}

/** A [rows, cols] row-major matrix transposed to [cols, rows]. */
export function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/**
 * The id of a special token: `configId` (config.json's or generation_config.json's *_token_id)
 * when given, else the token `content` names (tokenizer_config.json's *_token) looked up in
 * tokenizer.json's vocabulary or added tokens.
 */
export function specialTokenId(model: HfModel, field: string, tokenField: string): number | undefined {
  const fromConfig = model.generationConfig?.[field] ?? model.config[field];
  if (typeof fromConfig === 'number') return fromConfig;
  if (Array.isArray(fromConfig) && typeof fromConfig[0] === 'number') return fromConfig[0];
  const token = model.tokenizerConfig?.[tokenField];
  const content = typeof token === 'string' ? token : typeof token === 'object' && token !== null ? (token as { content?: unknown }).content : undefined;
  return typeof content === 'string' ? tokenIdOf(model.tokenizer, content) : undefined;
}

/** The id tokenizer.json gives `content` (added tokens first, then the model's vocabulary). */
function tokenIdOf(tokenizer: unknown, content: string): number | undefined {
  if (typeof tokenizer !== 'object' || tokenizer === null) return undefined;
  const t = tokenizer as { added_tokens?: unknown; model?: { vocab?: unknown } };
  if (Array.isArray(t.added_tokens)) {
    const found = t.added_tokens.find((a: unknown) => typeof a === 'object' && a !== null && (a as { content?: unknown }).content === content) as { id?: unknown } | undefined;
    if (typeof found?.id === 'number') return found.id;
  }
  const vocab = t.model?.vocab;
  if (typeof vocab === 'object' && vocab !== null && !Array.isArray(vocab)) {
    const id = (vocab as Record<string, unknown>)[content];
    if (typeof id === 'number') return id;
  }
  return undefined;
}

/**
 * Writes attend tensors into `out` from the Hugging Face weights `w` of width `d`: a Linear's
 * weight [out, in] and bias, a LayerNorm's weight and bias, and a classifier head — the
 * checkpoint's, or a fresh one as transformers initialises a base model's (normal, std 0.02;
 * zero bias), said in `notes`.
 */
export function tensorCopier(w: HfWeights, out: Record<string, NamedTensor>, d: number, notes: string[]) {
  const linear = (from: string, to: string, outDim: number, inDim: number): void => {
    out[`${to}.weight`] = w.copy(`${from}.weight`, [outDim, inDim]);
    out[`${to}.bias`] = w.copy(`${from}.bias`, [outDim]);
  };
  return {
    linear,
    norm(from: string, to: string): void {
      out[`${to}.weight`] = w.copy(`${from}.weight`, [d]);
      out[`${to}.bias`] = w.copy(`${from}.bias`, [d]);
    },
    /** `classifier.*` of `numClasses` labels; true when the checkpoint had one. */
    classifier(numClasses: number): boolean {
      if (w.has('classifier.weight')) {
        linear('classifier', 'classifier', numClasses, d);
        return true;
      }
      const rng = createRng(0);
      out['classifier.weight'] = f32Tensor([numClasses, d], Float32Array.from({ length: numClasses * d }, () => 0.02 * rng.normal()));
      out['classifier.bias'] = f32Tensor([numClasses], new Float32Array(numClasses));
      notes.push(`no classifier in the checkpoint: a fresh ${numClasses}-label head (random, std 0.02) to fine-tune`);
      return false;
    },
  };
}
