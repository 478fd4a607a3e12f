// Test helper: whether a document (the SVG figures) is well-formed XML — every tag closed in
// order, attributes quoted and not repeated, no bare `<` or `&` in text — without an XML parser
// dependency. Enough for machine-written SVG: no DOCTYPE, CDATA or processing instructions
// other than an XML declaration.

/** The first well-formedness problem of `text`, or undefined when there is none. */
export function xmlProblem(text: string): string | undefined {
  const open: string[] = [];
  let roots = 0;
  const token = /<!--[\s\S]*?-->|<\?xml[^>]*\?>|<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of text.matchAll(token)) {
    const [, closing, name, attributes, selfClosing, chars, bare] = m;
    if (bare !== undefined) return `a '<' that starts no tag at ${m.index}: ${JSON.stringify(text.slice(m.index, m.index + 40))}`;
    if (chars !== undefined) {
      if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(chars)) return `a bare '&' in text at ${m.index}`;
      if (open.length === 0 && chars.trim() !== '') return `text outside the root element at ${m.index}`;
      continue;
    }
    if (name === undefined) continue; // comment or XML declaration
    if (closing) {
      if (attributes || selfClosing) return `a malformed closing tag </${name}> at ${m.index}`;
      const expected = open.pop();
      if (expected !== name) return `</${name}> at ${m.index} closes ${expected === undefined ? 'nothing' : `<${expected}>`}`;
      continue;
    }
    const seen = [...attributes!.matchAll(/([\w:.-]+)\s*=/g)].map((a) => a[1]!);
    const twice = seen.find((a, i) => seen.indexOf(a) !== i);
    if (twice !== undefined) return `attribute ${twice} twice in <${name}> at ${m.index}`;
    if (open.length === 0) roots += 1;
    if (roots > 1) return `a second root element <${name}> at ${m.index}`;
    if (!selfClosing) open.push(name);
  }
  if (open.length > 0) return `<${open.at(-1)}> is never closed`;
  return roots === 1 ? undefined : 'no root element';
}
