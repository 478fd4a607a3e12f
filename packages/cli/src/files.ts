// Writing output files the way every command does: to a temporary file beside the target,
// then renamed over it, so a reader never sees half a file. Reading input files in pieces, so
// memory stays flat in the file's length.

import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CliError } from './errors.js';
import { MAX_LINE_CHARS, readNumberedLines } from '@attend/core';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * The text of the regular file `path` (UTF-8, a leading BOM dropped) in pieces that end at a
 * line end, read 64 KiB at a time: memory stays flat however long the file. A piece without a
 * line end in MAX_LINE_CHARS characters is cut there. One-line CliErrors name the file.
 */
export async function* textPieces(path: string): AsyncGenerator<string> {
  await checkTextFile(path);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let lines = 1;
  let first = true;
  const newlines = (text: string): number => text.match(/\n/g)?.length ?? 0;
  const decode = (bytes?: Uint8Array): string => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      // The line of the first bad byte: the lines before this chunk, then those of the chunk up to
      // the first replacement character a lenient decoding puts there.
      const lenient = bytes ? new TextDecoder('utf-8').decode(bytes) : '';
      const bad = lenient.indexOf('\uFFFD');
      throw new CliError(`${path}:${lines + newlines(rest) + newlines(bad < 0 ? '' : lenient.slice(0, bad))}: not valid UTF-8; save the file as UTF-8`);
    }
  };
  const take = (end: number): string => {
    let piece = rest.slice(0, end);
    rest = rest.slice(end);
    if (first && piece.charCodeAt(0) === 0xfeff) piece = piece.slice(1);
    first = false;
    lines += newlines(piece);
    return piece;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 })) {
    rest += decode(chunk as Buffer);
    const cut = rest.lastIndexOf('\n') + 1;
    if (cut > 0) yield take(cut);
    else if (rest.length >= MAX_LINE_CHARS) yield take(rest.length);
  }
  rest += decode();
  if (rest.length > 0) yield take(rest.length);
}

/** A regular, non-empty file: what `textPieces` and `fileLines` read; one-line CliErrors name it. */
async function checkTextFile(path: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(error.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${error.message})`);
  });
  if (!info.isFile()) throw new CliError(`${path}: not a regular file`);
  if (info.size === 0) throw new CliError(`${path}: file is empty`);
}

/** The lines of `path` (ends `\n` or `\r\n`, a BOM dropped) with their 1-based numbers, as core's `readNumberedLines` streams them. */
export async function* fileLines(path: string): AsyncGenerator<{ text: string; line: number }> {
  await checkTextFile(path);
  yield* readNumberedLines(path);
}
