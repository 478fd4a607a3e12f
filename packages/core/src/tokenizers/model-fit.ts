// Whether a tokenizer belongs to a model: no more tokens than the model's vocabulary (a Hugging
// Face model may have more rows than its tokenizer, e.g. a table padded to a multiple of 64;
// ids beyond the tokenizer are never fed), and the config's pad / bos / eos ids are the
// tokenizer's own special tokens (attend's builders give them 0-3, see tokenizer.ts). Checked when a checkpoint is exported and when an export folder is loaded, so
// files from different runs fail at load with one line instead of answering every request wrongly.

import { CheckpointError } from '../errors.js';
import type { TokenFields } from '../models/fields.js';
import type { Tokenizer } from './tokenizer.js';

const ROLES = [
  ['pad', 'padTokenId'],
  ['bos', 'bosTokenId'],
  ['eos', 'eosTokenId'],
] as const;

/** Throws a CheckpointError naming `source` (the tokenizer.json) unless `tokenizer` fits `config`. */
export function checkTokenizerFits(tokenizer: Tokenizer, config: TokenFields, source: string): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new CheckpointError(`${source}: ${tokenizer.vocabSize} tokens but config.json has vocabSize ${config.vocabSize} (files from different exports?)`);
  }
  for (const [role, field] of ROLES) {
    const own = tokenizer.specialTokenIds[role];
    if (config[field] !== own) {
      const [token] = tokenizer.idsToTokens([own]);
      throw new CheckpointError(`${source}: its ${role} token ${JSON.stringify(token)} is id ${own} but config.json has ${field} ${config[field]} (files from different exports?)`);
    }
  }
}

/**
 * Throws a CheckpointError naming `source` unless the special tokens a tokenizer_config.json
 * (parsed JSON) names are those of `config`'s ids in `tokenizer` (which must fit the config).
 */
export function checkTokenizerConfig(json: unknown, tokenizer: Tokenizer, config: TokenFields, source: string): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(`${source}: expected a JSON object`);
  for (const [role, field] of ROLES) {
    const named = (json as Record<string, unknown>)[`${role}_token`];
    if (named === undefined || named === null) continue;
    const content = typeof named === 'object' ? (named as { content?: unknown }).content : named;
    const [expected] = tokenizer.idsToTokens([config[field]]);
    if (content !== expected) {
      throw new CheckpointError(`${source}: ${role}_token is ${JSON.stringify(content)} but config.json's ${field} ${config[field]} is ${JSON.stringify(expected)} in tokenizer.json`);
    }
  }
}
