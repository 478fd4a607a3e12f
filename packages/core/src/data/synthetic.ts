// Synthetic tasks generated in code, seeded, for testing that a model can learn at all:
// copy / reverse / sort of random strings (the classic seq2seq sanity checks), date
// normalisation (natural-language date → ISO 8601), and two toy classification tasks.

import { ConfigError } from '../errors.js';
import { createRng, type Rng } from '../random.js';

/** A source → target string pair, the unit of every seq2seq dataset in attend. */
export interface TextPair {
  source: string;
  target: string;
}

/** A text with an integer class label, the unit of every classification dataset. */
export interface LabeledText {
  text: string;
  label: number;
  /** A sentence pair's second text (segment B, token type 1). */
  pair?: string;
}

export const SYNTHETIC_TASKS = ['copy', 'reverse', 'sort', 'date'] as const;
export type SyntheticTaskName = (typeof SYNTHETIC_TASKS)[number];

export const SYNTHETIC_CLASSIFICATION_TASKS = ['majority', 'parity'] as const;
export type SyntheticClassificationTaskName = (typeof SYNTHETIC_CLASSIFICATION_TASKS)[number];

export interface SyntheticTaskOptions {
  /** Number of examples to generate. */
  count: number;
  /** Seed of the generator; the same options always give the same examples. */
  seed: number;
  /** Shortest string (copy, reverse, sort, majority, parity); default 3. Ignored by `date`. */
  minLength?: number;
  /** Longest string (inclusive); default 12. Ignored by `date`. */
  maxLength?: number;
}

export interface StringTaskOptions extends SyntheticTaskOptions {
  /** Characters the strings are drawn from; default the 26 lowercase letters. */
  alphabet?: string;
}

const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const DEFAULT_MIN_LENGTH = 3;
const DEFAULT_MAX_LENGTH = 12;

/** target = source. */
export function copyTask(opts: StringTaskOptions): TextPair[] {
  return stringTask(opts, (chars) => chars);
}

/** target = source reversed. */
export function reverseTask(opts: StringTaskOptions): TextPair[] {
  return stringTask(opts, (chars) => chars.slice().reverse());
}

/** target = the characters of source in alphabet order (the order of `alphabet`, not code points). */
export function sortTask(opts: StringTaskOptions): TextPair[] {
  const alphabet = Array.from(opts.alphabet ?? LOWERCASE);
  const rank = new Map(alphabet.map((c, i) => [c, i]));
  return stringTask(opts, (chars) => chars.slice().sort((a, b) => rank.get(a)! - rank.get(b)!));
}

