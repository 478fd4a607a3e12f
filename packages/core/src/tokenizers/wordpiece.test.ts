import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { tokenizerFromJSON } from './hf-json.js';
import { bertJSON as bert, type Json } from '../test-utils/hf-tokenizers.js';
import type { WordPieceTokenizer } from './wordpiece.js';

const load = (json: Json) => tokenizerFromJSON(json, 'bert/tokenizer.json') as WordPieceTokenizer;
const tokens = (t: WordPieceTokenizer, text: string) => t.idsToTokens(t.encode(text));

describe('WordPiece from a BERT tokenizer.json', () => {
  it('takes the longest piece first, continues with ## pieces, and makes a word with an unmatched rest one [UNK]', () => {
    const t = load(bert());
    expect(t.kind).toBe('wordpiece');
    expect(tokens(t, 'unaffable running')).toEqual(['un', '##aff', '##able', 'run', '##ning']);
    expect(tokens(t, 'unaffablex the')).toEqual(['[UNK]', 'the']);
    expect(t.specialTokenIds).toEqual({ pad: 0, bos: 2, eos: 3, unk: 1 });
  });

  it('splits punctuation (ASCII symbols too) into words of their own and drops whitespace', () => {
    expect(tokens(load(bert()), " the,un's\t$a\u3000.")).toEqual(['the', ',', 'un', "'", 's', '$', 'a', '.']);
  });

  it('normalizes as BertNormalizer: controls dropped, accents stripped, lowercase per character (final Σ → σ), CJK ideographs split, astral ones too', () => {
    const t = load(bert());
    expect(tokens(t, 'THE\u0000\u200b \ufeffCafé')).toEqual(['the', 'cafe']);
    expect(tokens(t, 'ΣΟΦΟΣ')).toEqual(['σοφοσ']); // not σοφος, as toLowerCase would write it
    expect(tokens(t, '東京𠀀the')).toEqual(['東', '京', '𠀀', 'the']);
  });

  it('keeps case and accents when lowercase and strip_accents are false', () => {
    const t = load(bert({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false }));
    expect(tokens(t, 'Hello café hello')).toEqual(['Hello', 'café', 'hello']);
    expect(tokens(t, 'HELLO')).toEqual(['[UNK]']);
  });

  it('makes a word longer than max_input_chars_per_word one [UNK]', () => {
    const json = bert();
    (json.model as Json).max_input_chars_per_word = 4;
    expect(tokens(load(json), 'run running')).toEqual(['run', '[UNK]']);
  });

  it('applies the template: [CLS] A [SEP], and [CLS] A [SEP] B [SEP] with type ids 0… then 1…', () => {
    const t = load(bert());
    expect(t.encodeWithSpecialTokens('the a')).toEqual({ ids: [2, 5, 11, 3], typeIds: [0, 0, 0, 0] });
    expect(t.encodeWithSpecialTokens('the', 'a')).toEqual({ ids: [2, 5, 3, 11, 3], typeIds: [0, 0, 0, 1, 1] });
    expect(t.encode('the', { addBos: true, addEos: true })).toEqual(t.encodeWithSpecialTokens('the').ids);
  });

  it('reads the older BertProcessing post-processor as the same template', () => {
    const t = load(bert(undefined, { post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } }));
    expect(t.encodeWithSpecialTokens('the', 'a')).toEqual({ ids: [2, 5, 3, 11, 3], typeIds: [0, 0, 0, 1, 1] });
  });

  it('decodes: ## pieces joined to the word, special tokens ([MASK] too) skipped, spaces before punctuation cleaned', () => {
    const t = load(bert());
    const ids = t.encodeWithSpecialTokens('unaffable running, the un.').ids;
    expect(t.decode([...ids, 4])).toBe('unaffable running, the un.');
    expect(t.decode(ids, { skipSpecialTokens: false })).toBe('[CLS] unaffable running, the un. [SEP]');
  });

  it('writes back the file it read', () => {
    const json = bert();
    expect(load(json).toJSON()).toEqual(json);
  });

  const cases: [string, (json: Json) => Json, RegExp][] = [
    ['a pre_tokenizer other than BertPreTokenizer', (j) => ({ ...j, pre_tokenizer: { type: 'Whitespace' } }), /pre_tokenizer must be BertPreTokenizer for a WordPiece model, got \{"type":"Whitespace"\}/],
    ['an unknown normalizer', (j) => ({ ...j, normalizer: { type: 'Strip' } }), /normalizer\.type "Strip" is not supported \(supported: BertNormalizer, Precompiled, NFC/],
    ['a non-boolean normalizer option', (j) => ({ ...j, normalizer: { type: 'BertNormalizer', lowercase: 'yes' } }), /normalizer\.lowercase must be true or false, got "yes"/],
    ['an unknown post_processor', (j) => ({ ...j, post_processor: { type: 'RobertaProcessing' } }), /post_processor\.type "RobertaProcessing" is not supported/],
    ['a template naming an undefined special token', (j) => ({ ...j, post_processor: { ...(j.post_processor as Json), single: [{ SpecialToken: { id: '[X]', type_id: 0 } }] } }), /post_processor\.single\[0\] names "\[X\]", which post_processor\.special_tokens does not define/],
    ['a template special token with the wrong id', (j) => ({ ...j, post_processor: { ...(j.post_processor as Json), special_tokens: { '[CLS]': { id: '[CLS]', ids: [3], tokens: ['[CLS]'] } } } }), /post_processor\.special_tokens\["\[CLS\]"\] must list ids and tokens that model\.vocab pairs/],
    ['an unk_token outside the vocabulary', (j) => ({ ...j, model: { ...(j.model as Json), unk_token: '<unk>' } }), /the vocabulary lacks the special token <unk>/],
    ['a bad max_input_chars_per_word', (j) => ({ ...j, model: { ...(j.model as Json), max_input_chars_per_word: 0 } }), /model\.max_input_chars_per_word must be a positive integer, got 0/],
    ['a decoder of another model', (j) => ({ ...j, decoder: { type: 'ByteLevel' } }), /decoder must be WordPiece or null for a WordPiece model/],
    ['no [SEP] or </s> among added_tokens', (j) => ({ ...j, added_tokens: (j.added_tokens as Json[]).filter((t) => t.content !== '[SEP]') }), /added_tokens has no eos token \(looked for <\/s>, \[SEP\], <\|endoftext\|>\)/],
  ];
  it.each(cases)('%s: one line naming the file and field', (_, change, pattern) => {
    const attempt = () => load(change(bert()));
    expect(attempt).toThrow(TokenizerError);
    expect(attempt).toThrow(pattern);
    expect(attempt).toThrow(/^bert\/tokenizer\.json: [^\n]+$/);
  });
});
