import type { State } from 'js-yaml';

import type { DocPath } from '../doc-path.js';
import { blankEnd, contentStart, isSpace, tokenEnd } from './scan.js';

export type { DocPath } from '../doc-path.js';

/**
 * Where a container's children start: for a sequence the offset of each item;
 * for a mapping [key, keyOffset, valueOffset] for each entry, flat, so each
 * container costs one array. An alias child is stored as -(offset + 1): a
 * lookup stops there, as it does at an alias node of a `yaml` document.
 */
type ContainerPositions = readonly (string | number)[];

const HASH = 0x23;
const AMPERSAND = 0x26;
const ASTERISK = 0x2a;
const EXCLAMATION = 0x21;
const BRACKET = 0x5b;
const BRACE = 0x7b;
const COLON = 0x3a;

/**
 * Aliases per anchor the `yaml` package accepts with maxAliasCount 100 (kept
 * by parseYamlDocument): it counts the anchored node itself as one.
 */
export const MAX_ALIASES = 99;

/**
 * Records where every node of a document starts while js-yaml reads it,
 * through its open/close listener. Each node's children (keys and values
 * alternating for a mapping, items for a sequence) are kept on a stack until
 * the node closes, then stored per container object.
 *
 * The listener was not designed for this, so every container is cross-checked
 * against the data js-yaml built; anything that does not line up (explicit
 * keys, single-pair flow mappings, non-string keys, tags, anchored or aliased
 * keys) marks the recording `plain: false`, and the caller falls back to a
 * parser that keeps positions itself. Anchors and aliases on values are
 * recorded, within the `yaml` package's alias limit (MAX_ALIASES per anchor,
 * no alias of a node that holds aliases); past it the fallback applies the
 * limit and reports it.
 */
export class PositionRecorder {
  private readonly text: string;
  /** Per open node: where it was opened and where its children start on the child stack. */
  private readonly openedAt: number[] = [];
  private readonly childBase: number[] = [];
  /** Closed nodes whose parent is still open: start offsets and values, `top` entries used. */
  private readonly childStart: number[] = [];
  private readonly childValue: unknown[] = [];
  /** Whether each of those nodes is an alias, and whether it holds one. */
  private readonly childIsAlias: boolean[] = [];
  private readonly childAnchored: boolean[] = [];
  private readonly childHoldsAlias: boolean[] = [];
  private top = 0;
  /** Aliases so far of each anchored value (objects), or of any scalar. */
  private readonly aliasCounts = new Map<unknown, number>();
  /** Anchored values that contain an alias: `yaml` counts their expansion multiplied. */
  private readonly holdsAlias = new Set<unknown>();
  private readonly containers = new Map<object, ContainerPositions>();
  private rootStart = 0;
  private ok = true;

  constructor(text: string) {
    this.text = text;
  }

  /** False when the document uses something the recording cannot represent. */
  get plain(): boolean {
    return this.ok;
  }

