import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.js';
import { BYTE_TO_CHAR, BpeTokenizer } from './bpe.js';
import { CharTokenizer } from './char.js';
import { loadTokenizerJSON, saveTokenizerJSON, tokenizerFromJSON } from './hf-json.js';
import type { Tokenizer } from './tokenizer.js';
import { WordTokenizer } from './word.js';

const corpus = [
  'Je suis prêt\u202f! Tu es prête\u00a0?',
  "L'homme mange une pomme. L\u2019eau est froide.",
  'The quick brown fox jumps over the lazy dog 12 times 😀',
  'naïve café — « déjà vu »',
];
const probes = [...corpus, 'Unseen wörds, ÉCOLE\u2009; emoji 🤖 and tabs\tand\nnewlines', '', '   '];

const tokenizers: Record<string, () => Tokenizer> = {
  char: () => CharTokenizer.fromCorpus(corpus),
  word: () => WordTokenizer.fromCorpus(corpus),
  'word (cased)': () => WordTokenizer.fromCorpus(corpus, { lowercase: false }),
  bpe: () => BpeTokenizer.train(corpus, { vocabSize: 320, minFrequency: 1 }),
};

describe.each(Object.entries(tokenizers))('%s tokenizer.json round trip', (_, build) => {
  it('loads back the same class with identical encodings, decodings and JSON', () => {
    const original = build();
    const text = saveTokenizerJSON(original);
    const loaded = loadTokenizerJSON(text, 'saved/tokenizer.json');
    expect(loaded.constructor).toBe(original.constructor);
    expect(loaded.kind).toBe(original.kind);
    expect(loaded.vocabSize).toBe(original.vocabSize);
    expect(loaded.specialTokenIds).toEqual({ pad: 0, bos: 1, eos: 2, unk: 3 });
    for (const probe of probes) {
      const ids = original.encode(probe, { addBos: true, addEos: true });
      expect(loaded.encode(probe, { addBos: true, addEos: true })).toEqual(ids);
      expect(loaded.decode(ids)).toBe(original.decode(ids));
    }
    expect(saveTokenizerJSON(loaded)).toBe(text);
  });

  it('lists the four special tokens as added_tokens with ids 0-3', () => {
    const json = build().toJSON();
    expect(json.version).toBe('1.0');
    expect(json.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
      [0, '<pad>', true],
      [1, '<s>', true],
      [2, '</s>', true],
      [3, '<unk>', true],
    ]);
    expect((json.model.vocab as Record<string, number>)['<unk>']).toBe(3);
  });
});

describe('tokenizer.json layout', () => {
  it('writes byte-level BPE like GPT-2: ByteLevel pre_tokenizer and decoder, "a b" merges', () => {
    const json = BpeTokenizer.train(['the the the then'], { vocabSize: 262 }).toJSON();
    expect(json.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(json.decoder).toMatchObject({ type: 'ByteLevel' });
    expect(json.normalizer).toBeNull();
    expect(json.model.type).toBe('BPE');
    if (json.model.type !== 'BPE') return;
    // t h and h e both occur 4 times; h e wins the tie (h = 4 + 0x68 < t = 4 + 0x74).
    expect(json.model.merges).toEqual(['h e', 't he']);
    expect(json.model.vocab['Ġ']).toBe(4 + 0x20);
    expect(json.model.vocab['the']).toBe(261);
  });

  it('writes char as WordLevel with a per-character Split and a Fuse decoder', () => {
    const json = CharTokenizer.fromCorpus(['ab']).toJSON();
    expect(json.model).toEqual({
      type: 'WordLevel',
      vocab: { '<pad>': 0, '<s>': 1, '</s>': 2, '<unk>': 3, a: 4, b: 5 },
      unk_token: '<unk>',
    });
    expect(json.pre_tokenizer).toEqual({
      type: 'Split',
      pattern: { Regex: '[\\s\\S]' },
      behavior: 'Removed',
      invert: true,
    });
    expect(json.decoder).toEqual({ type: 'Fuse' });
  });

  it('writes word as WordLevel with the special-space normalizer and the word Split', () => {
    const json = WordTokenizer.fromCorpus(['Va !']).toJSON();
    expect(json.normalizer).toMatchObject({ type: 'Sequence' });
    const steps = json.normalizer?.type === 'Sequence' ? json.normalizer.normalizers : [];
    expect(steps[0]).toEqual({ type: 'NFC' });
    expect(steps).toContainEqual({ type: 'Replace', pattern: { String: '\u202f' }, content: ' ' });
    expect(steps).toContainEqual({ type: 'Replace', pattern: { String: '\u200b' }, content: '' });
    expect(steps.at(-1)).toEqual({ type: 'Lowercase' });
    expect(json.pre_tokenizer).toMatchObject({ type: 'Split', behavior: 'Removed', invert: true });
    expect(json.decoder).toBeNull();
  });

  it('keeps a "__proto__" token through save and load', () => {
    const tok = new WordTokenizer(['<pad>', '<s>', '</s>', '<unk>', '__proto__']);
    const loaded = loadTokenizerJSON(saveTokenizerJSON(tok));
    expect(loaded.tokenToId('__proto__')).toBe(4);
  });

  it('reads merges written as [left, right] pairs (newer tokenizers versions)', () => {
    const tok = BpeTokenizer.train(['the the the then'], { vocabSize: 262 });
    const json = tok.toJSON() as unknown as { model: { merges: unknown } };
    json.model.merges = [
      ['h', 'e'],
      ['t', 'he'],
    ];
    expect(tokenizerFromJSON(json).encode('then the')).toEqual(tok.encode('then the'));
  });
});

describe('GPT-2 layout', () => {
  it('loads a byte-level BPE file whose one added token <|endoftext|> fills every special role, encoded as text when typed', () => {
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    const vocab = Object.fromEntries([...BYTE_TO_CHAR, 'Ġt', 'Ġth', '<|endoftext|>'].map((t, id) => [t, id]));
    const json = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: 258, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: byteLevel,
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: ['Ġ t', 'Ġt h'] },
    };
    const t = tokenizerFromJSON(json, 'gpt2/tokenizer.json');
    expect(t.kind).toBe('bpe');
    expect(t.specialTokenIds).toEqual({ pad: 258, bos: 258, eos: 258, unk: 258 });
    expect(t.idsToTokens(t.encode(' the'))).toEqual(['Ġth', 'e']);
    expect(t.encode('<|endoftext|>')).not.toContain(258);
    expect(t.decode([...t.encode(' the'), 258])).toBe(' the');
  });
});