function stringTask(opts: StringTaskOptions, transform: (chars: string[]) => string[]): TextPair[] {
  const { count, rng, minLength, maxLength } = checkCommon(opts);
  const alphabet = Array.from(opts.alphabet ?? LOWERCASE);
  if (alphabet.length === 0 || new Set(alphabet).size !== alphabet.length) {
    throw new ConfigError('alphabet', `must be a non-empty string of distinct characters, got ${JSON.stringify(opts.alphabet)}`);
  }
  const out: TextPair[] = [];
  for (let i = 0; i < count; i++) {
    const length = minLength + rng.int(maxLength - minLength + 1);
    const chars = Array.from({ length }, () => rng.pick(alphabet));
    out.push({ source: chars.join(''), target: transform(chars).join('') });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Dates

const MONTH_NAMES = [
  'january', 'february', 'march', 'april', 'may', 'june',
  'july', 'august', 'september', 'october', 'november', 'december',
] as const;
/** Indexed like `Date.getUTCDay()`: 0 = sunday. */
const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/**
 * Source formats of the date task, shown for 2021-03-03 (a wednesday). All lowercase.
 * The only numeric format is month-first (`mm/dd/yyyy`, the US convention), so that every
 * source has exactly one reading.
 */
export const DATE_FORMATS = [
  'month-ordinal', //             march 3rd, 2021
  'month-day', //                 march 3, 2021
  'day-month', //                 3 march 2021
  'short-month-day', //           mar 3, 2021
  'day-short-month', //           3 mar 2021
  'the-ordinal-of-month', //      the 3rd of march 2021
  'weekday-month-day', //         wednesday, march 3, 2021
  'weekday-the-ordinal', //       wednesday the 3rd of march, 2021
  'short-weekday-day-month', //   wed, 3 mar 2021
  'numeric-mdy', //               03/03/2021
] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** A calendar date; `month` is 1–12. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export interface DateTaskOptions {
  count: number;
  seed: number;
  /** First year (inclusive); default 1950. */
  minYear?: number;
  /** Last year (inclusive); default 2049. */
  maxYear?: number;
  /** Source formats to draw from, uniformly; default all of `DATE_FORMATS`. */
  formats?: readonly DateFormat[];
}

const DAY_MS = 86_400_000;

/**
 * Date normalisation: source is a date written in one of `DATE_FORMATS`, target is
 * `YYYY-MM-DD`. Dates are uniform over the days of [minYear, maxYear], so only real
 * calendar dates occur (29 february only in leap years) and printed weekdays are true.
 */
export function dateTask(opts: DateTaskOptions): TextPair[] {
  const count = checkCount(opts.count);
  const rng = createRng(checkSeed(opts.seed));
  const minYear = opts.minYear ?? 1950;
  const maxYear = opts.maxYear ?? 2049;
  for (const [field, year] of [['minYear', minYear], ['maxYear', maxYear]] as const) {
    if (!Number.isInteger(year) || year < 1000 || year > 9999) {
      throw new ConfigError(field, `must be an integer year in 1000..9999, got ${year}`);
    }
  }
  if (minYear > maxYear) throw new ConfigError('maxYear', `must be >= minYear (${minYear}), got ${maxYear}`);
  const formats = opts.formats ?? DATE_FORMATS;
  if (formats.length === 0) throw new ConfigError('formats', 'must list at least one format');
  for (const f of formats) {
    if (!(DATE_FORMATS as readonly string[]).includes(f)) {
      throw new ConfigError('formats', `unknown format "${f}"; expected one of ${DATE_FORMATS.join(', ')}`);
    }
  }
  const firstDay = Date.UTC(minYear, 0, 1) / DAY_MS;
  const numDays = Date.UTC(maxYear + 1, 0, 1) / DAY_MS - firstDay;
  const out: TextPair[] = [];
  for (let i = 0; i < count; i++) {
    const d = new Date((firstDay + rng.int(numDays)) * DAY_MS);
    const date = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
    out.push({ source: formatDate(date, rng.pick(formats)), target: isoDate(date) });
  }
  return out;
}

/** `YYYY-MM-DD`. */
export function isoDate({ year, month, day }: CalendarDate): string {
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

/** Writes a (valid) calendar date in one of the task's source formats. */
export function formatDate(date: CalendarDate, format: DateFormat): string {
  const { year, month, day } = date;
  const utc = new Date(Date.UTC(year, month - 1, day));
  if (utc.getUTCFullYear() !== year || utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day) {
    throw new ConfigError('date', `${year}-${month}-${day} is not a calendar date`);
  }
  const name = MONTH_NAMES[month - 1]!;
  const short = name.slice(0, 3);
  const weekday = WEEKDAY_NAMES[utc.getUTCDay()]!;
  const nth = englishOrdinal(day);
  switch (format) {
    case 'month-ordinal': return `${name} ${nth}, ${year}`;
    case 'month-day': return `${name} ${day}, ${year}`;
    case 'day-month': return `${day} ${name} ${year}`;
    case 'short-month-day': return `${short} ${day}, ${year}`;
    case 'day-short-month': return `${day} ${short} ${year}`;
    case 'the-ordinal-of-month': return `the ${nth} of ${name} ${year}`;
    case 'weekday-month-day': return `${weekday}, ${name} ${day}, ${year}`;
    case 'weekday-the-ordinal': return `${weekday} the ${nth} of ${name}, ${year}`;
    case 'short-weekday-day-month': return `${weekday.slice(0, 3)}, ${day} ${short} ${year}`;
    case 'numeric-mdy': return `${pad2(month)}/${pad2(day)}/${year}`;
    default: throw new ConfigError('format', `unknown date format "${String(format)}"; expected one of ${DATE_FORMATS.join(', ')}`);
  }
}

/** 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st, 22nd, 23rd, …, 31st. */
export function englishOrdinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  const suffix = ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------
// Dispatch by name (what the CLI calls)

/** One of the seq2seq tasks by name; `minLength`/`maxLength` do not apply to `date`. */
export function syntheticTask(name: SyntheticTaskName, opts: SyntheticTaskOptions): TextPair[] {
  switch (name) {
    case 'copy': return copyTask(opts);
    case 'reverse': return reverseTask(opts);
    case 'sort': return sortTask(opts);
    case 'date': return dateTask({ count: opts.count, seed: opts.seed });
    default: throw new ConfigError('task', `unknown synthetic task "${String(name)}"; expected one of ${SYNTHETIC_TASKS.join(', ')}`);
  }
}

/**
 * Two-class toy tasks over strings of `a` and `b`, for the encoder classifier:
 * - `majority`: label 1 if `b` occurs more often than `a`, else 0. Lengths are odd, so
 *   there are no ties (the range [minLength, maxLength] must contain an odd number).
 * - `parity`: label = number of `b`s mod 2 (hard for attention: it needs every token).
 */
export function syntheticClassificationTask(
  name: SyntheticClassificationTaskName,
  opts: SyntheticTaskOptions,
): LabeledText[] {
  if (!(SYNTHETIC_CLASSIFICATION_TASKS as readonly string[]).includes(name)) {
    throw new ConfigError('task', `unknown classification task "${String(name)}"; expected one of ${SYNTHETIC_CLASSIFICATION_TASKS.join(', ')}`);
  }
  const { count, rng, minLength, maxLength } = checkCommon(opts);
  const lengths: number[] = [];
  for (let n = minLength; n <= maxLength; n++) if (name !== 'majority' || n % 2 === 1) lengths.push(n);
  if (lengths.length === 0) {
    throw new ConfigError('maxLength', `majority needs an odd length in ${minLength}..${maxLength}`);
  }
  const out: LabeledText[] = [];
  for (let i = 0; i < count; i++) {
    const length = rng.pick(lengths);
    let text = '';
    let bs = 0;
    for (let j = 0; j < length; j++) {
      const isB = rng.int(2) === 1;
      bs += isB ? 1 : 0;
      text += isB ? 'b' : 'a';
    }
    const label = name === 'majority' ? (bs * 2 > length ? 1 : 0) : bs % 2;
    out.push({ text, label });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Option checks

function checkCommon(opts: SyntheticTaskOptions): { count: number; rng: Rng; minLength: number; maxLength: number } {
  const count = checkCount(opts.count);
  const rng = createRng(checkSeed(opts.seed));
  const minLength = opts.minLength ?? DEFAULT_MIN_LENGTH;
  const maxLength = opts.maxLength ?? Math.max(DEFAULT_MAX_LENGTH, minLength);
  if (!Number.isInteger(minLength) || minLength < 1) {
    throw new ConfigError('minLength', `must be an integer >= 1, got ${minLength}`);
  }
  if (!Number.isInteger(maxLength) || maxLength < minLength) {
    throw new ConfigError('maxLength', `must be an integer >= minLength (${minLength}), got ${maxLength}`);
  }
  return { count, rng, minLength, maxLength };
}

function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 0) throw new ConfigError('count', `must be an integer >= 0, got ${count}`);
  return count;
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  return seed;
}