  /** The js-yaml `listener` option. */
  readonly listener = (event: 'open' | 'close', state: State): void => {
    if (event === 'open') {
      this.openedAt.push(state.position);
      this.childBase.push(this.top);
      return;
    }
    const base = this.childBase.pop() ?? 0;
    const opened = this.openedAt.pop() ?? 0;
    const value: unknown = state.result;
    const text = this.text;
    const end = state.position;
    let start = contentStart(this.text, opened);
    let first = text.charCodeAt(start);
    const anchored = first === AMPERSAND;
    // `yaml` starts an anchored node at its content, after the anchor.
    if (anchored) {
      const nameEnd = tokenEnd(this.text, start);
      // `yaml` warns about a name ending in ':' (`&a: 1`); js-yaml takes it in.
      if (text.charCodeAt(nameEnd - 1) === COLON) this.ok = false;
      start = contentStart(this.text, nameEnd);
      first = text.charCodeAt(start);
      if (value === null || first === AMPERSAND || first === ASTERISK) this.ok = false;
    }
    const alias = first === ASTERISK;
    const empty = !alias && value === null && (end <= start || start >= text.length);
    // An empty value (`key:` alone) sits where its line ends, as in `yaml`.
    if (empty) start = blankEnd(this.text, opened);
    if (first === EXCLAMATION) this.ok = false;
    let holds = false;
    if (alias) {
      if (text.charCodeAt(tokenEnd(this.text, start) - 1) === COLON) this.ok = false;
      const count = (this.aliasCounts.get(value) ?? 0) + 1;
      this.aliasCounts.set(value, count);
      if (count > MAX_ALIASES || this.holdsAlias.has(value)) this.ok = false;
      // An alias inside its own anchor's node makes the data a cycle.
      if (value !== null && typeof value === 'object' && !this.containers.has(value))
        this.ok = false;
      holds = true;
    } else {
      for (let i = base; i < this.top; i++) if (this.childHoldsAlias[i]) holds = true;
      if (anchored && holds) this.holdsAlias.add(value);
    }
    // js-yaml takes `"x"# note` as a comment; `yaml` rightly rejects it.
    if (text.charCodeAt(end) === HASH && end > start && !isSpace(text.charCodeAt(end - 1)))
      this.ok = false;
    // `yaml` warns about badly indented multi-line flow collections; js-yaml does not.
    if (first === BRACKET || first === BRACE) {
      const lineEnd = text.indexOf('\n', start);
      if (lineEnd >= 0 && lineEnd < end) this.ok = false;
    }
    if (this.ok && !alias && value !== null && typeof value === 'object') this.store(value, base);
    // `yaml` has no node for an empty document and reports it at its start.
    if (this.childBase.length === 0) this.rootStart = empty ? 0 : start;
    this.childStart[base] = start;
    this.childValue[base] = value;
    this.childIsAlias[base] = alias;
    this.childAnchored[base] = anchored;
    this.childHoldsAlias[base] = holds;
    this.top = base + 1;
  };

  private store(value: object, base: number): void {
    const top = this.top;
    const count = top - base;
    if (this.containers.has(value)) {
      // A node read as a would-be mapping key that turned out to be the whole
      // value closes twice with the same object; anything else is shared data.
      if (count !== 1 || this.childValue[base] !== value) this.ok = false;
      return;
    }
    if (Array.isArray(value)) {
      if (count !== value.length) this.ok = false;
      else
        this.containers.set(
          value,
          this.childStart
            .slice(base, top)
            .map((at, i) => (this.childIsAlias[base + i] ? -at - 1 : at)),
        );
      return;
    }
    if (count % 2 !== 0) {
      this.ok = false;
      return;
    }
    const entries = new Array<string | number>((count / 2) * 3);
    for (let i = 0, j = 0; i < count; i += 2, j += 3) {
      const key = this.childValue[base + i];
      if (
        typeof key !== 'string' ||
        !Object.hasOwn(value, key) ||
        this.childIsAlias[base + i] ||
        this.childAnchored[base + i]
      ) {
        this.ok = false;
        return;
      }
      entries[j] = key;
      entries[j + 1] = this.childStart[base + i] as number;
      const at = this.childStart[base + i + 1] as number;
      entries[j + 2] = this.childIsAlias[base + i + 1] ? -at - 1 : at;
    }
    let own = 0;
    for (const _ in value) own++;
    if (own !== count / 2) {
      this.ok = false;
      return;
    }
    this.containers.set(value, entries);
  }

  /**
   * Offset of the deepest node on `path` that exists in `root` (the key
   * rather than the value of the last segment when `atKey`), following the
   * same rules as a lookup in a parsed `yaml` document.
   */
  locate(root: unknown, path: DocPath, atKey: boolean): number {
    let node = root;
    let best = this.rootStart;
    for (let i = 0; i < path.length; i++) {
      if (node === null || typeof node !== 'object') break;
      const positions = this.containers.get(node);
      if (positions === undefined) break;
      const segment = path[i];
      if (Array.isArray(node)) {
        if (typeof segment !== 'number' || segment >= positions.length) break;
        best = positions[segment] as number;
        if (best < 0) return -best - 1;
        node = node[segment];
        continue;
      }
      let entry = 0;
      while (entry < positions.length && positions[entry] !== segment) entry += 3;
      if (entry >= positions.length) break;
      if (atKey && i === path.length - 1) return positions[entry + 1] as number;
      best = positions[entry + 2] as number;
      if (best < 0) return -best - 1;
      node = (node as Record<string, unknown>)[segment as string];
    }
    return best;
  }
}
