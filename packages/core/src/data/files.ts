// Readers of data files, for Node. The only module of the data layer that touches the
// file system, and it imports `node:fs/promises` lazily inside each call, so importing
// @attend/core in a browser stays free of Node built-ins until a reader is called.

import { DataError } from '../errors.js';
import { parseCsvClassification, parseTsvPairs, type CsvClassificationOptions, type LabeledFeatures, type TsvPairsOptions } from './pairs.js';
import type { TextPair } from './synthetic.js';

/** A UTF-8 text file without its BOM; throws a DataError for a missing, unreadable or empty file. */
export async function readTextFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
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
