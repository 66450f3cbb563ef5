import { createRequire } from 'node:module';
import jsYaml from 'js-yaml';
import type { Node } from 'yaml';
import type { IssueList, SourcePosition } from '../errors.js';
import { lineIndexOnDemand } from '../line-index.js';
import { yamlCoreSchema } from './core-schema.js';
import { NodeLog } from './node-log.js';
import { type DocPath, PositionRecorder } from './position-recorder.js';

export type { DocPath } from './position-recorder.js';

type YamlPackage = typeof import('yaml');
let yamlPackage: YamlPackage | undefined;

/**
 * The `yaml` package, loaded the first time a document needs it: loading it
 * costs ~35 ms of CPU, which most processes (simple documents, keepalived.conf)
 * would pay for nothing.
 */
function yamlParser(): YamlPackage {
  yamlPackage ??= createRequire(import.meta.url)('yaml') as YamlPackage;
  return yamlPackage;
}

export interface ParsedYaml {
  /** Plain data, or undefined when the text is not usable YAML. */
  readonly data: unknown;
  /** Position of the deepest existing node on `path` (a key when `atKey`). */
  locate(path: DocPath, atKey?: boolean): SourcePosition;
  /** Which parser read the document: js-yaml for plain documents, else `yaml`. */
  readonly parser: 'js-yaml' | 'yaml';
}

/**
 * Parses YAML for configuration loading. Plain documents (no anchors,
 * aliases, tags or directives, which is what configurations are) are read
 * with js-yaml, recording node positions on the way: several times faster
 * than a full `yaml` document. Everything else, and every document js-yaml
 * rejects, goes through the `yaml` package, whose error messages are the
 * ones reported. Both read scalars with the YAML 1.2 core schema.
 */
export function parseYaml(text: string, file: string, issues: IssueList): ParsedYaml {
  return parsePlainYaml(text, file) ?? parseYamlDocument(text, file, issues);
}

/**
 * Anything beyond block mappings and sequences, plain and quoted scalars,
 * comments and empty `[]`/`{}`: anchors, aliases, tags, explicit keys,
 * directives, flow collections, `#` not preceded by a space, CR, BOM.
 */
const NOT_SIMPLE = /[&*!?%\r\ufeff]|\S#|\[(?!\])|(?<!\[)\]|\{(?!\})|(?<!\{)\}/;

/** Every character NOT_SIMPLE matches on. */
const NOT_SIMPLE_CHARACTERS = ['&', '*', '!', '?', '%', '\r', '\ufeff', '#', '[', ']', '{', '}'];

/**
 * NOT_SIMPLE's answer: a text with none of its characters is simple, which
 * one scan per character tells several times faster than the expression
 * over a large file; the expression decides when one is there.
 */
function isSimple(text: string): boolean {
  for (const c of NOT_SIMPLE_CHARACTERS) if (text.includes(c)) return !NOT_SIMPLE.test(text);
  return true;
}

/** A simple document's data, and the positions of its nodes worked out on demand. */
export interface SimpleYaml {
  readonly data: unknown;
  /**
   * Position of the deepest existing node on `path` (a key when `atKey`), as
   * parseYaml would report it; undefined when only a parser that keeps
   * positions can tell.
   */
  locate(path: DocPath, atKey?: boolean): SourcePosition | undefined;
}

/**
 * Reads a simple document (see NOT_SIMPLE), or returns undefined. For simple
 * documents js-yaml and `yaml` agree on both the data and its validity, so a
 * configuration can be checked from this alone; node positions are logged
 * cheaply on the way and placed only for the paths a message needs.
 */
export function readSimpleYaml(text: string, file = ''): SimpleYaml | undefined {
  if (!isSimple(text)) return undefined;
  const log = new NodeLog(text);
  let data: unknown;
  try {
    data = jsYaml.load(text, { schema: yamlCoreSchema, listener: log.listener }) ?? null;
  } catch {
    return undefined;
  }
  const position = lineIndexOnDemand(text);
  return {
    data,
    locate: (path, atKey = false) => {
      const offset = log.locate(data, path, atKey);
      return offset === undefined ? undefined : { file, ...position(offset) };
    },
  };
}

/** The js-yaml path, or undefined when the document needs the full parser. */
function parsePlainYaml(text: string, file: string): ParsedYaml | undefined {
  // A BOM shifts js-yaml's offsets, a directive may switch to the YAML 1.1
  // schema, and a lone CR breaks a line for js-yaml but not for `yaml`.
  if (text.charCodeAt(0) === 0xfeff || /^%/m.test(text)) return undefined;
  if (text.includes('\r') && /\r(?!\n)/.test(text)) return undefined;
  const recorder = new PositionRecorder(text);
  let data: unknown;
  try {
    // An empty document is null, as `yaml` reads it.
    data = jsYaml.load(text, { schema: yamlCoreSchema, listener: recorder.listener }) ?? null;
  } catch {
    return undefined;
  }
  if (!recorder.plain) return undefined;
  const position = lineIndexOnDemand(text);
  return {
    data,
    parser: 'js-yaml',
    locate: (path, atKey = false) => ({
      file,
      ...position(recorder.locate(data, path, atKey)),
    }),
  };
}

/**
 * Parses YAML with the `yaml` package, keeping node ranges (via a LineCounter)
 * so validation problems can be reported at line:column. Syntax errors,
 * duplicate keys included, are added to `issues`. Handles every document.
 */
export function parseYamlDocument(text: string, file: string, issues: IssueList): ParsedYaml {
  const { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } =
    yamlParser();
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

  let cyclic = false;
  if (doc.errors.length === 0) {
    // An alias inside the node it names would make the data a cycle.
    const anchored = new Map<string, Node>();
    visit(doc, (_key, node) => {
      if (isAlias(node)) {
        const range = anchored.get(node.source)?.range;
        const offset = node.range?.[0] ?? 0;
        if (range && offset >= range[0] && offset < range[1]) {
          issues.error(at(offset), `alias *${node.source} refers to a node that contains it`);
          cyclic = true;
        }
      } else if (isNode(node) && node.anchor !== undefined) {
        anchored.set(node.anchor, node);
      }
    });
  }
  let data: unknown;
  if (!cyclic && doc.errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      issues.error(at(0), `Cannot read YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { data, locate, parser: 'yaml' };
}
