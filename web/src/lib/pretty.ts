// Pretty-prints a Python repr (or JSON) that is too long for one line:
// brackets open an indented block, top-level commas break lines. Strings
// are copied as they are.
export function prettyRepr(text: string, width = 72): string {
  if (text.length <= width) return text;
  let out = "";
  let indent = 0;
  let quote: string | null = null;
  const pad = () => "\n" + "  ".repeat(indent);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if ("([{".includes(c)) {
      const close = { "(": ")", "[": "]", "{": "}" }[c]!;
      const end = matching(text, i);
      if (end > 0 && end - i <= width / 2) {
        out += text.slice(i, end + 1);
        i = end;
        continue;
      }
      indent++;
      out += c + pad();
      void close;
    } else if (")]}".includes(c)) {
      indent = Math.max(0, indent - 1);
      out += pad() + c;
    } else if (c === ",") {
      out += "," + pad();
      if (text[i + 1] === " ") i++;
    } else out += c;
  }
  return out;
}

function matching(text: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c) && --depth === 0) return i;
  }
  return -1;
}
