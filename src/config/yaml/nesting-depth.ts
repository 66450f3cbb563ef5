/** Deepest nesting a YAML configuration may have; the schema itself needs about ten levels. */
export const MAX_YAML_DEPTH = 100;

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const HASH = 0x23;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const DASH = 0x2d;
const QUESTION = 0x3f;
const COLON = 0x3a;
const PIPE = 0x7c;
const GREATER = 0x3e;

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
  // Character codes rather than one-character strings: this reads every
  // character of the file before any parser does.
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let first = start;
    while (first < end && text.charCodeAt(first) === SPACE) first++;
    const indent = first - start;
    const blank = first >= end || text.charCodeAt(first) === HASH || text.charCodeAt(first) === CR;
    if (scalarAbove >= 0 && (blank || indent > scalarAbove)) {
      start = end + 1;
      continue;
    }
    scalarAbove = -1;
    if (blank) {
      start = end + 1;
      continue;
    }
    if (flow === 0)
      while (block.length > 0 && (block[block.length - 1] as number) >= indent) block.pop();
    let valueStart = true;
    let tokenColumn = indent;
    for (let i = first; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === SPACE || c === TAB || c === CR) continue;
      if (c === HASH && (i === first || isBlank(text.charCodeAt(i - 1)))) break;
      if (valueStart && (c === DOUBLE_QUOTE || c === SINGLE_QUOTE)) {
        i = closingQuote(text, i, end);
        valueStart = false;
        continue;
      }
      if (flow > 0 && c === COMMA) {
        valueStart = true;
        continue;
      }
      if ((c === OPEN_BRACKET || c === OPEN_BRACE) && (valueStart || flow > 0)) {
        flow++;
        if (block.length + flow > limit) return i;
        valueStart = true;
        continue;
      }
      if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && flow > 0) {
        flow--;
        valueStart = false;
        continue;
      }
      const next = text.charCodeAt(i + 1);
      const separated = i + 1 >= end || next === SPACE || next === CR;
      if (flow === 0 && valueStart && (c === DASH || c === QUESTION) && separated) {
        block.push(i - start);
        if (block.length + flow > limit) return i;
        tokenColumn = i - start + 2;
        continue;
      }
      if (c === COLON && (separated || flow > 0)) {
        if (flow === 0) {
          block.push(tokenColumn);
          if (block.length + flow > limit) return i;
        }
        valueStart = true;
        continue;
      }
      if (flow === 0 && valueStart && (c === PIPE || c === GREATER)) {
        scalarAbove = indent;
        break;
      }
      if (valueStart) {
        tokenColumn = i - start;
        valueStart = false;
      }
      // Within a block token only `:` and `#` can change anything: skip to one.
      if (flow === 0) {
        while (i + 1 < end) {
          const d = text.charCodeAt(i + 1);
          if (d === COLON || d === HASH) break;
          i++;
        }
      }
    }
    start = end + 1;
  }
  return undefined;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** Offset of the quote closing the one at `open` on this line (end of line when there is none). */
function closingQuote(text: string, open: number, end: number): number {
  const quote = text.charCodeAt(open);
  for (let i = open + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (quote === DOUBLE_QUOTE && c === BACKSLASH) i++;
    else if (c === quote) {
      if (quote === SINGLE_QUOTE && text.charCodeAt(i + 1) === SINGLE_QUOTE) i++;
      else return i;
    }
  }
  return end;
}
