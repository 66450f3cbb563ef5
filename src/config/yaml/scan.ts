/** Character scans over YAML text shared by the position recorders. */

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;

export function isSpace(ch: number): boolean {
  return ch === SPACE || ch === TAB || ch === LF || ch === CR;
}

/**
 * First character of a node opened at `from`: js-yaml opens value nodes
 * before skipping the separating spaces, line breaks and comments.
 */
export function contentStart(text: string, from: number): number {
  let i = from;
  for (;;) {
    const ch = text.charCodeAt(i);
    if (ch === SPACE || ch === TAB || ch === LF || ch === CR) {
      i++;
    } else if (ch === HASH && (i === 0 || isSpace(text.charCodeAt(i - 1)))) {
      while (i < text.length && text.charCodeAt(i) !== LF) i++;
    } else {
      return i;
    }
  }
}

/** End of the token (an anchor or alias name) starting at `from`. */
export function tokenEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && !isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** First character after the spaces and tabs at `from`. */
export function blankEnd(text: string, from: number): number {
  let i = from;
  while (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB) i++;
  return i;
}
