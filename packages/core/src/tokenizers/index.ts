// Tokenizers: char, word and byte-level BPE, saved and loaded as Hugging Face tokenizer.json; WordPiece
// (BERT) and Unigram (SentencePiece, Marian) read from the tokenizer.json files Hugging Face writes.

export { DEFAULT_SPECIAL_TOKENS } from './tokenizer.js';
export { checkTokenizerConfig, checkTokenizerFits } from './model-fit.js';
export type { DecodeOptions, EncodeOptions, SpecialTokenIds, SpecialTokens, Tokenizer } from './tokenizer.js';
export { CharTokenizer } from './char.js';
export type { CharCorpusOptions } from './char.js';
export { WordTokenizer, normalizeWordText, splitWords } from './word.js';
export type { WordCorpusOptions, WordTokenizerOptions } from './word.js';
export { BpeTokenizer } from './bpe.js';
export type { BpeTrainOptions } from './bpe.js';
export { WordPieceTokenizer } from './wordpiece.js';
export { UnigramTokenizer } from './unigram.js';
export type { EncodedWithSpecialTokens } from './template.js';
export { loadTokenizerJSON, saveTokenizerJSON, tokenizerFromBytes, tokenizerFromJSON } from './hf-json.js';
export type {
  HFAddedToken,
  HFBPEModel,
  HFDecoder,
  HFMetaspace,
  HFNormalizer,
  HFPostProcessor,
  HFPreTokenizer,
  HFTokenizerJSON,
  HFUnigramModel,
  HFWordLevelModel,
  HFWordPieceModel,
} from './hf-json.js';
