// Parsers for the two tabular formats attend reads: tab-separated sentence pairs
// (Tatoeba / manythings.org `English<TAB>French`) and numeric CSV with a class label
// (the UCI 8×8 digits). They take strings, so they run in the browser too; a bad line
// throws one DataError naming `source:line` (1-based) and the column (0-based).

import { ConfigError, DataError } from '../errors.js';
import type { TextPair } from './synthetic.js';

export interface TsvPairsOptions {
  /** Name used in error messages, usually the file path. Default `<input>`. */
  source?: string;
  /** 0-based column of the source sentence; default 0. */
  sourceColumn?: number;
  /** 0-based column of the target sentence; default 1. */
  targetColumn?: number;
  /** Stop after this many pairs (later lines are not read). Default: all. */
  maxPairs?: number;
  /** Longest field accepted, in characters (UTF-16 code units); a longer one is an error. Default: any. */
  maxFieldLength?: number;
}

/**
 * One pair per line; columns beyond the two used are ignored, blank lines are skipped,
 * `\r\n` line ends and a leading BOM are accepted. Fields are kept as written.
 */
export function parseTsvPairs(text: string, opts: TsvPairsOptions = {}): TextPair[] {
  const { source: name = '<input>', sourceColumn = 0, targetColumn = 1, maxPairs, maxFieldLength = Infinity } = opts;
  checkColumn('sourceColumn', sourceColumn);
  checkColumn('targetColumn', targetColumn);
  if (maxPairs !== undefined && (!Number.isInteger(maxPairs) || maxPairs < 1)) {
    throw new ConfigError('maxPairs', `must be an integer >= 1, got ${maxPairs}`);
  }
  const needed = Math.max(sourceColumn, targetColumn) + 1;
  const limit = maxPairs ?? Infinity;
  const pairs: TextPair[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length && pairs.length < limit; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const fields = line.split('\t');
    if (fields.length < needed) {
      throw new DataError(`${name}:${i + 1}: expected at least ${needed} tab-separated columns, found ${fields.length}`);
    }
    for (const column of [sourceColumn, targetColumn]) {
      if (fields[column]!.trim() === '') throw new DataError(`${name}:${i + 1}: column ${column} is empty`);
      if (fields[column]!.length > maxFieldLength) throw new DataError(`${name}:${i + 1}: column ${column} is ${fields[column]!.length} characters long; at most ${maxFieldLength} are accepted`);
    }
    pairs.push({ source: fields[sourceColumn]!, target: fields[targetColumn]! });
  }
  if (pairs.length === 0) throw new DataError(`${name}: no pairs found`);
  return pairs;
}

/** A row of numeric features and its integer class label. */
export interface LabeledFeatures {
  features: number[];
  label: number;
}

export interface CsvClassificationOptions {
  /** Name used in error messages, usually the file path. Default `<input>`. */
  source?: string;
  /** 0-based column of the label, or `'last'` (default). */
  labelColumn?: number | 'last';
  /** Skip the first line as a header. Default false. */
  header?: boolean;
}

/**
 * Comma-separated numbers, one example per line, every line with the same number of
 * columns; the label must be an integer >= 0. Plain numeric CSV only: no quoting.
 */
export function parseCsvClassification(text: string, opts: CsvClassificationOptions = {}): LabeledFeatures[] {
  const { source: name = '<input>', labelColumn = 'last', header = false } = opts;
  if (labelColumn !== 'last') checkColumn('labelColumn', labelColumn);
  const rows: LabeledFeatures[] = [];
  const lines = splitLines(text);
  let columns = -1;
  for (let i = header ? 1 : 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const where = `${name}:${i + 1}`;
    const fields = line.split(',');
    if (columns < 0) {
      columns = fields.length;
      if (columns < 2) throw new DataError(`${where}: expected features and a label, found ${columns} column`);
      if (labelColumn !== 'last' && labelColumn >= columns) {
        throw new DataError(`${where}: labelColumn ${labelColumn} is past the last column (${columns - 1})`);
      }
    } else if (fields.length !== columns) {
      throw new DataError(`${where}: expected ${columns} columns like the first row, found ${fields.length}`);
    }
    const labelAt = labelColumn === 'last' ? columns - 1 : labelColumn;
    const features: number[] = [];
    let label = 0;
    for (let c = 0; c < columns; c++) {
      const field = fields[c]!.trim();
      const value = field === '' ? NaN : Number(field);
      if (!Number.isFinite(value)) throw new DataError(`${where}: column ${c} is not a number: ${JSON.stringify(field)}`);
      if (c !== labelAt) features.push(value);
      else if (Number.isInteger(value) && value >= 0) label = value;
      else throw new DataError(`${where}: column ${c} (label) must be an integer >= 0, got ${field}`);
    }
    rows.push({ features, label });
  }
  if (rows.length === 0) throw new DataError(`${name}: no rows found`);
  return rows;
}

/** Lines without their `\n` / `\r\n` ends, after removing a leading BOM; a final newline adds no line. */
function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function checkColumn(field: string, column: number): void {
  if (!Number.isInteger(column) || column < 0) throw new ConfigError(field, `must be an integer >= 0, got ${column}`);
}
