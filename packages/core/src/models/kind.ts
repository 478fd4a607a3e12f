// What core knows about a model kind: its config fields, defaults and checks, what it does
// (its task), and its forward FLOPs. One object per kind in `models/<kind>/`, all of them in
// `registry.ts`; code outside `models/` asks the registry instead of comparing kind names.

import type { ModuleFlops } from '../flops.js';

/**
 * What a kind does with its inputs, named after the Hugging Face pipeline tasks: the CLI's
 * commands, `attend serve`'s routes and the playground's controls follow from it.
 */
export type ModelTask = 'text-classification' | 'text-generation' | 'translation' | 'image-classification' | 'image-to-text';

/** Lengths a FLOPs count is taken at. */
export interface FlopsLengths {
  /** Keys each query attends to. */
  context: number;
  /** Source length a decoder's cross-attention reads. */
  source: number;
}

export interface ModelKind<C extends { preset: string } = { preset: string }> {
  readonly preset: C['preset'];
  readonly task: ModelTask;
  /** One line for help texts and `attend inspect`. */
  readonly description: string;
  /** Every field of the kind's config, `preset` first, in the order config.json lists them. */
  readonly fields: readonly string[];
  /** Fields added after configs of this kind were first written, with the value those files meant. */
  readonly laterFields: Readonly<Record<string, unknown>>;
  /** A small model that trains in minutes on a CPU; every field but those the caller must give. */
  defaults(): Partial<C>;
  /** Checks a record whose keys are all in `fields`; returns a clean config or throws ConfigError. */
  validate(v: Record<string, unknown>): C;
  /** Forward FLOPs per token by module (see flops.ts for what counts). */
  flops(config: C, lengths: FlopsLengths): ModuleFlops[];
  /**
   * Checkpoint tensors (file layout) whose shapes pin every size field of the config: vocabulary,
   * width, feed-forward width, layer counts, classes, patches. Checked against model.safetensors
   * before a model is built, so a config that lies about its size fails without allocating it.
   */
  sizedWeights(config: C): Record<string, number[]>;
  /**
   * Values (float32) one training example keeps for the backward pass at these lengths: each
   * layer's activations (∝ tokens × dModel and dFf), attention scores (∝ heads × queries × keys)
   * and the output logits (∝ tokens × vocabulary). The basis of `trainingMemory` (memory.ts).
   */
  activations(config: C, lengths: FlopsLengths): number;
  /**
   * The export folder's config.json: Hugging Face field names of the architecture whose
   * interface the graphs follow (gpt2, marian, bert, vit; attend's own for rnn-seq2seq), plus the
   * full config under `attend`.
   */
  hfConfig(config: C): Record<string, unknown>;
}
