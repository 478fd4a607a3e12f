// `--captioner transformer`: the Transformer captioner is the vision-encoder-decoder kind, not a
// fourth visual attention of the image-captioner (see core's vision-encoder-decoder/config.ts),
// so the flag's value picks the preset instead of setting visualAttention.

import { VISUAL_ATTENTIONS, type Preset } from '@attend/core';

/** The --captioner value that asks for the Transformer captioner. */
export const TRANSFORMER_CAPTIONER = 'transformer';
const PRESET: Preset = 'vision-encoder-decoder';

/** Every --captioner value: the image-captioner's attentions and the Transformer captioner. */
export const CAPTIONERS = [...VISUAL_ATTENTIONS, TRANSFORMER_CAPTIONER] as const;

/**
 * Model settings with `visualAttention: 'transformer'` turned into the vision-encoder-decoder
 * preset (others unchanged); the problem, when another preset was asked for.
 */
export function captionerSettings<S extends { preset?: Preset; visualAttention?: unknown }>(model: S): S | { error: string } {
  if (model.visualAttention !== TRANSFORMER_CAPTIONER) return model;
  if (model.preset !== undefined && model.preset !== PRESET) return { error: `${TRANSFORMER_CAPTIONER} is the ${PRESET} preset, not ${model.preset}` };
  const { visualAttention: _v, ...rest } = model;
  return { ...rest, preset: PRESET } as S;
}
