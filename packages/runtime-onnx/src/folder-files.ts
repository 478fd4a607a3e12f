// The export folder's file names and the JSON files that several kinds write into it
// (tokenizer_config.json, generation_config.json), as transformers.js reads them.

import type { ModelConfig, Tokenizer, TokenFields, VitClassifierConfig } from '@attend/core';

/** Paths of the export folder's files. */
export const EXPORT_FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  model: 'onnx/model.onnx',
  /** vit-classifier only, in place of the tokenizer files. */
  preprocessorConfig: 'preprocessor_config.json',
} as const;

/** transformers.js tokenizer class for each attend tokenizer kind. */
const TOKENIZER_CLASSES: Record<Tokenizer['kind'], string> = {
  bpe: 'GPT2Tokenizer', // byte-level BPE, as gpt2's
  char: 'PreTrainedTokenizer', // WordLevel models: the generic tokenizer.json-driven class
  word: 'PreTrainedTokenizer',
};

/** tokenizer_config.json: the class transformers.js should build, special tokens, max length. */
export function tokenizerConfig(config: TokenFields & { maxSeqLen: number }, tokenizer: Tokenizer): Record<string, unknown> {
  const token = (id: number): string => tokenizer.idsToTokens([id])[0]!;
  return {
    tokenizer_class: TOKENIZER_CLASSES[tokenizer.kind],
    bos_token: token(config.bosTokenId),
    eos_token: token(config.eosTokenId),
    pad_token: token(config.padTokenId),
    unk_token: token(tokenizer.specialTokenIds.unk),
    model_max_length: config.maxSeqLen,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

export function generationConfig(config: Exclude<ModelConfig, VitClassifierConfig>): Record<string, unknown> {
  return {
    ...('numDecoderLayers' in config && 'numEncoderLayers' in config ? { decoder_start_token_id: config.bosTokenId } : {}),
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    max_length: config.maxSeqLen,
    do_sample: false,
    num_beams: 1,
  };
}
