import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { parseCsvClassification, parseTsvPairs } from './pairs.js';

describe('parseTsvPairs', () => {
  it('reads pairs, skipping blank lines and accepting CRLF and a BOM', () => {
    const text = '\ufeffGo.\tVa !\r\n\nRun!\tCours !\textra\n';
    expect(parseTsvPairs(text)).toEqual([
      { source: 'Go.', target: 'Va !' },
      { source: 'Run!', target: 'Cours !' },
    ]);
  });

  it('picks columns and stops at maxPairs', () => {
    const text = 'a\tb\tc\nd\te\tf\ng\th\ti\n';
    expect(parseTsvPairs(text, { sourceColumn: 2, targetColumn: 0 })[1]).toEqual({ source: 'f', target: 'd' });
    expect(parseTsvPairs(text, { maxPairs: 2 })).toHaveLength(2);
  });

  it('names the source and line of a line with too few columns', () => {
    const text = 'a\tb\n\nno tab here\n';
    expect(() => parseTsvPairs(text, { source: 'data/x.tsv' })).toThrow(
      new DataError('data/x.tsv:3: expected at least 2 tab-separated columns, found 1'),
    );
  });

  it('names the source, line and column of an empty field', () => {
    expect(() => parseTsvPairs('a\tb\nc\t \n', { source: 'x.tsv' })).toThrow(new DataError('x.tsv:2: column 1 is empty'));
    expect(() => parseTsvPairs('\tb\n')).toThrow(new DataError('<input>:1: column 0 is empty'));
  });

  it('names the line and column of a field over maxFieldLength', () => {
    const text = `a\tb\n${'x'.repeat(11)}\tok\n`;
    expect(() => parseTsvPairs(text, { source: 'x.tsv', maxFieldLength: 10 })).toThrow(new DataError('x.tsv:2: column 0 is 11 characters long; at most 10 are accepted'));
    expect(parseTsvPairs(text, { maxFieldLength: 11 })).toHaveLength(2);
  });

  it('rejects input with no pairs and bad options', () => {
    expect(() => parseTsvPairs('\n\n', { source: 'e.tsv' })).toThrow(new DataError('e.tsv: no pairs found'));
    expect(() => parseTsvPairs('a\tb', { maxPairs: 0 })).toThrow(/^maxPairs: /);
    expect(() => parseTsvPairs('a\tb', { sourceColumn: -1 })).toThrow(/^sourceColumn: /);
  });
});

describe('parseCsvClassification', () => {
  it('reads features and the last column as label', () => {
    expect(parseCsvClassification('1,2,3\n4.5,-6,0\n')).toEqual([
      { features: [1, 2], label: 3 },
      { features: [4.5, -6], label: 0 },
    ]);
  });

  it('takes a label column, a header and spaces around fields', () => {
    expect(parseCsvClassification('y,a,b\n2, 7 ,8\r\n', { labelColumn: 0, header: true })).toEqual([{ features: [7, 8], label: 2 }]);
  });

  it('names the source, line and column of a non-numeric field', () => {
    expect(() => parseCsvClassification('1,2,3\n1,x,3\n', { source: 'd.csv' })).toThrow(
      new DataError('d.csv:2: column 1 is not a number: "x"'),
    );
    expect(() => parseCsvClassification('1,,3\n', { source: 'd.csv' })).toThrow(new DataError('d.csv:1: column 1 is not a number: ""'));
  });

  it('rejects ragged rows, bad labels and empty input', () => {
    expect(() => parseCsvClassification('1,2,3\n1,2\n', { source: 'd.csv' })).toThrow(
      new DataError('d.csv:2: expected 3 columns like the first row, found 2'),
    );
    expect(() => parseCsvClassification('1,2,1.5\n', { source: 'd.csv' })).toThrow(
      new DataError('d.csv:1: column 2 (label) must be an integer >= 0, got 1.5'),
    );
    expect(() => parseCsvClassification('1,2\n', { labelColumn: 5, source: 'd.csv' })).toThrow(/^d\.csv:1: labelColumn 5/);
    expect(() => parseCsvClassification('', { source: 'd.csv' })).toThrow(new DataError('d.csv: no rows found'));
  });
});
