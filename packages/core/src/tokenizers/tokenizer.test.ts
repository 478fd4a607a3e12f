import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { DEFAULT_SPECIAL_TOKENS, Vocabulary } from './tokenizer.js';

describe('Vocabulary', () => {
  it('puts the special tokens at ids 0-3 and skips them in the regular tokens', () => {
    const tokens = Vocabulary.withSpecialTokens(['a', '<s>', 'b']);
    expect(tokens).toEqual(['<pad>', '<s>', '</s>', '<unk>', 'a', 'b']);
    const vocab = new Vocabulary(tokens, 'test');
    expect(vocab.specialTokenIds).toEqual({ pad: 0, bos: 1, eos: 2, unk: 3 });
    expect(vocab.id('b')).toBe(5);
    expect(vocab.isSpecial(3)).toBe(true);
    expect(vocab.isSpecial(4)).toBe(false);
  });

  it('finds special tokens wherever they are', () => {
    const vocab = new Vocabulary(['x', '</s>', '<unk>', '<s>', '<pad>'], 'test');
    expect(vocab.specialTokenIds).toEqual({ pad: 4, bos: 3, eos: 1, unk: 2 });
    expect(vocab.addedTokensJSON().map((t) => [t.id, t.content])).toEqual([
      [1, '</s>'],
      [2, '<unk>'],
      [3, '<s>'],
      [4, '<pad>'],
    ]);
  });

  it('rejects duplicate tokens and missing special tokens', () => {
    expect(() => new Vocabulary([...Vocabulary.withSpecialTokens(['a']), 'a'], 'src')).toThrow(
      /^src: token "a" appears twice in the vocabulary \(ids 4 and 5\)$/,
    );
    expect(() => new Vocabulary(['<pad>', '<s>', '</s>', 'a'], 'src')).toThrow(TokenizerError);
    expect(() => new Vocabulary(['<pad>', '<s>', '</s>', 'a'], 'src')).toThrow(
      `src: the vocabulary lacks the special token ${DEFAULT_SPECIAL_TOKENS.unk}`,
    );
  });

  it('rejects ids outside the vocabulary', () => {
    const vocab = new Vocabulary(Vocabulary.withSpecialTokens(['a']), 'test');
    expect(vocab.token(4, 'call')).toBe('a');
    expect(() => vocab.token(5, 'call')).toThrow('call: id 5 is not in the vocabulary (ids 0..4)');
    expect(() => vocab.token(-1, 'call')).toThrow(TokenizerError);
    expect(() => vocab.token(1.5, 'call')).toThrow(TokenizerError);
  });

  it('writes a vocab object where "__proto__" is an ordinary key', () => {
    const vocab = new Vocabulary(Vocabulary.withSpecialTokens(['__proto__']), 'test');
    const parsed = JSON.parse(JSON.stringify(vocab.vocabJSON())) as Record<string, number>;
    expect(Object.entries(parsed)).toContainEqual(['__proto__', 4]);
  });
});
