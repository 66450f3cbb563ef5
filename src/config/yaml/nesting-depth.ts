/** Deepest nesting a YAML configuration may have; the schema itself needs about ten levels. */
export const MAX_YAML_DEPTH = 100;

/**
 * Finds where YAML text nests deeper than `limit`, in one pass over the
 * text, before a parser sees it: both YAML parsers recurse once per level,
 * so 10,000 levels exhaust the stack. Nesting is read from the text as the
 * parsers would build it: block indentation, `- ` and `? ` entries, `key:`
 * and flow brackets, with quoted strings, comments and block scalars
 * skipped. Returns the offset of the first node past the limit.
 */
export function findExcessiveNesting(text: string, limit = MAX_YAML_DEPTH): number | undefined {
  /** Columns of the open block nodes, innermost last. */
  const block: number[] = [];
  let flow = 0;
  /** Inside a block scalar (`|`, `>`): lines indented more than this belong to it. */
  let scalarAbove = -1;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let first = start;
    while (first < end && text.charCodeAt(first) === 32) first++;
    const indent = first - start;
    const blank = first >= end || text[first] === '#' || text[first] === '\r';
    if (scalarAbove >= 0 && (blank || indent > scalarAbove)) {
      start = end + 1;
      continue;
    }
    scalarAbove = -1;
    if (blank) {
      start = end + 1;
      continue;
    }
    if (flow === 0) while ((block.at(-1) ?? -1) >= indent) block.pop();
    let valueStart = true;
    let tokenColumn = indent;
    for (let i = first; i < end; i++) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\r') continue;
      if (c === '#' && (i === first || text[i - 1] === ' ' || text[i - 1] === '\t')) break;
      if (valueStart && (c === '"' || c === "'")) {
        i = closingQuote(text, i, end);
        valueStart = false;
        continue;
      }
      if (flow > 0 && c === ',') {
        valueStart = true;
        continue;
      }
      if ((c === '[' || c === '{') && (valueStart || flow > 0)) {
        flow++;
        if (block.length + flow > limit) return i;
        valueStart = true;
        continue;
      }
      if ((c === ']' || c === '}') && flow > 0) {
        flow--;
        valueStart = false;
        continue;
      }
      const separated = i + 1 >= end || text[i + 1] === ' ' || text[i + 1] === '\r';
      if (flow === 0 && valueStart && (c === '-' || c === '?') && separated) {
        block.push(i - start);
        if (block.length + flow > limit) return i;
        tokenColumn = i - start + 2;
        continue;
      }
      if (c === ':' && (separated || flow > 0)) {
        if (flow === 0) {
          block.push(tokenColumn);
          if (block.length + flow > limit) return i;
        }
        valueStart = true;
        continue;
      }
      if (flow === 0 && valueStart && (c === '|' || c === '>')) {
        scalarAbove = indent;
        break;
      }
      if (valueStart) {
        tokenColumn = i - start;
        valueStart = false;
      }
    }
    start = end + 1;
  }
  return undefined;
}

/** Offset of the quote closing the one at `open` on this line (end of line when there is none). */
function closingQuote(text: string, open: number, end: number): number {
  const quote = text[open];
  for (let i = open + 1; i < end; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') i++;
    else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return end;
}
