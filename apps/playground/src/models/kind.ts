// PlaygroundKind: what the playground shows of one model kind, in one small object per kind
// (models/<kind>.ts), all of them in PLAYGROUND_KINDS (models/registry.ts). The page asks the
// registry (or core's `modelTask`, for what only depends on the task) and never compares preset
// names. Adding a kind: one file here and one line in the registry (the compiler asks for it).

import type { CaptionLayout, HardInference, ModelConfig } from '@attend/core';
import type { ImageResult } from '../image.js';

/** The attention panels a decoded output shows. */
export interface DecodePanels {
  /** The decoder's attention over the source tokens. */
  cross: boolean;
  /** The encoder's self-attention over the source. */
  encoder: boolean;
  /** The title of the decoder's self-attention panel; absent when the kind has none (the GRU's one attention). */
  self?: string;
}

export interface PlaygroundKind<C extends ModelConfig> {
  /** The model's shape for the status line: its attention ("4 heads", "GRU, bahdanau attention") and layers. */
  summary(config: C): { attention: string; layers: string };
  /** The panels of a decoding kind's run; absent for the classifiers, which answer in one call. */
  readonly panels?: DecodePanels;
  /** Whether a run with attention outputs shows the head view (every layer's and head's attention: self-attention over the text, an encoder–decoder's three attentions; head-view.ts). */
  readonly headView?: boolean;
  /** Draws where an image model looked at the painted canvas, from its run's outputs, into `box` (where-view.ts); absent for kinds with no such picture. */
  readonly where?: (box: HTMLElement, config: C, pixels: Float32Array, result: ImageResult) => void;
  /** Draws a run's attention over the image patches (per layer and head, and the rollout) into its two panels (where-view.ts); absent for kinds without patch attention. Called only for exports with attention outputs. */
  readonly patchAttention?: (boxes: { cls: HTMLElement; rollout: HTMLElement }, config: C, result: ImageResult) => void;
  /** A captioner's: how each word's attention maps onto the scene (core's layout of the kind, caption-view.ts; read as `hardInference` says); absent for kinds that do not caption. */
  readonly caption?: (config: C, hardInference?: HardInference) => CaptionLayout;
}
