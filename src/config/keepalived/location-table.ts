import type { DocPath } from '../doc-path.js';
import type { SourcePosition } from '../errors.js';

export type { DocPath } from '../doc-path.js';

/** Where a document value came from, and the keepalived keyword that set it. */
export interface Located extends SourcePosition {
  readonly keyword: string;
}

/** The container of records of removed list items: no lookup ever reaches it. */
const REMOVED: DocPath = ['\u0000removed'];

export const pathKey = (path: DocPath): string => path.join('\u0000');

/**
 * Source positions of document values, by document path. Mapping records one
 * for nearly every value (hundreds of thousands in a large configuration) and
 * looks up only the few that have problems, so recording is an append to flat
 * arrays (no path strings, no per-value objects) and the lookup index, by
 * container path, is built on the first lookup. A later record for the same
 * path replaces an earlier one.
 */
export class LocationTable {
  private readonly containers: DocPath[] = [];
  private readonly keys: (string | number | undefined)[] = [];
  // Positions as numbers, files and keywords as small ids: keeping the lexer's
  // token objects alive would hold the whole token stream in the heap.
  private lines = new Int32Array(1024);
  private columns = new Int32Array(1024);
  private fileIds = new Uint32Array(1024);
  private keywordIds = new Uint32Array(1024);
  private readonly files: string[] = [];
  private readonly fileIdOf = new Map<string, number>();
  private readonly keywords: string[] = [];
  private readonly keywordIdOf = new Map<string, number>();
  private index: Map<string, number[]> | undefined;
  private lastFile: string | undefined;
  private lastFileId = 0;

  /** Records `at` for the value at `container` + `key` (or at `container` itself). */
  add(
    container: DocPath,
    key: string | number | undefined,
    at: SourcePosition,
    keyword: string,
  ): void {
    const i = this.keys.length;
    if (i === this.lines.length) this.grow();
    this.containers.push(container);
    this.keys.push(key);
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

  private grow(): void {
    const size = this.lines.length * 2;
    const grown = <T extends Int32Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.lines = grown(this.lines, (n) => new Int32Array(n));
    this.columns = grown(this.columns, (n) => new Int32Array(n));
    this.fileIds = grown(this.fileIds, (n) => new Uint32Array(n));
    this.keywordIds = grown(this.keywordIds, (n) => new Uint32Array(n));
  }

  /**
   * Forgets item `index` of the list at `list` and renumbers the items after
   * it, for a list item dropped once the whole file is read.
   */
  removeListItem(list: DocPath, index: number): void {
    const depth = list.length;
    const within = (path: DocPath) =>
      path.length > depth && list.every((segment, i) => path[i] === segment);
    for (let i = 0; i < this.containers.length; i++) {
      const container = this.containers[i] as DocPath;
      const key = this.keys[i];
      if (container.length === depth && typeof key === 'number' && within([...container, key])) {
        if (key === index) this.containers[i] = REMOVED;
        else if (key > index) this.keys[i] = key - 1;
      } else if (within(container)) {
        const item = container[depth] as number;
        if (item === index) this.containers[i] = REMOVED;
        else if (item > index)
          this.containers[i] = [...list, item - 1, ...container.slice(depth + 1)];
      }
    }
    this.index = undefined;
  }

  /** The position recorded for exactly `path`, if any. */
  get(path: DocPath): Located | undefined {
    const index = this.lookup();
    // Recorded either as (parent path, last segment) or as the whole path on its own.
    let best = -1;
    if (path.length > 0) {
      const last = path[path.length - 1];
      for (const i of index.get(pathKey(path.slice(0, -1))) ?? [])
        if (this.keys[i] === last && i > best) best = i;
    }
    for (const i of index.get(pathKey(path)) ?? [])
      if (this.keys[i] === undefined && i > best) best = i;
    if (best < 0) return undefined;
    return {
      file: this.files[this.fileIds[best] as number] as string,
      line: this.lines[best] as number,
      column: this.columns[best] as number,
      keyword: this.keywords[this.keywordIds[best] as number] as string,
    };
  }

  /** Record numbers by container path, built once: one path string per container, not per value. */
  private lookup(): Map<string, number[]> {
    if (this.index !== undefined) return this.index;
    const index = new Map<string, number[]>();
    let previous: DocPath | undefined;
    let records: number[] = [];
    for (let i = 0; i < this.containers.length; i++) {
      const container = this.containers[i] as DocPath;
      // Records of one container arrive together (all fields of a real server).
      if (container !== previous) {
        const key = pathKey(container);
        records = index.get(key) ?? [];
        if (records.length === 0) index.set(key, records);
        previous = container;
      }
      records.push(i);
    }
    this.index = index;
    return index;
  }
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
