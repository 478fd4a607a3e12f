// A small made-up digits8x8.csv for the captioner's CLI tests: 100 "digits" of 8 × 8 values
// 0–16, digit k a bar at column k % 8 (and row 4 for k ≥ 8), then the label.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes the file as `dir`/digits.csv and returns its path. */
export async function writeBarDigits(dir: string): Promise<string> {
  const rows = Array.from({ length: 100 }, (_, i) => {
    const label = i % 10;
    const pixels = Array.from({ length: 64 }, (_, p) => (p % 8 === label % 8 || (label >= 8 && Math.floor(p / 8) === 4) ? 16 : (i * 7 + p) % 3));
    return [...pixels, label].join(',');
  });
  const file = join(dir, 'digits.csv');
  await writeFile(file, rows.join('\n') + '\n');
  return file;
}
