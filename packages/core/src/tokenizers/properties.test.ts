// Property-based tests (fast-check) across the tokenizers: the word tokenizer's round trip on
// text it can represent, tokenizer.json save → load giving the same encodings and decodings for
// every kind, and tokenizer.json loading of arbitrary or damaged JSON failing only with a
// one-line AttendError naming the source (never a TypeError from deep inside).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttendError } from '../errors.js';
import { bertJSON, marianJSON } from '../test-utils/hf-tokenizers.js';
import { BpeTokenizer } from './bpe.js';
import { CharTokenizer } from './char.js';
import { tokenizerFromJSON } from './hf-json.js';
import type { Tokenizer } from './tokenizer.js';
import { WordTokenizer } from './word.js';

const word = fc.stringMatching(/^[a-zàâçéèêëîïôûùüÿœ]{1,7}$/);
const corpus = fc.array(fc.array(word, { minLength: 1, maxLength: 8 }).map((ws) => ws.join(' ')), { minLength: 1, maxLength: 12 });

function build(kind: 'char' | 'word' | 'bpe', texts: string[]): Tokenizer {
  if (kind === 'char') return CharTokenizer.fromCorpus(texts);
  if (kind === 'word') return WordTokenizer.fromCorpus(texts);
  return BpeTokenizer.train(texts, { vocabSize: 300 });
}

/** Runs `load` and checks that it succeeds or fails with a one-line AttendError naming `source`. */
function loadsOrFailsCleanly(load: () => unknown, source: string): void {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(AttendError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message.startsWith(source)).toBe(true);
  }
}

describe('tokenizer properties', () => {
  it('word: decode(encode(text)) gives back text made of known lowercase words and single spaces', () => {
    fc.assert(
      fc.property(corpus, fc.nat(), (texts, pick) => {
        const tokenizer = WordTokenizer.fromCorpus(texts);
        const text = texts[pick % texts.length]!;
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  for (const kind of ['char', 'word', 'bpe'] as const) {
    it(`${kind}: tokenizer.json save → load encodes and decodes as the original`, () => {
      fc.assert(
        fc.property(corpus, fc.string({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 20 }), (texts, text, rawIds) => {
          const original = build(kind, texts);
          const loaded = tokenizerFromJSON(JSON.parse(JSON.stringify(original.toJSON())) as unknown);
          expect(loaded.kind).toBe(kind);
          expect(loaded.vocabSize).toBe(original.vocabSize);
          expect(loaded.encode(text)).toEqual(original.encode(text));
          const ids = rawIds.map((id) => id % original.vocabSize);
          expect(loaded.decode(ids)).toBe(original.decode(ids));
          expect(loaded.toJSON()).toEqual(original.toJSON());
        }),
        { numRuns: kind === 'bpe' ? 40 : 100 },
      );
    });
  }

  it('arbitrary JSON is a tokenizer or a one-line error naming the file', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => loadsOrFailsCleanly(() => tokenizerFromJSON(json, 'x/tokenizer.json'), 'x/tokenizer.json')),
      { numRuns: 300 },
    );
  });

  it('a valid tokenizer.json (each kind, BERT\'s and Marian\'s layouts too) with any one part replaced is a tokenizer that encodes and decodes, or a one-line error naming the file', () => {
    const valid = [
      ...(['char', 'word', 'bpe'] as const).map((kind) => build(kind, ['the cat sat on the mat', 'a dog'])).map((t) => JSON.parse(JSON.stringify(t.toJSON())) as Record<string, unknown>),
      bertJSON(),
      marianJSON(),
    ];
    const damaged = fc
      .record({ which: fc.nat({ max: valid.length - 1 }), value: fc.jsonValue(), deep: fc.boolean() })
      .chain(({ which, value, deep }) => {
        const json = structuredClone(valid[which]!);
        const keys = Object.keys(json);
        return fc.nat({ max: keys.length - 1 }).chain((k) => {
          const key = keys[k]!;
          const part = json[key];
          if (deep && part && typeof part === 'object' && !Array.isArray(part) && Object.keys(part).length > 0) {
            const inner = Object.keys(part);
            return fc.nat({ max: inner.length - 1 }).map((i) => {
              (part as Record<string, unknown>)[inner[i]!] = value;
              return json;
            });
          }
          json[key] = value;
          return fc.constant(json);
        });
      });
    fc.assert(
      fc.property(damaged, (json) =>
        loadsOrFailsCleanly(() => {
          const t = tokenizerFromJSON(json, 'y/tokenizer.json');
          t.decode(t.encode('The café, 東京! ☕ [CLS] ▁x'));
        }, 'y/tokenizer.json'),
      ),
      { numRuns: 800 },
    );
  });
});
