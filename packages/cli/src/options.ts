// Parsers for option values, shared by the commands. They throw commander's
// InvalidArgumentError, which commander reports naming the option and the value it rejected.

import { InvalidArgumentError } from 'commander';
import { MAX_SEED } from '@attend/core';

/** The seed when none is given, the same in every command (`train`, `infer`, `generate`, `translate`, `quickstart`) and in `attend serve`'s requests. */
export const DEFAULT_SEED = 1;

function numberWhere(test: (n: number) => boolean, expected: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !test(n)) throw new InvalidArgumentError(`expected ${expected}.`);
    return n;
  };
}

export const positiveInt = numberWhere((n) => Number.isInteger(n) && n > 0, 'a positive integer');
export const nonNegativeInt = numberWhere((n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
export const positiveNumber = numberWhere((n) => Number.isFinite(n) && n > 0, 'a positive number');
/** A seed: an integer in [0, 2^32), the range the random streams take without repeating. */
export const seed = numberWhere((n) => Number.isInteger(n) && n >= 0 && n <= MAX_SEED, `an integer from 0 to ${MAX_SEED} (2^32 - 1)`);
export const probability = numberWhere((n) => Number.isFinite(n) && n > 0 && n <= 1, 'a number in (0, 1]');
/** A comma-separated list of positive integers ("16,32"); an empty value is the empty list. */
export function positiveIntList(value: string): number[] {
  return value.trim() === '' ? [] : value.split(',').map((part) => positiveInt(part.trim()));
}

/** Human file size: 1234 → "1.2 kB". */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}
