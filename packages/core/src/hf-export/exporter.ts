// What one Hugging Face model_type's exporter adds to its importer's name tables: the attend
// config values the class fixes, config.json's remaining fields, and the tensors whose shape or
// presence differs between the layouts.

import type { ModelConfig, Preset } from '../models/registry.js';
import type { NamedTensor } from '../safetensors.js';

export interface HfExporter {
  /** The Hugging Face class written (config.json `architectures`), for messages. */
  readonly className: string;
  /** The attend kind it exports, for messages. */
  readonly kind: Preset;
  /** attend config fields the class computes one way only, with that value; any other is refused. */
  readonly fixed: Readonly<Record<string, unknown>>;
  /** Further refusals (ConfigError naming the field) of configs the class cannot hold. */
  check?(config: ModelConfig): void;
  /** config.json fields beyond the kind's hfConfig (dropouts, token ids the importer reads back). */
  config(config: ModelConfig): Record<string, unknown>;
  /** Hugging Face shapes of `HfImporter.tensors` entries stored in another shape, by attend name. */
  shapes?(config: ModelConfig): Record<string, number[]>;
  /** attend tensors of `HfImporter.tensors` a checkpoint may lack (GPT-2's untied head). */
  readonly optional?: readonly string[];
  /**
   * All the Hugging Face tensors, for a class whose layers the importer's `linears` table does
   * not describe (Marian: two stacks under attend's own module names); `name` adds the base prefix.
   */
  tensors?(config: ModelConfig, weights: Readonly<Record<string, NamedTensor>>, name: (hf: string) => string): Record<string, NamedTensor>;
  /** Tensors the Hugging Face class has and attend does not, by Hugging Face name (`name` adds the base prefix). */
  extraTensors?(config: ModelConfig, name: (hf: string) => string): Record<string, NamedTensor>;
  /** preprocessor_config.json, for an image model. */
  preprocessorConfig?(config: ModelConfig): Record<string, unknown>;
}
