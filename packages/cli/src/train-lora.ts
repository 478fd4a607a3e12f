// `attend train --from CKPT --lora-rank r [--lora-alpha a] [--lora-targets q,v]`: LoRA adapters
// (core lora.ts, transformer lora.ts) on the checkpoint's model, so that only they train.

import { ConfigError, validateLora, type LoraConfig, type ModelConfig } from '@attend/core';
import type { AttendModel } from '@attend/transformer';
import { CliError } from './errors.js';

/** The LoRA flags of `attend train`. */
export interface LoraFlags {
  loraRank?: number;
  loraAlpha?: number;
  /** Comma-separated target names (default q,v, as Hu et al. adapt). */
  loraTargets?: string;
}

/** The targets LoRA adapts when --lora-targets is not given: the attention's query and value (Hu et al., 2021 §7.1). */
export const DEFAULT_LORA_TARGETS = 'q,v';

/**
 * The adapters the flags ask for on a model of `config` (with `trainable` modules trained in
 * full beside them), or undefined without --lora-rank; a
 * one-line usage error (exit 2) naming the flag: alpha or targets without a rank, no --from,
 * an unknown target (naming the valid ones), a checkpoint that has adapters already.
 */
export function loraOfFlags(o: LoraFlags & { from?: string }, config: ModelConfig | undefined, trainable?: string[]): LoraConfig | undefined {
  if (o.loraRank === undefined) {
    const stray = o.loraAlpha !== undefined ? '--lora-alpha' : o.loraTargets !== undefined ? '--lora-targets' : undefined;
    if (stray) throw new CliError(`${stray} needs --lora-rank (the rank of the adapters)`, 2);
    return undefined;
  }
  if (o.from === undefined || config === undefined) throw new CliError('--lora-rank needs --from CKPT: LoRA adapts the weights of a trained model', 2);
  if (config.lora) throw new CliError(`--lora-rank: the checkpoint in ${o.from} has LoRA adapters already (rank ${config.lora.rank}); export it merged and import that, or train it on without LoRA flags`, 2);
  const targets = (o.loraTargets ?? DEFAULT_LORA_TARGETS).split(',').map((t) => t.trim());
  try {
    return validateLora({ rank: o.loraRank, alpha: o.loraAlpha ?? o.loraRank, targets, base: o.from, ...(trainable ? { trainable } : {}) }, config.preset);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const flag = error.field === 'lora.targets' ? '--lora-targets' : error.field === 'lora.alpha' ? '--lora-alpha' : '--lora-rank';
    throw new CliError(`${flag}: ${error.message.slice(error.field.length + 2)}`, 2);
  }
}

/** The opening line that says what trains in a LoRA run. */
export function loraSummary(model: AttendModel, lora: LoraConfig): string {
  const trained = model.trainableVariables().reduce((n, v) => n + v.size, 0);
  const share = (100 * trained) / model.parameterCount();
  return `  lora      rank ${lora.rank}, alpha ${lora.alpha}, targets ${lora.targets.join(',')}: ${trained.toLocaleString('en-US')} parameters train (${share.toFixed(2)}%), the rest are frozen`;
}
