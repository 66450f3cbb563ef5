import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { IssueList, SourcePosition } from '../errors.js';

export type DocPath = readonly (string | number)[];

export interface ParsedYaml {
  /** Plain data, or undefined when the text is not usable YAML. */
  readonly data: unknown;
  /** Position of the deepest existing node on `path` (a key when `atKey`). */
  locate(path: DocPath, atKey?: boolean): SourcePosition;
}

/**
 * Parses YAML keeping node ranges (via a LineCounter) so validation problems
 * can be reported at line:column. Syntax errors, duplicate keys included, are
 * added to `issues`.
 */
export function parseYaml(text: string, file: string, issues: IssueList): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  for (const err of doc.errors)
    issues.error(at(err.pos[0]), err.message.split('\n')[0] ?? err.message);
  for (const warning of doc.warnings)
    issues.warn(at(warning.pos[0]), warning.message.split('\n')[0] ?? warning.message);

  const locate = (path: DocPath, atKey = false): SourcePosition => {
    let node: unknown = doc.contents;
    let best: number = (doc.contents as Node | null)?.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && p.key.value === segment,
        );
        if (!pair) break;
        const last = i === path.length - 1;
        const key = pair.key as Node;
        const value = pair.value as Node | null;
        if (last && atKey) {
          best = key.range?.[0] ?? best;
          break;
        }
        best = value?.range?.[0] ?? key.range?.[0] ?? best;
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        best = item.range?.[0] ?? best;
        node = item;
      } else {
        break;
      }
    }
    return at(best);
  };

  let data: unknown;
  if (doc.errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      issues.error(at(0), `Cannot read YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { data, locate };
}
