// Readers of data files, for Node. The only module of the data layer that touches the
// file system, and it imports `node:fs/promises` lazily inside each call, so importing
// @attend/core in a browser stays free of Node built-ins until a reader is called.

import { DataError } from '../errors.js';
import { parseCsvClassification, parseTsvPairs, type CsvClassificationOptions, type LabeledFeatures, type TsvPairsOptions } from './pairs.js';
import type { TextPair } from './synthetic.js';

/**
 * A UTF-8 text file without its BOM; throws a DataError for a missing, unreadable or empty
 * file, or one that is not valid UTF-8 (naming the line of the first bad byte).
 */
export async function readTextFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    const bytes = await readFile(path);
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      const at = firstInvalidUtf8(bytes);
      const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
      throw new DataError(`${path}:${line}: not valid UTF-8 (byte ${at} is 0x${bytes[at]!.toString(16).padStart(2, '0')}); save the file as UTF-8`);
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') throw new DataError(`${path}: no such file`);
    if (code === 'EISDIR') throw new DataError(`${path}: is a directory, not a file`);
    if (code === 'EACCES') throw new DataError(`${path}: permission denied`);
    throw new DataError(`${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) throw new DataError(`${path}: file is empty`);
  return text;
}

/** `parseTsvPairs` over a file; errors name the path and line. */
export async function readTsvPairs(path: string, opts: Omit<TsvPairsOptions, 'source'> = {}): Promise<TextPair[]> {
  return parseTsvPairs(await readTextFile(path), { ...opts, source: path });
}

/** `parseCsvClassification` over a file; errors name the path and line. */
export async function readCsvClassification(
  path: string,
  opts: Omit<CsvClassificationOptions, 'source'> = {},
): Promise<LabeledFeatures[]> {
  return parseCsvClassification(await readTextFile(path), { ...opts, source: path });
}

/** Offset of the first byte that does not continue a valid UTF-8 sequence (bytes.length if none). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return bytes.length;
}