describe('tokenizerFromJSON errors', () => {
  const good = (): Record<string, unknown> =>
    JSON.parse(saveTokenizerJSON(CharTokenizer.fromCorpus(['ab']))) as Record<string, unknown>;
  const goodBpe = (): Record<string, unknown> =>
    JSON.parse(saveTokenizerJSON(BpeTokenizer.train(['ab ab ab'], { vocabSize: 262 }))) as Record<string, unknown>;
  const model = (json: Record<string, unknown>) => json.model as Record<string, unknown>;

  const cases: [string, () => unknown, RegExp][] = [
    ['not an object', () => [1, 2], /expected a JSON object/],
    ['wrong version', () => ({ ...good(), version: '2.0' }), /version must be "1.0", got "2.0"/],
    ['missing model', () => ({ ...good(), model: undefined }), /missing model$/],
    [
      'unknown model type',
      () => ({ ...good(), model: { ...model(good()), type: 'Foo' } }),
      /unknown model type "Foo" \(supported: "BPE", "WordLevel", "WordPiece", "Unigram"\)/,
    ],
    [
      'vocab not an object',
      () => ({ ...good(), model: { ...model(good()), vocab: [['a', 4]] } }),
      /model\.vocab must be an object of token -> id/,
    ],
    [
      'non-integer id',
      () => ({ ...good(), model: { ...model(good()), vocab: { ...(model(good()).vocab as object), c: 'x' } } }),
      /model\.vocab\["c"\] must be a non-negative integer id/,
    ],
    [
      'duplicate ids',
      () => ({
        ...good(),
        model: { ...model(good()), vocab: { '<pad>': 0, '<s>': 1, '</s>': 2, '<unk>': 3, a: 4, b: 4 } },
      }),
      /model\.vocab gives id 4 to both "a" and "b"/,
    ],
    [
      'gap in ids',
      () => ({
        ...good(),
        model: { ...model(good()), vocab: { '<pad>': 0, '<s>': 1, '</s>': 2, '<unk>': 3, a: 4, b: 6 } },
      }),
      /model\.vocab ids must run 0\.\.5, got id 6 for "b"/,
    ],
    [
      'special token missing',
      () => ({ ...good(), added_tokens: (good().added_tokens as unknown[]).slice(0, 3) }),
      /special token <unk> is missing from added_tokens/,
    ],
    [
      'added token id mismatch',
      () => ({
        ...good(),
        added_tokens: [...(good().added_tokens as object[]).slice(0, 3), { id: 4, content: '<unk>' }],
      }),
      /added_tokens\[3\] "<unk>" has id 4, but model\.vocab gives that id to "a"/,
    ],
    [
      'foreign added token',
      () => ({ ...good(), added_tokens: [...(good().added_tokens as object[]), { id: 5, content: '<mask>' }] }),
      /added_tokens\[4\] "<mask>" is not one of attend's special tokens/,
    ],
    [
      'unknown pre_tokenizer',
      () => ({ ...good(), pre_tokenizer: { type: 'Whitespace' } }),
      /pre_tokenizer \{"type":"Whitespace"\} is neither the char nor the word Split/,
    ],
    [
      'unsupported padding',
      () => ({ ...good(), padding: { strategy: 'BatchLongest' } }),
      /padding is not supported \(expected null\)/,
    ],
    [
      'bad merge',
      () => ({ ...goodBpe(), model: { ...model(goodBpe()), merges: ['a b', 'ab'] } }),
      /model\.merges\[1\] must be "left right" or \["left", "right"\], got "ab"/,
    ],
    [
      'merge of unknown tokens',
      () => ({ ...goodBpe(), model: { ...model(goodBpe()), merges: ['a b', 'x y'] } }),
      /merge 1 \("x" "y"\) needs "xy", which is not in the vocabulary/,
    ],
    [
      'BPE with add_prefix_space',
      () => ({ ...goodBpe(), pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } }),
      /pre_tokenizer ByteLevel must have add_prefix_space false/,
    ],
  ];

  it.each(cases)('%s: one-line TokenizerError naming the source', (_, make, pattern) => {
    const load = () => tokenizerFromJSON(make(), 'ckpt/tokenizer.json');
    expect(load).toThrow(TokenizerError);
    expect(load).toThrow(pattern);
    try {
      load();
    } catch (error) {
      const message = (error as Error).message;
      expect(message.startsWith('ckpt/tokenizer.json: ')).toBe(true);
      expect(message).not.toContain('\n');
    }
  });

  it('reports text that is not JSON', () => {
    expect(() => loadTokenizerJSON('{"version": "1.0",', 'bad.json')).toThrow(/^bad\.json: not valid JSON \(/);
  });
});
