// A sheet of SVG figures: several finished figures (Vega-Lite renders, the hand-drawn glimpse
// and caption figures) placed in one SVG, each as a nested <svg> at its offset, row by row.
// The ids inside each figure (Vega's clip paths and gradients) get a prefix of their own, so
// that two figures' `clip1` do not meet in one document.

import { escapeXml } from '@attend/core';

const ROOT = /^\s*(?:<\?xml[^>]*\?>\s*)?<svg\b([^>]*)>/;

/** The width and height of an SVG's root element; an error naming `what` when they are missing. */
export function svgSize(svg: string, what: string): { width: number; height: number } {
  const attributes = ROOT.exec(svg)?.[1];
  if (attributes === undefined) throw new Error(`${what}: not an SVG (no <svg> root element)`);
  const size = (name: string): number => {
    const value = Number(new RegExp(`\\s${name}="([0-9.]+)"`).exec(attributes)?.[1]);
    if (!(value > 0)) throw new Error(`${what}: the <svg> root has no numeric ${name}`);
    return value;
  };
  return { width: size('width'), height: size('height') };
}

/** `svg` with every id, and the references to it, prefixed with `prefix`. */
function prefixIds(svg: string, prefix: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
}

export interface SheetOptions {
  /** Widest row in pixels before a row's figures wrap onto the next line; default 1700. */
  maxWidth?: number;
  /** Space between figures; default 16. */
  gap?: number;
}

/**
 * One SVG titled `title` of `rows` of figures (SVG strings): each row starts on a new line, its
 * figures left to right, wrapping where the next would pass `maxWidth`.
 */
export function figureSheetSvg(title: string, rows: readonly (readonly string[])[], { maxWidth = 1700, gap = 16 }: SheetOptions = {}): string {
  const top = 36;
  const placed: string[] = [];
  let y = top;
  let width = 0;
  let n = 0;
  for (const row of rows) {
    let x = gap;
    let lineHeight = 0;
    for (const figure of row) {
      const size = svgSize(figure, `figure ${n + 1} of the sheet`);
      if (x > gap && x + size.width > maxWidth) {
        y += lineHeight + gap;
        x = gap;
        lineHeight = 0;
      }
      const body = prefixIds(figure.replace(/^\s*<\?xml[^>]*\?>\s*/, ''), `f${n}-`).trimEnd();
      placed.push(body.replace(/^<svg\b/, `<svg x="${x}" y="${y}"`));
      x += size.width + gap;
      width = Math.max(width, x);
      lineHeight = Math.max(lineHeight, size.height);
      n += 1;
    }
    if (lineHeight > 0) y += lineHeight + gap;
  }
  width = Math.max(width, 400);
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n` +
    `<rect width="${width}" height="${y}" fill="white"/>\n` +
    `<text x="${gap}" y="${top - 12}" font-family="sans-serif" font-size="16">${escapeXml(title)}</text>\n${placed.join('\n')}\n</svg>\n`;
}
