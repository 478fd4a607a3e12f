// A classifier's label names: config.json's optional `labels` (from an imported model's
// id2label), and the label fields a Hugging Face classifier's config.json carries.

import { ConfigError } from '../errors.js';
import { describe } from './fields.js';

/** Hugging Face's name of class i when a config names none. */
const defaultLabel = (i: number): string => `LABEL_${i}`;

/** The label names of `config`: its `labels`, else LABEL_0 … LABEL_{n−1}. */
export function labelNames(config: { numClasses: number; labels?: readonly string[] }): string[] {
  return config.labels ? [...config.labels] : Array.from({ length: config.numClasses }, (_, i) => defaultLabel(i));
}

/** `names` as a config's `labels`, or undefined when they are Hugging Face's defaults (LABEL_i), which a config leaves out. */
export function namedLabels(names: readonly string[]): string[] | undefined {
  return names.every((name, i) => name === defaultLabel(i)) ? undefined : [...names];
}

/** Checks `labels` of a config: one distinct, non-empty name per class of a classifier. */
export function validateLabels(value: unknown, config: { preset: string } & Partial<{ numClasses: number }>): string[] {
  const n = config.numClasses;
  if (n === undefined) throw new ConfigError('labels', `preset '${config.preset}' has no classes to name; remove it`);
  if (!Array.isArray(value) || value.some((x) => typeof x !== 'string' || x === '')) {
    throw new ConfigError('labels', `${describe(value)} is not allowed; expected ${n} label names (non-empty strings), one per class`);
  }
  if (value.length !== n) throw new ConfigError('labels', `${value.length} names for ${n} classes; give one name per class`);
  const twice = value.find((x, i) => value.indexOf(x) !== i);
  if (twice !== undefined) throw new ConfigError('labels', `"${twice}" names two classes; label names must be distinct`);
  return [...(value as string[])];
}

/** The label fields of a classifier's config.json: its label names, or LABEL_0 … LABEL_{n−1}. */
export function labelFields(config: { numClasses: number; labels?: readonly string[] }): Record<string, unknown> {
  const labels = labelNames(config);
  return {
    num_labels: config.numClasses,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}
