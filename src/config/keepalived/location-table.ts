import type { DocPath } from '../doc-path.js';
import type { SourcePosition } from '../errors.js';

export type { DocPath } from '../doc-path.js';

/** Where a document value came from, and the keepalived keyword that set it. */
export interface Located extends SourcePosition {
  readonly keyword: string;
}

/** The key of a record made for its container itself. */
const WHOLE = -1;
/** A segment or key no path matches any more (a removed list item). */
const GONE = -2;
/** The node of the empty path, the document itself. */
const ROOT = 0;

export const pathKey = (path: DocPath): string => path.join('\u0000');

/** Records of one container, and children of one node, once indexed (compressed rows). */
interface Index {
  readonly childStart: Int32Array;
  readonly children: Int32Array;
  readonly recordStart: Int32Array;
  readonly records: Int32Array;
}

/**
 * Source positions of document values, by document path. Mapping records one
 * for nearly every value (hundreds of thousands in a large configuration) and
 * looks up only the few that have problems, so recording writes numbers into
 * typed arrays and keeps no object per value or per container: containers are
 * nodes of a tree of path segments, built as the mapper walks the document
 * (each container is most often the last one, its parent or a sibling), and
 * keys and segments are small ids. Objects the young generation would have to
 * copy, one path array per real server and checker, cost more than the rest
 * of the recording. The lookup index is built on the first lookup. A later
 * record for the same path replaces an earlier one.
 */
export class LocationTable {
  private count = 0;
  private containerIds = new Int32Array(1024);
  private keyIds = new Int32Array(1024);
  private lines = new Int32Array(1024);
  private columns = new Int32Array(1024);
  private fileIds = new Int32Array(1024);
  private keywordIds = new Int32Array(1024);
  private nodeCount = 1;
  private nodeParents = new Int32Array(1024);
  private nodeSegments = new Int32Array(1024);
  /** Keys and path segments (names and list indexes) by id. */
  private readonly values = emptyList<string | number>();
  private readonly valueIds = new Map<string | number, number>();
  private readonly files = emptyList<string>();
  private readonly fileIdOf = new Map<string, number>();
  private readonly keywords = emptyList<string>();
  private readonly keywordIdOf = new Map<string, number>();
  /**
   * The path of the last container recorded, segment by segment, and its
   * nodes: the first `openDepth` entries (a depth, not a length to set,
   * since setting an array's length is a call into the runtime).
   */
  private readonly openPath = emptyList<string | number>();
  private readonly openNodes: number[] = [];
  private openDepth = 0;
  private lastContainer: DocPath | undefined;
  private lastContainerId = ROOT;
  private lastFile: string;
  private lastFileId: number;
  private index: Index | undefined;

  /**
   * `mainFile`, where most records come from, is the file from the start: a
   * table's first record taking the branch for a new file, a branch code
   * optimized in the previous load had never seen, threw that code away.
   */
  constructor(mainFile = '') {
    this.lastFile = mainFile;
    this.lastFileId = intern(mainFile, this.files, this.fileIdOf);
  }

  /** Records `at` for the value at `container` + `key` (or at `container` itself). */
  add(
    container: DocPath,
    key: string | number | undefined,
    at: SourcePosition,
    keyword: string,
  ): void {
    const i = this.count;
    if (i === this.lines.length) this.growRecords();
    this.count = i + 1;
    this.containerIds[i] = this.nodeOf(container);
    this.keyIds[i] = key === undefined ? WHOLE : this.idOf(key);
    this.lines[i] = at.line;
    this.columns[i] = at.column;
    // Records come in runs from one file: skip the map lookup while it stays the same.
    if (at.file !== this.lastFile) {
      this.lastFile = at.file;
      this.lastFileId = intern(at.file, this.files, this.fileIdOf);
    }
    this.fileIds[i] = this.lastFileId;
    this.keywordIds[i] = intern(keyword, this.keywords, this.keywordIdOf);
    this.index = undefined;
  }

  /**
   * Forgets item `index` of the list at `list` and renumbers the items after
   * it, for a list item dropped once the whole file is read.
   */
  removeListItem(list: DocPath, index: number): void {
    const { childStart, children, recordStart, records } = this.lookup();
    const renumbered = (id: number): number => {
      const value = this.values[id];
      if (typeof value !== 'number' || value < index) return id;
      return value === index ? GONE : this.idOf(value - 1);
    };
    for (const node of this.nodesAt(list)) {
      // Items recorded as keys of the list, and items that are containers themselves.
      for (let r = recordStart[node] as number; r < (recordStart[node + 1] as number); r++) {
        const i = records[r] as number;
        const key = this.keyIds[i] as number;
        if (key >= 0) this.keyIds[i] = renumbered(key);
      }
      for (let c = childStart[node] as number; c < (childStart[node + 1] as number); c++) {
        const child = children[c] as number;
        const segment = this.nodeSegments[child] as number;
        if (segment >= 0) this.nodeSegments[child] = renumbered(segment);
      }
    }
    // The open path may name items by their old numbers.
    this.openDepth = 0;
    this.lastContainer = undefined;
    this.index = undefined;
  }

