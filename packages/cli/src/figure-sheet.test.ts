import { describe, expect, it } from 'vitest';
import { figureSheetSvg, svgSize } from './figure-sheet.js';
import { xmlProblem } from './test-utils/xml.js';

/** A figure of `width` × `height` with a clip path of id `clip1` that one of its rects uses. */
const figure = (width: number, height: number, label: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><defs><clipPath id="clip1"><rect width="5" height="5"/></clipPath></defs>` +
  `<rect clip-path="url(#clip1)" width="${width}" height="${height}"/><text>${label}</text></svg>\n`;

describe('figureSheetSvg', () => {
  it('places each row on a new line, wrapping a row where the next figure would pass maxWidth', () => {
    const sheet = figureSheetSvg('a & b', [[figure(300, 100, 'A'), figure(300, 120, 'B'), figure(300, 50, 'C')], [figure(200, 80, 'D')]], { maxWidth: 700, gap: 10 });
    expect(xmlProblem(sheet)).toBeUndefined();
    const at = [...sheet.matchAll(/<svg x="(\d+)" y="(\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    // A and B side by side (10 + 300 + 10 + 300 = 620 ≤ 700), C wraps under the taller B, D starts the next row.
    expect(at).toEqual([[10, 36], [320, 36], [10, 166], [10, 226]]);
    expect(svgSize(sheet, 'sheet')).toEqual({ width: 630, height: 316 });
    expect(sheet).toContain('>a &amp; b</text>');
  });

  it('gives each figure ids of its own, with the references to them', () => {
    const sheet = figureSheetSvg('t', [[figure(100, 100, 'A'), figure(100, 100, 'B')]]);
    expect([...sheet.matchAll(/ id="([^"]+)"/g)].map((m) => m[1])).toEqual(['f0-clip1', 'f1-clip1']);
    expect([...sheet.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1])).toEqual(['f0-clip1', 'f1-clip1']);
  });

  it('refuses a figure without a sized <svg> root, naming it', () => {
    expect(() => figureSheetSvg('t', [[figure(10, 10, 'A'), '<g/>']])).toThrow('figure 2 of the sheet: not an SVG (no <svg> root element)');
    expect(() => figureSheetSvg('t', [['<svg width="10"></svg>']])).toThrow('figure 1 of the sheet: the <svg> root has no numeric height');
  });
});

describe('xmlProblem (test helper)', () => {
  it('finds unclosed and misnested tags, a bare & and a second root', () => {
    expect(xmlProblem('<svg><g></svg>')).toMatch(/<\/svg> at \d+ closes <g>/);
    expect(xmlProblem('<svg><g>')).toBe('<g> is never closed');
    expect(xmlProblem('<svg><text>a & b</text></svg>')).toMatch(/bare '&'/);
    expect(xmlProblem('<svg/><svg/>')).toMatch(/second root/);
    expect(xmlProblem('<svg a="1" a="2"/>')).toMatch(/attribute a twice/);
    expect(xmlProblem('<?xml version="1.0"?>\n<svg x="1"><!-- c --><g/><text>&lt;&amp;</text></svg>\n')).toBeUndefined();
  });
});
