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
    throw fileError(path, err);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) throw new DataError(`${path}: file is empty`);
  return text;
}

/** A DataError naming `path` for a failure to open or read it. */
function fileError(path: string, err: unknown): DataError {
  if (err instanceof DataError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return new DataError(`${path}: no such file`);
  if (code === 'EISDIR') return new DataError(`${path}: is a directory, not a file`);
  if (code === 'EACCES') return new DataError(`${path}: permission denied`);
  return new DataError(`${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
}

/** Longest line the line readers accept, in characters: what they hold stays bounded whatever the input. */
export const MAX_LINE_CHARS = 1_000_000;

/**
 * The lines of a UTF-8 byte stream (a file's chunks, stdin) as they arrive, with their 1-based
 * numbers, without a BOM or line ends (`\n` or `\r\n`). Holds one chunk and one line at a time,
 * however long the stream; bad UTF-8 or a line over `maxLineChars` is a DataError naming `source`
 * and the line.
 */
export async function* numberedLines(chunks: AsyncIterable<Uint8Array>, source: string, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<{ text: string; line: number }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1; // the number of the line `pending` belongs to
  let pending = '';
  const newlines = (text: string): number => text.match(/\n/g)?.length ?? 0;
  const decode = (bytes: Uint8Array, stream: boolean) => {
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      // The line of the first bad byte: the chunk's lines before the replacement character a
      // lenient decoding puts there, counted from the line `pending` is on.
      const lenient = new TextDecoder('utf-8').decode(bytes);
      const bad = lenient.indexOf('\uFFFD');
      throw new DataError(`${source}:${line + newlines(pending) + newlines(bad < 0 ? '' : lenient.slice(0, bad))}: not valid UTF-8; save the file as UTF-8`);
    }
  };
  const tooLong = () => new DataError(`${source}:${line}: a line longer than ${maxLineChars.toLocaleString('en-US')} characters; inputs are one per line`);
  for await (const chunk of chunks) {
    pending += decode(chunk, true);
    let start = 0;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
      const text = pending.slice(start, pending.charCodeAt(end - 1) === 13 && end > start ? end - 1 : end);
      if (text.length > maxLineChars) throw tooLong();
      yield { text, line };
      line++;
      start = end + 1;
    }
    pending = pending.slice(start);
    if (pending.length > maxLineChars) throw tooLong();
  }
  pending += decode(new Uint8Array(0), false);
  if (pending.endsWith('\r')) pending = pending.slice(0, -1);
  if (pending.length > maxLineChars) throw tooLong();
  if (pending.length > 0) yield { text: pending, line };
}

/** The non-empty lines of a UTF-8 byte stream, as `numberedLines` reads them. */
export async function* textLines(chunks: AsyncIterable<Uint8Array>, source: string, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<string> {
  for await (const { text } of numberedLines(chunks, source, maxLineChars)) if (text.length > 0) yield text;
}

/** `numberedLines` of a file, read as a stream; a missing, unreadable or directory path is a DataError naming it. */
export async function* readNumberedLines(path: string, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<{ text: string; line: number }> {
  const { open } = await import('node:fs/promises');
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new DataError(`${path}: is a directory, not a file`);
    }
  } catch (err) {
    throw fileError(path, err);
  }
  try {
    yield* numberedLines(handle.createReadStream({ autoClose: false }), path, maxLineChars);
  } catch (err) {
    throw fileError(path, err);
  } finally {
    await handle.close();
  }
}

/** The non-empty lines of a file (see `readNumberedLines`). */
export async function* readTextLines(path: string, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<string> {
  for await (const { text } of readNumberedLines(path, maxLineChars)) if (text.length > 0) yield text;
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
