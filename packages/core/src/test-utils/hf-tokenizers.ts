// tokenizer.json files laid out as Hugging Face writes them for BERT (WordPiece) and Marian
// (Unigram), over small vocabularies, for the tokenizer tests.

export type Json = Record<string, unknown>;

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const BERT_PIECES = ['the', 'un', '##aff', '##able', 'run', '##ning', 'a', '##b', 'σοφοσ', 'σοφος', '東', '京', '𠀀', '.', ',', "'", 's', '$', 'x', 'cafe', 'café', 'Hello', 'hello'];

/** A BERT-layout tokenizer.json over BERT_SPECIALS + BERT_PIECES; `normalizer` and `extra` override parts. */
export function bertJSON(normalizer: Json | null = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true }, extra: Json = {}): Json {
  const vocab = Object.fromEntries([...BERT_SPECIALS, ...BERT_PIECES].map((t, id) => [t, id]));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer,
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    ...extra,
  };
}

/** Pieces and scores (log-probabilities): "▁hello" beats "▁he" + "llo", "▁the" beats "▁t" + "he". */
const MARIAN_PIECES: [string, number][] = [
  ['▁', -2],
  ['▁hello', -5],
  ['▁he', -3],
  ['llo', -3.5],
  ['▁the', -2.5],
  ['▁t', -4],
  ['he', -3],
  ['h', -6],
  ['e', -6],
  ['l', -6],
  ['o', -6],
  ['t', -6],
  ['x', -7],
  ['A', -6],
  ['1', -6],
];

/** A few of SentencePiece's nmt_nfkc rules: fullwidth and circled forms, a control dropped, NBSP made a space. */
const NMT_SAMPLE: [string, string][] = [['ｔ', 't'], ['ｈ', 'h'], ['ｅ', 'e'], ['Ａ', 'A'], ['①', '1'], ['\u0007', ''], ['\u00a0', ' ']];

/** A Marian-layout tokenizer.json: </s> and <unk> first, <pad> last; `extra` overrides parts, `model` model fields. */
export function marianJSON(extra: Json = {}, model: Json = {}): Json {
  const vocab: [string, number][] = [['</s>', 0], ['<unk>', 0], ...MARIAN_PIECES, ['<pad>', 0]];
  const metaspace = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      [0, '</s>'],
      [1, '<unk>'],
      [vocab.length - 1, '<pad>'],
    ].map(([id, content]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Precompiled', precompiled_charsmap: btoa(String.fromCharCode(...buildCharsmap(NMT_SAMPLE))) },
    pre_tokenizer: metaspace,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [0], tokens: ['</s>'] } },
    },
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: 1, vocab, ...model },
    ...extra,
  };
}


/**
 * A SentencePiece precompiled charsmap (the layout charsmap.ts reads) mapping each rule's key to
 * its replacement: a double-array trie over the keys' UTF-8 bytes, each node's children placed at
 * the first free offset, then the NUL-terminated replacements.
 */
export function buildCharsmap(rules: readonly (readonly [string, string])[]): Uint8Array {
  interface Node {
    children: Map<number, Node>;
    value?: number;
  }
  const encoder = new TextEncoder();
  const root: Node = { children: new Map() };
  const pool: number[] = [];
  for (const [key, replacement] of rules) {
    let node = root;
    for (const byte of encoder.encode(key)) {
      let child = node.children.get(byte);
      if (child === undefined) node.children.set(byte, (child = { children: new Map() }));
      node = child;
    }
    node.value = pool.length;
    pool.push(...encoder.encode(replacement), 0);
  }
  const units: number[] = [];
  const used = new Set<number>([0]);
  // Places `node`'s children (and leaf, at label 0) below the unit at `pos`; returns that unit's offset.
  const place = (node: Node, pos: number): number => {
    const labels = [...(node.value !== undefined ? [0] : []), ...node.children.keys()];
    let offset = 1;
    while (labels.some((l) => used.has(pos ^ offset ^ l))) offset++;
    const base = pos ^ offset;
    for (const l of labels) used.add(base ^ l);
    if (node.value !== undefined) units[base] = (0x80000000 | node.value) >>> 0;
    for (const [label, child] of node.children) {
      const childPos = base ^ label;
      units[childPos] = 0; // reserved until its own offset is known
      const childOffset = place(child, childPos);
      units[childPos] = (label | (child.value !== undefined ? 0x100 : 0) | (childOffset << 10)) >>> 0;
    }
    return offset;
  };
  units[0] = place(root, 0) << 10;
  const trie = new Uint8Array(4 + 4 * units.length);
  const view = new DataView(trie.buffer);
  view.setUint32(0, 4 * units.length, true);
  for (let i = 0; i < units.length; i++) view.setUint32(4 + 4 * i, units[i] ?? 0, true);
  return Uint8Array.from([...trie, ...pool]);
}
