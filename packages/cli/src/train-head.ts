// `attend train --from CKPT --num-classes N`: the checkpoint's classifier with a fresh,
// seeded head for a new label set; every other weight comes from the checkpoint. With LoRA the
// new head trains in full beside the adapters (PEFT's modules_to_save).

import { classifierConfig, type ModelConfig } from '@attend/core';
import type { AttendModel } from '@attend/transformer';
import { CliError } from './errors.js';

/** The checkpoint name prefix of a classifier's head (both classifier kinds). */
export const HEAD_MODULE = 'classifier';

/**
 * `model` (a classifier, which this disposes) with a new `numClasses`-way head initialised from
 * `seed`; a usage error (exit 2) naming --num-classes for a model that is not a classifier.
 */
export function withFreshHead(t: typeof import('@attend/transformer'), model: AttendModel, numClasses: number, seed: number): AttendModel {
  let config: ModelConfig;
  try {
    // The old head's label names go with it.
    config = { ...classifierConfig(model.config, '--num-classes'), numClasses, labels: undefined };
  } catch {
    model.dispose();
    throw new CliError(`--num-classes: the checkpoint is ${model.config.preset}, not a classifier; a fresh head is for encoder-classifier or vit-classifier`, 2);
  }
  const fresh = t.createModel(config, { seed });
  const kept = new Map(model.namedParams().map((p) => [p.name, p.variable]));
  for (const p of fresh.namedParams()) {
    if (p.name.startsWith(`${HEAD_MODULE}.`)) continue;
    p.variable.assign(kept.get(p.name)!);
  }
  model.dispose();
  return fresh;
}

/** A classifier that cannot hold the data's labels: a usage error that names the way out. */
export function checkClasses(config: ModelConfig, dataClasses: number, source: string): void {
  if (!('numClasses' in config) || dataClasses <= config.numClasses) return;
  throw new CliError(`${source}: labels go up to ${dataClasses - 1} but the model has ${config.numClasses} classes; give --num-classes ${dataClasses} for a fresh head`, 2);
}
