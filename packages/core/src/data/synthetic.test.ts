import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  copyTask,
  DATE_FORMATS,
  dateTask,
  formatDate,
  englishOrdinal,
  reverseTask,
  sortTask,
  syntheticClassificationTask,
  syntheticTask,
  type DateFormat,
} from './synthetic.js';

describe('string tasks', () => {
  it('are deterministic by seed and differ across seeds', () => {
    expect(copyTask({ count: 50, seed: 1 })).toEqual(copyTask({ count: 50, seed: 1 }));
    expect(copyTask({ count: 50, seed: 1 })).not.toEqual(copyTask({ count: 50, seed: 2 }));
    expect(syntheticTask('sort', { count: 20, seed: 3 })).toEqual(sortTask({ count: 20, seed: 3 }));
  });

  it('copy, reverse and sort transform the source', () => {
    for (const { source, target } of copyTask({ count: 100, seed: 4 })) expect(target).toBe(source);
    for (const { source, target } of reverseTask({ count: 100, seed: 4 })) {
      expect(target).toBe([...source].reverse().join(''));
    }
    for (const { source, target } of sortTask({ count: 100, seed: 4 })) {
      expect(target).toBe([...source].sort().join(''));
    }
  });

  it('respects the length range and alphabet', () => {
    const pairs = reverseTask({ count: 500, seed: 5, minLength: 2, maxLength: 4, alphabet: 'xyz' });
    const lengths = new Set(pairs.map((p) => p.source.length));
    expect([...lengths].sort()).toEqual([2, 3, 4]);
    for (const p of pairs) expect(p.source).toMatch(/^[xyz]+$/);
  });

  it('sorts by alphabet order, not code points', () => {
    for (const { source, target } of sortTask({ count: 50, seed: 6, alphabet: 'cba' })) {
      const rank = (c: string) => 'cba'.indexOf(c);
      expect(target).toBe([...source].sort((a, b) => rank(a) - rank(b)).join(''));
    }
  });

  it('rejects bad options naming the field', () => {
    expect(() => copyTask({ count: -1, seed: 0 })).toThrow(/^count: /);
    expect(() => copyTask({ count: 1, seed: 0.5 })).toThrow(/^seed: /);
    expect(() => copyTask({ count: 1, seed: 0, minLength: 5, maxLength: 4 })).toThrow(/^maxLength: /);
    expect(() => copyTask({ count: 1, seed: 0, alphabet: 'aa' })).toThrow(ConfigError);
    expect(() => syntheticTask('nope' as 'copy', { count: 1, seed: 0 })).toThrow(/^task: unknown synthetic task "nope"/);
  });
});

// An independent reader of the task's source formats, written from the format list's
// examples, to check each source against its ISO target.
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

interface ReadDate {
  year: number;
  month: number;
  day: number;
  weekday?: string;
}

function monthOf(word: string): number {
  const i = MONTHS.findIndex((m) => m === word || (word.length === 3 && m.startsWith(word)));
  if (i < 0) throw new Error(`not a month: ${word}`);
  return i + 1;
}

function readSource(s: string): ReadDate {
  let m: RegExpMatchArray | null;
  const n = Number;
  if ((m = s.match(/^(\d\d)\/(\d\d)\/(\d{4})$/))) return { month: n(m[1]), day: n(m[2]), year: n(m[3]) };
  if ((m = s.match(/^([a-z]+), ([a-z]+) (\d+), (\d{4})$/))) return { weekday: m[1]!, month: monthOf(m[2]!), day: n(m[3]), year: n(m[4]) };
  if ((m = s.match(/^([a-z]+) the (\d+)(st|nd|rd|th) of ([a-z]+), (\d{4})$/))) {
    return { weekday: m[1]!, day: n(m[2]), month: monthOf(m[4]!), year: n(m[5]) };
  }
  if ((m = s.match(/^([a-z]{3}), (\d+) ([a-z]{3}) (\d{4})$/))) return { weekday: m[1]!, day: n(m[2]), month: monthOf(m[3]!), year: n(m[4]) };
  if ((m = s.match(/^the (\d+)(st|nd|rd|th) of ([a-z]+) (\d{4})$/))) return { day: n(m[1]), month: monthOf(m[3]!), year: n(m[4]) };
  if ((m = s.match(/^([a-z]+) (\d+)(st|nd|rd|th)?, (\d{4})$/))) return { month: monthOf(m[1]!), day: n(m[2]), year: n(m[4]) };
  if ((m = s.match(/^(\d+) ([a-z]+) (\d{4})$/))) return { day: n(m[1]), month: monthOf(m[2]!), year: n(m[3]) };
  throw new Error(`unreadable date source: ${s}`);
}

