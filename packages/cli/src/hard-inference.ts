// `--hard-inference argmax|expectation` (infer, eval, attention): how a hard-attention
// image-captioner reads the image at test time — the location of largest α, or the expected
// context Σ_i α_i a_i (Xu et al. §4.1 compare the two). The same on a checkpoint (tfjs
// `setHardInference`) and an export folder (its decoder step's `use_expectation` input); any other
// model refuses the flag.

import { ConfigError, hardCaptionerConfig, hardReading, type HardInference, type ModelConfig } from '@attend/core';
import { CliError } from './errors.js';

/** What a command runs a captioner with: `--hard-inference`, when given. */
export interface HardInferenceOption {
  hardInference?: HardInference;
}

/** `run()`, its ConfigError about hardInference a usage error naming the flag (exit 2). */
export function hardInferenceFlag<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ConfigError && error.field === 'hardInference') throw new CliError(`--hard-inference: ${error.message.slice('hardInference: '.length)}`, 2);
    throw error;
  }
}

/** Refuses `--hard-inference` for a model without hard attention (a usage error naming the flag). */
export function checkHardInference(config: ModelConfig, { hardInference }: HardInferenceOption): void {
  if (hardInference) hardInferenceFlag(() => hardCaptionerConfig(config, hardInference));
}

/** The `hardInference` field of a command's --json for a hard-attention captioner (the reading it ran: the flag's, or the arg-max); none for any other model. */
export function readingField(config: ModelConfig, { hardInference }: HardInferenceOption): { hardInference?: HardInference } {
  const reading = hardReading(config, hardInference);
  return reading ? { hardInference: reading } : {};
}
