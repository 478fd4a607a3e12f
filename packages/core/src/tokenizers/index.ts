// Tokenizers: char, word and byte-level BPE, saved and loaded as Hugging Face tokenizer.json.

export { DEFAULT_SPECIAL_TOKENS } from './tokenizer.js';
export { checkTokenizerConfig, checkTokenizerFits } from './model-fit.js';
export type { DecodeOptions, EncodeOptions, SpecialTokenIds, Tokenizer } from './tokenizer.js';
export { CharTokenizer } from './char.js';
export type { CharCorpusOptions } from './char.js';
export { WordTokenizer, normalizeWordText, splitWords } from './word.js';
export type { WordCorpusOptions, WordTokenizerOptions } from './word.js';
export { BpeTokenizer } from './bpe.js';
export type { BpeTrainOptions } from './bpe.js';
export { loadTokenizerJSON, saveTokenizerJSON, tokenizerFromBytes, tokenizerFromJSON } from './hf-json.js';
export type {
  HFAddedToken,
  HFBPEModel,
  HFDecoder,
  HFNormalizer,
  HFPreTokenizer,
  HFTokenizerJSON,
  HFWordLevelModel,
} from './hf-json.js';