  /** The position recorded for exactly `path`, if any. */
  get(path: DocPath): Located | undefined {
    const { recordStart, records } = this.lookup();
    // Recorded either as (parent path, last segment) or as the whole path on its own.
    let best = -1;
    if (path.length > 0) {
      const key = this.valueIds.get(path[path.length - 1] as string | number);
      if (key !== undefined) {
        for (const node of this.nodesAt(path.slice(0, -1))) {
          for (let r = recordStart[node] as number; r < (recordStart[node + 1] as number); r++) {
            const i = records[r] as number;
            if (this.keyIds[i] === key && i > best) best = i;
          }
        }
      }
    }
    for (const node of this.nodesAt(path)) {
      for (let r = recordStart[node] as number; r < (recordStart[node + 1] as number); r++) {
        const i = records[r] as number;
        if (this.keyIds[i] === WHOLE && i > best) best = i;
      }
    }
    if (best < 0) return undefined;
    return {
      file: this.files[this.fileIds[best] as number] as string,
      line: this.lines[best] as number,
      column: this.columns[best] as number,
      keyword: this.keywords[this.keywordIds[best] as number] as string,
    };
  }

  /** The node of `container`, added below the longest part of the open path it shares. */
  private nodeOf(container: DocPath): number {
    if (container === this.lastContainer) return this.lastContainerId;
    const open = this.openPath;
    const nodes = this.openNodes;
    const length = container.length;
    let depth = 0;
    while (depth < length && depth < this.openDepth && open[depth] === container[depth]) depth++;
    let node = depth === 0 ? ROOT : (nodes[depth - 1] as number);
    if (depth < length) {
      for (; depth < length; depth++) {
        const segment = container[depth] as string | number;
        node = this.addNode(node, this.idOf(segment));
        open[depth] = segment;
        nodes[depth] = node;
      }
      this.openDepth = length;
    }
    this.lastContainer = container;
    this.lastContainerId = node;
    return node;
  }

  private addNode(parent: number, segment: number): number {
    const node = this.nodeCount;
    if (node === this.nodeParents.length) {
      this.nodeParents = grown(this.nodeParents);
      this.nodeSegments = grown(this.nodeSegments);
    }
    this.nodeParents[node] = parent;
    this.nodeSegments[node] = segment;
    this.nodeCount = node + 1;
    return node;
  }

  private idOf(value: string | number): number {
    let id = this.valueIds.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.valueIds.set(value, id);
    }
    return id;
  }

  private growRecords(): void {
    this.containerIds = grown(this.containerIds);
    this.keyIds = grown(this.keyIds);
    this.lines = grown(this.lines);
    this.columns = grown(this.columns);
    this.fileIds = grown(this.fileIds);
    this.keywordIds = grown(this.keywordIds);
  }

  /**
   * Every node whose path is `path`: a container recorded again after others
   * (a second global_defs block) has a node for each run.
   */
  private nodesAt(path: DocPath): number[] {
    const { childStart, children } = this.lookup();
    let current = [ROOT];
    for (const segment of path) {
      const id = this.valueIds.get(segment);
      if (id === undefined) return [];
      const next: number[] = [];
      for (const node of current) {
        for (let c = childStart[node] as number; c < (childStart[node + 1] as number); c++) {
          const child = children[c] as number;
          if (this.nodeSegments[child] === id) next.push(child);
        }
      }
      if (next.length === 0) return next;
      current = next;
    }
    return current;
  }

  /** Children by node and records by container, built once (records stay in order). */
  private lookup(): Index {
    if (this.index !== undefined) return this.index;
    const nodes = this.nodeCount;
    const [childStart, children] = groupBy(this.nodeParents, 1, nodes, nodes);
    const [recordStart, records] = groupBy(this.containerIds, 0, this.count, nodes);
    this.index = { childStart, children, recordStart, records };
    return this.index;
  }
}

/**
 * The positions from..to-1 grouped by their value in `of` (a counting sort):
 * group g is members[start[g]..start[g+1]-1], in increasing order.
 */
function groupBy(
  of: Int32Array,
  from: number,
  to: number,
  groups: number,
): [start: Int32Array, members: Int32Array] {
  const start = new Int32Array(groups + 1);
  for (let i = from; i < to; i++) {
    const g = of[i] as number;
    start[g + 1] = (start[g + 1] as number) + 1;
  }
  for (let g = 0; g < groups; g++) start[g + 1] = (start[g + 1] as number) + (start[g] as number);
  const members = new Int32Array(Math.max(to - from, 0));
  const fill = start.slice(0, groups);
  for (let i = from; i < to; i++) {
    const g = of[i] as number;
    members[fill[g] as number] = i;
    fill[g] = (fill[g] as number) + 1;
  }
  return [start, members];
}

/**
 * An empty array whose elements may be any value from the start. An empty
 * `[]` holds small integers until its first string, so a new table's arrays
 * had another map than those its optimized code was made for (the previous
 * load's), and the first string of each load threw that code away.
 */
function emptyList<T>(): T[] {
  const list: T[] = [undefined as T];
  list.pop();
  return list;
}

/** `old` in an array twice its size. */
function grown(old: Int32Array): Int32Array<ArrayBuffer> {
  const next = new Int32Array(old.length * 2);
  next.set(old);
  return next;
}

/** The id of `value` in `list`, adding it the first time. */
function intern(value: string, list: string[], ids: Map<string, number>): number {
  let id = ids.get(value);
  if (id === undefined) {
    id = list.length;
    list.push(value);
    ids.set(value, id);
  }
  return id;
}
