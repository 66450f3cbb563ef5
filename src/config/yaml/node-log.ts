import type { State } from 'js-yaml';
import type { DocPath } from '../doc-path.js';
import { blankEnd, contentStart } from './scan.js';

const AMPERSAND = 0x26;
const ASTERISK = 0x2a;
const EXCLAMATION = 0x21;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;

/** Array-index-like keys, which JavaScript orders before the others. */
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;

/**
 * Logs where each node js-yaml reads opens and closes, in the order nodes
 * close, and works out the start of a node only when a document path is
 * looked up: a configuration with nothing to report pays a few typed-array
 * writes per node, one with warnings pays for the nodes on the paths it
 * reports. Values are not kept (a reference per node costs more than the
 * rest): a lookup walks the data js-yaml built beside the log, whose keys
 * are in document order.
 *
 * For simple documents only (readSimpleYaml: no anchors, aliases, tags,
 * explicit keys, flow collections or directives). A lookup that meets
 * anything the log cannot place as the `yaml` package would (children that
 * do not line up with the data, index-like keys, an anchor, alias or tag)
 * answers undefined, and the caller asks the parsers that keep positions.
 */
export class NodeLog {
  private readonly text: string;
  /** Per closed node, in closing order: where js-yaml opened and closed it. */
  private opened = new Int32Array(1024);
  private closed = new Int32Array(1024);
  /** Per closed node: the index of the first node closed inside it (its own when it holds none). */
  private firstInside = new Int32Array(1024);
  private count = 0;
  /** Per open node: where it opened and how many nodes had closed by then. */
  private readonly openStack: number[] = [];
  /** Children of the containers looked up so far, by their closing index. */
  private readonly childrenCache = new Map<number, readonly number[] | undefined>();

  constructor(text: string) {
    this.text = text;
  }

  /** The js-yaml `listener` option. */
  readonly listener = (event: 'open' | 'close', state: State): void => {
    if (event === 'open') {
      this.openStack.push(state.position, this.count);
      return;
    }
    if (this.count === this.opened.length) this.grow();
    const n = this.count++;
    this.firstInside[n] = this.openStack.pop() as number;
    this.opened[n] = this.openStack.pop() as number;
    this.closed[n] = state.position;
  };

  private grow(): void {
    const larger = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.opened = larger(this.opened);
    this.closed = larger(this.closed);
    this.firstInside = larger(this.firstInside);
  }

  /**
   * Offset of the deepest node on `path` that exists in `root` (the data
   * js-yaml returned), the key rather than the value of the last segment when
   * `atKey`, following the same rules as a lookup in a parsed `yaml`
   * document; undefined when the log cannot tell.
   */
  locate(root: unknown, path: DocPath, atKey: boolean): number | undefined {
    let index = this.count - 1;
    // `yaml` has no node for an empty document and reports it at its start.
    if (index < 0) return 0;
    const rootAt = this.contentAt(index);
    if (rootAt === undefined) return undefined;
    let best = this.isEmpty(index, root, rootAt) ? 0 : rootAt;
    let node = root;
    for (let i = 0; i < path.length; i++) {
      if (node === null || typeof node !== 'object') break;
      const segment = path[i];
      const children = this.childrenOf(index, node);
      if (children === undefined) return undefined;
      let child: number;
      if (Array.isArray(node)) {
        if (typeof segment !== 'number' || segment >= children.length) break;
        child = children[segment] as number;
        node = node[segment];
      } else {
        if (typeof segment !== 'string' || !Object.hasOwn(node, segment)) break;
        const entry = Object.keys(node).indexOf(segment);
        const key = children[2 * entry] as number;
        if (atKey && i === path.length - 1) return this.keyAt(key, segment);
        if (this.keyAt(key, segment) === undefined) return undefined;
        child = children[2 * entry + 1] as number;
        node = (node as Record<string, unknown>)[segment];
      }
      const at = this.start(child, node);
      if (at === undefined) return undefined;
      best = at;
      index = child;
    }
    return best;
  }

  /** Where a node holding `value` starts as the `yaml` package counts it; undefined if unsure. */
  private start(index: number, value: unknown): number | undefined {
    const at = this.contentAt(index);
    if (at === undefined) return undefined;
    // An empty value (`key:` alone) sits where its line ends, as in `yaml`.
    return this.isEmpty(index, value, at) ? blankEnd(this.text, this.opened[index]!) : at;
  }

  /** Start of a key node, when its text is the key (plain) or a quoted scalar. */
  private keyAt(index: number, key: string): number | undefined {
    const at = this.contentAt(index);
    if (at === undefined) return undefined;
    const first = this.text.charCodeAt(at);
    return this.text.startsWith(key, at) || first === DOUBLE_QUOTE || first === SINGLE_QUOTE
      ? at
      : undefined;
  }

  /** First character of a node: js-yaml opens value nodes before skipping the separating blanks. */
  private contentAt(index: number): number | undefined {
    const at = contentStart(this.text, this.opened[index]!);
    const first = this.text.charCodeAt(at);
    if (first === AMPERSAND || first === ASTERISK || first === EXCLAMATION) return undefined;
    return at;
  }

  private isEmpty(index: number, value: unknown, at: number): boolean {
    const end = this.closed[index]!;
    return value === null && (end <= at || at >= this.text.length);
  }

  /**
   * The nodes directly inside container `index` (keys and values alternating
   * for a mapping), when they line up with its value; else undefined.
   */
  private childrenOf(index: number, value: object): readonly number[] | undefined {
    if (this.childrenCache.has(index)) return this.childrenCache.get(index);
    const children: number[] = [];
    const first = this.firstInside[index]!;
    for (let j = index - 1; j >= first; j = this.firstInside[j]! - 1) children.push(j);
    children.reverse();
    let result: readonly number[] | undefined = children;
    if (Array.isArray(value)) {
      if (children.length !== value.length) result = undefined;
    } else {
      const keys = Object.keys(value);
      if (children.length !== 2 * keys.length || keys.some((k) => INDEX_LIKE.test(k)))
        result = undefined;
    }
    // An empty `[]` or `{}` on the line after its key is read first as a
    // would-be mapping key, so it closes twice: the inner node is no child.
    if (result === undefined && children.length === 1 && isEmptyContainer(value)) result = [];
    this.childrenCache.set(index, result);
    return result;
  }
}

function isEmptyContainer(value: object): boolean {
  if (Array.isArray(value)) return value.length === 0;
  for (const _ in value) return false;
  return true;
}
