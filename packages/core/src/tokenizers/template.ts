// The `post_processor` of a Hugging Face tokenizer.json that WordPiece and Unigram files carry:
// TemplateProcessing (BERT's `[CLS] $A [SEP]` and `[CLS] $A [SEP] $B [SEP]`, Marian's `$A </s>`),
// the older BertProcessing (the same template spelled as cls/sep pairs), or none. Applied by
// `encodeWithSpecialTokens`: the ids with the special tokens added, and each id's type id.

import { type Fail, isObject, type JsonObject, show } from './hf-fields.js';

/** Ids of a single text or a pair with the template's special tokens, and the type id of each. */
export interface EncodedWithSpecialTokens {
  ids: number[];
  typeIds: number[];
}

/** One template item: special-token ids, or sequence A or B; with the type id they get. */
type TemplateItem = { readonly ids: readonly number[]; readonly typeId: number } | { readonly sequence: 'A' | 'B'; readonly typeId: number };

export class TemplateProcessor {
  private constructor(
    private readonly single: readonly TemplateItem[],
    private readonly pair: readonly TemplateItem[],
  ) {}

  /** `json` is the file's post_processor; every special token must be in `tokens` with the ids given. */
  static fromJSON(json: unknown, tokens: readonly string[], fail: Fail): TemplateProcessor {
    if (json === null || json === undefined) {
      return new TemplateProcessor([{ sequence: 'A', typeId: 0 }], [{ sequence: 'A', typeId: 0 }, { sequence: 'B', typeId: 1 }]);
    }
    if (!isObject(json)) return fail(`post_processor must be an object or null, got ${show(json)}`);
    if (json.type === 'BertProcessing') {
      const special = (field: 'cls' | 'sep'): TemplateItem => {
        const value = json[field];
        if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || tokens[value[1] as number] !== value[0]) {
          fail(`post_processor.${field} must be [token, id] with the id model.vocab gives the token, got ${show(value)}`);
        }
        return { ids: [(value as number[])[1]!], typeId: 0 };
      };
      const [cls, sep] = [special('cls'), special('sep')];
      return new TemplateProcessor(
        [cls, { sequence: 'A', typeId: 0 }, sep],
        [cls, { sequence: 'A', typeId: 0 }, sep, { sequence: 'B', typeId: 1 }, { ...sep, typeId: 1 }],
      );
    }
    if (json.type !== 'TemplateProcessing') {
      return fail(`post_processor.type ${show(json.type)} is not supported (supported: TemplateProcessing, BertProcessing, null)`);
    }
    const specials = json.special_tokens;
    if (!isObject(specials)) return fail(`post_processor.special_tokens must be an object, got ${show(specials)}`);
    const items = (field: 'single' | 'pair'): TemplateItem[] => {
      const list = json[field];
      if (!Array.isArray(list)) return fail(`post_processor.${field} must be an array, got ${show(list)}`);
      return list.map((item: unknown, i) => readItem(item, `post_processor.${field}[${i}]`, specials, tokens, fail));
    };
    return new TemplateProcessor(items('single'), items('pair'));
  }

  /** The template applied to the ids of one text (`b` undefined) or of a pair. */
  apply(a: readonly number[], b?: readonly number[]): EncodedWithSpecialTokens {
    const out: EncodedWithSpecialTokens = { ids: [], typeIds: [] };
    for (const item of b === undefined ? this.single : this.pair) {
      const ids = 'ids' in item ? item.ids : item.sequence === 'A' ? a : (b ?? []);
      for (const id of ids) {
        out.ids.push(id);
        out.typeIds.push(item.typeId);
      }
    }
    return out;
  }
}

function readItem(item: unknown, path: string, specials: JsonObject, tokens: readonly string[], fail: Fail): TemplateItem {
  const typeId = (inner: JsonObject): number => {
    const value = inner.type_id ?? 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(`${path} type_id must be a non-negative integer, got ${show(value)}`);
    return value as number;
  };
  if (isObject(item) && isObject(item.Sequence)) {
    const id = item.Sequence.id;
    if (id !== 'A' && id !== 'B') return fail(`${path}.Sequence.id must be "A" or "B", got ${show(id)}`);
    return { sequence: id, typeId: typeId(item.Sequence) };
  }
  if (isObject(item) && isObject(item.SpecialToken)) {
    const name = item.SpecialToken.id;
    const special = typeof name === 'string' && Object.hasOwn(specials, name) ? specials[name] : undefined;
    if (!isObject(special)) return fail(`${path} names ${show(name)}, which post_processor.special_tokens does not define`);
    const ids = special.ids;
    const names = special.tokens;
    if (!Array.isArray(ids) || !Array.isArray(names) || ids.length !== names.length || ids.some((id, i) => tokens[id as number] !== names[i])) {
      return fail(`post_processor.special_tokens[${show(name)}] must list ids and tokens that model.vocab pairs, got ${show(special)}`);
    }
    return { ids: ids as number[], typeId: typeId(item.SpecialToken) };
  }
  return fail(`${path} must be {"Sequence": ...} or {"SpecialToken": ...}, got ${show(item)}`);
}
