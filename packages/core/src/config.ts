// ModelConfig: the plain, JSON-serialisable description of a model that every package
// reads (tfjs layers, the ONNX exporter, the CLI). A union discriminated on `preset`: each kind
// (models/<kind>/config.ts) has only its own fields. Validated once, here, at the edge: a bad
// value gets one ConfigError naming the field, the value and what is allowed.

import { ConfigError } from './errors.js';
import { describe } from './models/fields.js';
import { validateLora } from './lora.js';
import { validateLabels } from './models/hf-labels.js';
import { MODEL_KINDS, modelKind, type ConfigOf, type ModelConfig, type Preset } from './models/registry.js';

export { describe } from './models/fields.js';
export type { ModelConfig, Preset, ConfigOf } from './models/registry.js';

/** The Transformer text presets (Vaswani et al., 2017; GPT; encoder + classifier head). */
export const TRANSFORMER_PRESETS = ['encoder-classifier', 'decoder-lm', 'encoder-decoder'] as const satisfies readonly Preset[];

/** What a caller passes for one kind: its preset, the fields without a default, any others. */
type InputOf<P extends Preset> = Partial<ConfigOf<P>> & { preset: P } & ('vocabSize' extends keyof ConfigOf<P> ? { vocabSize: number } : unknown);
export type ModelConfigInput = { [P in Preset]: InputOf<P> }[Preset];

/**
 * The fields every config.json had before ModelConfig became a union (attend 0.1): a file
 * holding all of them is in that flat layout, where fields that did not apply to its preset
 * were written anyway and ignored; loading drops them.
 */
const FLAT_FIELDS = [
  'preset', 'vocabSize', 'numClasses', 'dModel', 'numHeads', 'numEncoderLayers', 'numDecoderLayers',
  'dFf', 'maxSeqLen', 'dropout', 'norm', 'activation', 'positional', 'attention', 'localWindow',
  'tieEmbeddings', 'layerNormEps', 'pooling', 'padTokenId', 'bosTokenId', 'eosTokenId',
] as const;

/** The defaults of a preset: every field but those the caller must give (vocabSize, numClasses). */
export function presetDefaults<P extends Preset>(preset: P): Partial<ConfigOf<P>> {
  return modelKind(preset).defaults();
}

/** Fills defaults for the preset and validates; throws ConfigError on the first bad field. */
export function createModelConfig<P extends Preset>(input: InputOf<P>): ConfigOf<P>;
export function createModelConfig(input: ModelConfigInput): ModelConfig;
export function createModelConfig(input: ModelConfigInput): ModelConfig {
  return validateModelConfig({ ...modelKind(input.preset).defaults(), ...dropUndefined(input) });
}

/**
 * Parses a config.json text (or object); unknown fields, fields of another kind and missing
 * fields are errors. A file in the flat layout of attend 0.1 (see FLAT_FIELDS) still loads.
 */
export function parseModelConfig(json: string | unknown, source = 'config.json'): ModelConfig {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      // V8's message quotes the text, newlines included: keep it on one line.
      throw new ConfigError(source, `not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
    }
  }
  if (!isRecord(value)) throw new ConfigError(source, `expected a JSON object, got ${describe(value)}`);
  try {
    return validateModelConfig(fromFlatLayout(value));
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${source}: ${error.field}`, error.message.slice(error.field.length + 2));
    throw error;
  }
}

/** A flat-layout record (every FLAT_FIELDS key present) without the fields its kind does not have. */
function fromFlatLayout(value: Record<string, unknown>): Record<string, unknown> {
  if (!FLAT_FIELDS.every((field) => field in value) || typeof value.preset !== 'string' || !Object.hasOwn(MODEL_KINDS, value.preset)) return value;
  const { fields } = modelKind(value.preset);
  const all = new Set<string>(PRESET_FIELDS);
  return Object.fromEntries(Object.entries(value).filter(([key]) => fields.includes(key) || !all.has(key)));
}

/** Every field of every kind. */
const PRESET_FIELDS: readonly string[] = [...new Set(Object.values(MODEL_KINDS).flatMap((kind) => kind.fields))];

/**
 * Checks every field of a complete config; returns a clean copy holding only its kind's fields,
 * `lora` (any kind's optional field: the checkpoint holds LoRA adapters, see lora.ts) and
 * `labels` (a classifier's optional class names, see hf-labels.ts).
 */
export function validateModelConfig(input: unknown): ModelConfig {
  if (!isRecord(input)) throw new ConfigError('config', `expected an object, got ${describe(input)}`);
  if (input.preset === undefined) throw new ConfigError('preset', `missing; one of ${Object.keys(MODEL_KINDS).join(', ')}`);
  const kind = modelKind(input.preset);
  const { lora, labels, ...fields } = input;
  const value: Record<string, unknown> = { ...kind.laterFields, ...fields };
  for (const key of Object.keys(value)) {
    if (kind.fields.includes(key)) continue;
    if (PRESET_FIELDS.includes(key)) {
      const owners = Object.values(MODEL_KINDS).filter((k) => k.fields.includes(key)).map((k) => k.preset);
      throw new ConfigError(key, `preset '${kind.preset}' has no such field (it belongs to ${owners.join(', ')}); remove it`);
    }
    const hint = closest(key, kind.fields);
    throw new ConfigError(key, `unknown field for preset '${kind.preset}'${hint ? `; did you mean '${hint}'?` : ''} (known: ${kind.fields.join(', ')})`);
  }
  for (const key of kind.fields) {
    if (value[key] === undefined) throw new ConfigError(key, `missing (preset '${kind.preset}' needs it)`);
  }
  const validated: ModelConfig = kind.validate(value);
  const config = labels === undefined ? validated : { ...validated, labels: validateLabels(labels, validated) };
  return lora === undefined ? config : { ...config, lora: validateLora(lora, kind.preset) };
}

/** Size of one attention head. */
export function headDim(config: { dModel: number; numHeads: number }): number {
  return config.dModel / config.numHeads;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function dropUndefined<T extends object>(x: T): T {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;
}

/** The candidate with the smallest edit distance (case-insensitive), if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