describe('dateTask', () => {
  const pairs = dateTask({ count: 20_000, seed: 7 });

  it('is deterministic by seed', () => {
    expect(dateTask({ count: 100, seed: 7 })).toEqual(pairs.slice(0, 100));
    expect(dateTask({ count: 100, seed: 8 })).not.toEqual(pairs.slice(0, 100));
  });

  it('maps every source to the ISO date it names, with true weekdays', () => {
    let weekdays = 0;
    for (const { source, target } of pairs) {
      expect(source).toBe(source.toLowerCase());
      expect(target).toMatch(/^\d{4}-\d\d-\d\d$/);
      const [y, mo, d] = target.split('-').map(Number) as [number, number, number];
      const read = readSource(source);
      expect({ year: read.year, month: read.month, day: read.day }).toEqual({ year: y, month: mo, day: d });
      const utc = new Date(Date.UTC(y, mo - 1, d));
      expect(utc.toISOString().slice(0, 10)).toBe(target); // a real calendar date
      expect(y).toBeGreaterThanOrEqual(1950);
      expect(y).toBeLessThanOrEqual(2049);
      if (read.weekday !== undefined) {
        weekdays++;
        const real = WEEKDAYS[utc.getUTCDay()]!;
        expect(read.weekday.length === 3 ? real.slice(0, 3) : real).toBe(read.weekday);
      }
    }
    expect(weekdays).toBeGreaterThan(1000);
  });

  it('uses every format', () => {
    const names = (words: readonly string[], full: string, short: string) => (t: string) =>
      t.replace(new RegExp(`\\b(${words.join('|')})\\b`, 'g'), full).replace(new RegExp(`\\b(${words.map((w) => w.slice(0, 3)).join('|')})\\b`, 'g'), short);
    const shape = (s: string) =>
      names(MONTHS, 'M', 'm')(names(WEEKDAYS, 'W', 'w')(s)).replace(/\d+(st|nd|rd|th)/g, 'N').replace(/\d+/g, '0');
    const expected = new Set(DATE_FORMATS.map((f) => shape(formatDate({ year: 2021, month: 3, day: 3 }, f))));
    expect(expected.size).toBe(DATE_FORMATS.length);
    // 'may' is both a full and a short month name, so it is left out of the comparison
    const shapes = new Set(pairs.filter((p) => !p.source.includes('may')).map((p) => shape(p.source)));
    expect(shapes).toEqual(expected);
  });

  it('has leap days only in leap years', () => {
    const leapDays = pairs.filter((p) => p.target.endsWith('-02-29'));
    expect(leapDays.length).toBeGreaterThan(0);
    for (const { target } of leapDays) {
      const y = Number(target.slice(0, 4));
      expect(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)).toBe(true);
    }
    expect(dateTask({ count: 500, seed: 9, minYear: 2000, maxYear: 2000 }).every((p) => p.target.startsWith('2000-'))).toBe(true);
  });

  it('formats a known date in every format', () => {
    const expected: Record<DateFormat, string> = {
      'month-ordinal': 'march 3rd, 2021',
      'month-day': 'march 3, 2021',
      'day-month': '3 march 2021',
      'short-month-day': 'mar 3, 2021',
      'day-short-month': '3 mar 2021',
      'the-ordinal-of-month': 'the 3rd of march 2021',
      'weekday-month-day': 'wednesday, march 3, 2021',
      'weekday-the-ordinal': 'wednesday the 3rd of march, 2021',
      'short-weekday-day-month': 'wed, 3 mar 2021',
      'numeric-mdy': '03/03/2021',
    };
    for (const format of DATE_FORMATS) expect(formatDate({ year: 2021, month: 3, day: 3 }, format)).toBe(expected[format]);
    expect(formatDate({ year: 2000, month: 2, day: 29 }, 'weekday-month-day')).toBe('tuesday, february 29, 2000');
    expect(() => formatDate({ year: 1900, month: 2, day: 29 }, 'month-day')).toThrow(/not a calendar date/);
  });

  it('writes ordinals', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 30, 31].map(englishOrdinal)).toEqual(
      ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd', '30th', '31st'],
    );
  });

  it('restricts formats and validates years', () => {
    const only = dateTask({ count: 50, seed: 1, formats: ['numeric-mdy'] });
    for (const p of only) expect(p.source).toMatch(/^\d\d\/\d\d\/\d{4}$/);
    expect(() => dateTask({ count: 1, seed: 0, minYear: 2000, maxYear: 1999 })).toThrow(/^maxYear: /);
    expect(() => dateTask({ count: 1, seed: 0, formats: ['iso' as DateFormat] })).toThrow(/^formats: unknown format "iso"/);
  });
});

describe('syntheticClassificationTask', () => {
  it('majority: label 1 when b outnumbers a, odd lengths, both classes present', () => {
    const data = syntheticClassificationTask('majority', { count: 1000, seed: 1, minLength: 4, maxLength: 9 });
    for (const { text, label } of data) {
      expect(text).toMatch(/^[ab]+$/);
      expect(text.length % 2).toBe(1);
      const bs = text.split('').filter((c) => c === 'b').length;
      expect(label).toBe(bs > text.length - bs ? 1 : 0);
    }
    const ones = data.filter((d) => d.label === 1).length;
    expect(ones).toBeGreaterThan(400);
    expect(ones).toBeLessThan(600);
  });

  it('parity: label = number of b mod 2; deterministic', () => {
    const data = syntheticClassificationTask('parity', { count: 300, seed: 2 });
    for (const { text, label } of data) expect(label).toBe((text.split('b').length - 1) % 2);
    expect(syntheticClassificationTask('parity', { count: 300, seed: 2 })).toEqual(data);
  });

  it('rejects a range with no odd length for majority, and unknown names', () => {
    expect(() => syntheticClassificationTask('majority', { count: 1, seed: 0, minLength: 4, maxLength: 4 })).toThrow(/^maxLength: /);
    expect(() => syntheticClassificationTask('x' as 'parity', { count: 1, seed: 0 })).toThrow(/^task: /);
  });
});
