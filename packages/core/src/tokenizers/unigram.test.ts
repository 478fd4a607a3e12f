import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { tokenizerFromJSON } from './hf-json.js';
import { marianJSON as marian, type Json } from '../test-utils/hf-tokenizers.js';
import type { UnigramTokenizer } from './unigram.js';

const load = (json: Json) => tokenizerFromJSON(json, 'marian/tokenizer.json') as UnigramTokenizer;
const pieces = (t: UnigramTokenizer, text: string) => t.idsToTokens(t.encode(text));

describe('Unigram from a Marian tokenizer.json', () => {
  it('segments by the highest total score (Viterbi), a ▁ put before the text and for every space', () => {
    const t = load(marian());
    expect(t.kind).toBe('unigram');
    expect(pieces(t, 'hello the')).toEqual(['▁hello', '▁the']);
    expect(pieces(t, 'hellothe')).toEqual(['▁hello', 't', 'he']);
    expect(pieces(t, ' the')).toEqual(['▁the']); // already starts with ▁: none added
    expect(pieces(t, '')).toEqual([]);
  });

  it('takes the special roles from Marian\'s tokens: bos is pad, the token its decoder starts from', () => {
    expect(load(marian()).specialTokenIds).toEqual({ pad: 17, bos: 17, eos: 0, unk: 1 });
  });

  it('scores an unknown character below every piece and fuses a run of them into one <unk>', () => {
    const t = load(marian());
    expect(pieces(t, 'the zzz x')).toEqual(['▁the', '▁', '<unk>', '▁', 'x']);
    expect(pieces(t, 'q')).toEqual(['▁', '<unk>']);
  });

  it('spells an unknown stretch by its UTF-8 bytes when byte_fallback is on', () => {
    const bytes: [string, number][] = Array.from({ length: 256 }, (_, b) => [`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, -20]);
    const json = marian();
    const model = json.model as { vocab: [string, number][]; byte_fallback?: boolean };
    model.vocab.splice(2, 0, ...bytes);
    model.byte_fallback = true;
    (json.added_tokens as Json[])[2]!.id = model.vocab.length - 1;
    const t = load(json);
    expect(pieces(t, 'the é')).toEqual(['▁the', '▁', '<0xC3>', '<0xA9>']);
    expect(t.decode(t.encode('the é'))).toBe('the é');
    (json.model as Json).vocab = model.vocab.filter(([p]) => p !== '<0x41>');
    (json.added_tokens as Json[])[2]!.id = model.vocab.length - 1;
    expect(() => load(json)).toThrow(/^marian\/tokenizer\.json: model\.byte_fallback is true but model\.vocab lacks <0x41>$/);
  });

  it('normalizes by the file\'s precompiled charsmap (here a few nmt_nfkc rules), and by NFKC and nmt_nfkc\'s control and space rules when it is null', () => {
    const t = load(marian());
    expect(pieces(t, 'ｔｈｅ\u0007\u00a0hello')).toEqual(['▁the', '▁hello']);
    expect(pieces(t, 'Ａ①')).toEqual(['▁', 'A', '1']);
    expect(pieces(t, 'ｈｅ')).toEqual(['▁he']);
    expect(pieces(t, 'Ｈ')).toEqual(['▁', '<unk>']); // no rule for it in this charsmap
    const approx = load(marian({ normalizer: { type: 'Precompiled', precompiled_charsmap: null } }));
    expect(pieces(approx, 'ｔｈｅ\u0007\u00a0ｈello\u2003Ａ')).toEqual(['▁the', '▁hello', '▁', 'A']);
  });

  it('cuts before every ▁ with split (newer files) and gives the same pieces when no piece holds an inner ▁', () => {
    const older = load(marian());
    const newer = load(marian({ pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true } }));
    for (const text of ['hello the  hellothe', '  x', 'the\thello']) expect(pieces(newer, text)).toEqual(pieces(older, text));
    const never = load(marian({ pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: false } }));
    expect(pieces(never, 'hello')).toEqual(['he', 'llo']);
  });

  it('applies the template (text </s>; pair A B </s>) and decodes back without the prefix space', () => {
    const t = load(marian());
    expect(t.encodeWithSpecialTokens('the').ids).toEqual([t.tokenToId('▁the'), 0]);
    expect(t.encodeWithSpecialTokens('the', 'hello')).toEqual({ ids: [t.tokenToId('▁the'), t.tokenToId('▁hello'), 0], typeIds: [0, 0, 0] });
    expect(t.decode(t.encodeWithSpecialTokens('hello the hellothe').ids)).toBe('hello the hellothe');
    expect(t.decode(t.encodeWithSpecialTokens('the').ids, { skipSpecialTokens: false })).toBe('the</s>');
  });

  it('writes back the file it read', () => {
    const json = marian();
    expect(load(json).toJSON()).toEqual(json);
  });

  const cases: [string, Json, RegExp][] = [
    ['vocab of token -> id', { model: { type: 'Unigram', unk_id: 1, vocab: { a: 0 } } }, /model\.vocab must be a non-empty array of \[piece, score\], got \{"a":0\}/],
    ['a piece without a score', { model: { type: 'Unigram', unk_id: 0, vocab: [['a', 'x']] } }, /model\.vocab\[0\] must be \[piece, finite score\], got \["a","x"\]/],
    ['unk_id out of range', { model: { type: 'Unigram', unk_id: 99, vocab: [['<unk>', 0]] } }, /model\.unk_id must be an id of model\.vocab \(0\.\.0\), got 99/],
    ['a pre_tokenizer other than Metaspace', { pre_tokenizer: { type: 'Whitespace' } }, /pre_tokenizer must be Metaspace for a Unigram model/],
    ['a bad prepend_scheme', { pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'sometimes' } }, /pre_tokenizer\.prepend_scheme must be "always", "first" or "never", got "sometimes"/],
    ['a Replace regex JavaScript cannot read', { normalizer: { type: 'Replace', pattern: { Regex: '(?<' }, content: ' ' } }, /normalizer\.pattern\.Regex "\(\?<" is not a regular expression JavaScript reads/],
    ['a decoder of another model', { decoder: { type: 'WordPiece' } }, /decoder must be Metaspace or null for a Unigram model/],
    ['a charsmap that is not base64', { normalizer: { type: 'Precompiled', precompiled_charsmap: '%%' } }, /normalizer\.precompiled_charsmap must be a base64 string or null, got "%%"/],
    ['a charsmap too short for its trie', { normalizer: { type: 'Precompiled', precompiled_charsmap: 'AAEAAAAA' } }, /normalizer\.precompiled_charsmap is not a SentencePiece charsmap: its trie size 256 is not a positive multiple of 4 within its 6 bytes/],
  ];
  it.each(cases)('%s: one line naming the file and field', (_, extra, pattern) => {
    const attempt = () => load(marian(extra));
    expect(attempt).toThrow(TokenizerError);
    expect(attempt).toThrow(pattern);
    expect(attempt).toThrow(/^marian\/tokenizer\.json: [^\n]+$/);
  });
});
