// The export folder's file names and the JSON files that several kinds write into it
// (tokenizer_config.json, generation_config.json), as transformers.js reads them.

import { CHECKPOINT_FILES, checkTokenizerFits, type ModelConfig, type Tokenizer, type TokenFields, type TokenModelConfig } from '@attend/core';

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
  wordpiece: 'BertTokenizer', // BERT's files; transformers.js also returns token type ids for it
  unigram: 'PreTrainedTokenizer', // SentencePiece conversions (Marian's), driven by tokenizer.json
};

/**
 * tokenizer_config.json: the class transformers.js should build, special tokens, max length.
 * The tokenizer must fit the config (checkTokenizerFits, `source` names it), so each special
 * token is named after its own role: bos is always `<s>`, never `</s>`.
 */
export function tokenizerConfig(config: TokenFields & { maxSeqLen: number }, tokenizer: Tokenizer, source: string = CHECKPOINT_FILES.tokenizer): Record<string, unknown> {
  checkTokenizerFits(tokenizer, config, source);
  const token = (id: number): string => tokenizer.idsToTokens([id])[0]!;
  const ids = tokenizer.specialTokenIds;
  return {
    tokenizer_class: TOKENIZER_CLASSES[tokenizer.kind],
    bos_token: token(ids.bos),
    eos_token: token(ids.eos),
    pad_token: token(ids.pad),
    unk_token: token(ids.unk),
    model_max_length: config.maxSeqLen,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

export function generationConfig(config: TokenModelConfig): Record<string, unknown> {
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
