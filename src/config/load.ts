import { DEFAULT_READ_LIMITS, readConfigFile } from './config-file.js';
import {
  ConfigError,
  type ConfigWarning,
  IssueList,
  type SourcePosition,
  sortIssues,
} from './errors.js';
import { checkInterfaces } from './interface-check.js';
import { closestKeyword } from './keepalived/did-you-mean.js';
import { inKeepalivedWords, keywordAt } from './keepalived/keyword-names.js';
import { KeepalivedLexer, type LexOptions } from './keepalived/lexer.js';
import { createKeepalivedMapper, type MappedDocument } from './keepalived/mapper.js';
import { StatementParser } from './keepalived/parser.js';
import { lineIndexOnDemand } from './line-index.js';
import type { Config } from './model.js';
import { resolveConfig } from './resolve.js';
import { configDocumentSchema } from './schema.js';
import { issueMessage, knownKeysAt, schemaIssueWording } from './schema-messages.js';
import { scrubSecrets, secretsOf } from './secret-scrub.js';
import { checkConfig } from './semantic-checks.js';
import { findExcessiveNesting, MAX_YAML_DEPTH } from './yaml/nesting-depth.js';
import { parseYaml, readSimpleYaml } from './yaml/parse-yaml.js';

export type ConfigFormat = 'yaml' | 'keepalived';

export interface LoadOptions extends LexOptions {
  /** Reject unknown keepalived keywords instead of warning about them. */
  readonly strict?: boolean;
  /** Skip detection and read the text as this format. */
  readonly format?: ConfigFormat;
  /**
   * The host's interface names. When given, every interface the configuration
   * names must be one of them (see checkInterfaces); `lbctl up` passes them,
   * `validate` does not, since a file may be checked on another machine.
   */
  readonly existingInterfaces?: Iterable<string>;
  /**
   * Refuse a configuration with no VRRP instance and no virtual server:
   * `validate` and `up` ask for this, since a daemon with nothing to run
   * would only look as if it worked.
   */
  readonly requireWork?: boolean;
}

export interface LoadResult {
  readonly config: Config;
  readonly warnings: readonly ConfigWarning[];
  readonly format: ConfigFormat;
}

type Path = readonly (string | number)[];

const KEEPALIVED_TOP =
  /^\s*(global_defs|vrrp_\w+|virtual_server\w*|track_file|static_\w+|include[rmwba]?|SSL|linkbeat_interfaces|garp_group|bfd_instance|net_namespace\w*|[@$~])/;

/**
 * Detects the format by content: keepalived.conf starts (after comments) with
 * one of its block keywords, `@id`, `$NAME=` or `include`, or uses `!`
 * comments and braces; YAML starts with `key:`, `---` or `%`. The extension
 * decides only when the content does not.
 */
export function detectFormat(text: string, fileName: string): ConfigFormat {
  // Line by line without splitting the whole text: only the first lines matter.
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('!')) return 'keepalived';
    if (line.startsWith('---') || line.startsWith('%')) return 'yaml';
    if (KEEPALIVED_TOP.test(line)) return 'keepalived';
    if (/^[A-Za-z_][\w-]*\s*:(\s|$)/.test(line) || line.startsWith('- ')) return 'yaml';
    if (/[{}]\s*$/.test(line)) return 'keepalived';
    break;
  }
  return /\.ya?ml$/i.test(fileName) ? 'yaml' : 'keepalived';
}

/**
 * Lexes, parses and maps keepalived.conf text (and its includes) into the
 * configuration document, one top-level statement at a time: tokens and
 * statements are dropped as soon as they are mapped, which keeps large files
 * cheap. Source positions of values are recorded only when asked for.
 */
export function readKeepalived(
  text: string,
  fileName: string,
  issues: IssueList,
  options: LoadOptions = {},
  recordLocations = false,
): MappedDocument {
  const mapper = createKeepalivedMapper(issues, options.strict ?? false, recordLocations, fileName);
  const parser = new StatementParser(issues, mapper);
  const lexer = new KeepalivedLexer(issues, options, parser);
  lexer.lexText(text, fileName);
  parser.end();
  return mapper.result();
}

/** Turns a zod path into the readable form used in messages: vrrpInstances[0].priority. */
export function describePath(path: Path): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`),
    '',
  );
}

/** A validation problem at a document path; placed in the source only when reported. */
interface Finding {
  readonly path: Path;
  /** Point at the key rather than its value (unknown keys). */
  readonly atKey: boolean;
  readonly message: string;
  readonly warning: boolean;
}

type Placed = SourcePosition & { label: string };
type Locate = (path: Path, atKey: boolean, index: number) => Placed;

/** Every finding's position, or undefined when any cannot be placed this way. */
function placeAll(
  findings: readonly Finding[],
  locate: (path: Path, atKey: boolean) => SourcePosition | undefined,
): Placed[] | undefined {
  const placed: Placed[] = [];
  for (const f of findings) {
    const at = locate(f.path, f.atKey);
    if (at === undefined) return undefined;
    placed.push({ ...at, label: describePath(f.path) || 'configuration' });
  }
  return placed;
}

/** Validates a document and resolves it; problems come back by document path. */
function validate(
  data: unknown,
  options: LoadOptions,
): { config: Config | undefined; findings: Finding[] } {
  const findings: Finding[] = [];
  // Without zod's generated object parsers: real servers, the bulk, take a
  // hand-written path, and compiling the virtual server's generated parser
  // cost a process more CPU (70-80 ms of a compiler thread) than it saved.
  const parsed = configDocumentSchema.safeParse(data ?? {}, {
    error: schemaIssueWording,
    jitless: true,
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(toSegment);
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeysAt(configDocumentSchema, path);
        for (const key of issue.keys) {
          const guess = closestKeyword(key, known);
          findings.push({
            path: [...path, key],
            atKey: true,
            message: `unknown key '${key}'${guess !== undefined ? ` (did you mean '${guess}'?)` : ''}`,
            warning: false,
          });
        }
      } else {
        findings.push({ path, atKey: false, message: issueMessage(issue), warning: false });
      }
    }
    return { config: undefined, findings };
  }
  const config = resolveConfig(parsed.data);
  const semantic = checkConfig(config);
  if (options.existingInterfaces !== undefined)
    semantic.errors.push(...checkInterfaces(config, options.existingInterfaces));
  for (const e of semantic.errors)
    findings.push({ path: e.path, atKey: false, message: e.message, warning: false });
  for (const w of semantic.warnings)
    findings.push({ path: w.path, atKey: false, message: w.message, warning: true });
  return { config, findings };
}

/**
 * Adds findings to `issues` at their source positions, prefixed with what
 * they concern; `words` puts a message in the vocabulary of the file's format.
 */
function report(
  findings: readonly Finding[],
  issues: IssueList,
  locate: Locate,
  words: (message: string, path: Path) => string = (message) => message,
): void {
  for (const [index, f] of findings.entries()) {
    const at = locate(f.path, f.atKey, index);
    const message = `${at.label}: ${words(f.message, f.path)}`;
    if (f.warning) issues.warn(at, message);
    else issues.error(at, message);
  }
}

function toSegment(seg: PropertyKey): string | number {
  return typeof seg === 'number' ? seg : String(seg);
}

/**
 * Parses configuration text of either format. Throws ConfigError carrying
 * every problem (syntax, schema and cross-field) when anything is wrong.
 */
export function parseConfigText(
  text: string,
  fileName: string,
  options: LoadOptions = {},
): LoadResult {
  const issues = new IssueList();
  const format = options.format ?? detectFormat(text, fileName);
  let config: Config | undefined;
  let document: unknown;
  /** No node of the document appears twice: only YAML aliases share nodes. */
  let tree = true;
  if (format === 'yaml') {
    const tooDeep = findExcessiveNesting(text);
    if (tooDeep !== undefined) {
      throw new ConfigError([
        {
          file: fileName,
          ...lineIndexOnDemand(text)(tooDeep),
          message: `YAML nests deeper than ${MAX_YAML_DEPTH} levels`,
        },
      ]);
    }
    // Most configurations are simple: read once, placing only the nodes a
    // message names.
    const simple = readSimpleYaml(text, fileName);
    const checked = simple && validate(simple.data, options);
    if (checked?.config !== undefined && checked.findings.length === 0)
      return { config: requireWork(checked.config, fileName, options), warnings: [], format };
    const placed = simple && checked && placeAll(checked.findings, simple.locate);
    if (placed) {
      document = simple.data;
      report(checked.findings, issues, (_path, _atKey, index) => placed[index] as Placed);
      config = checked.config;
    } else {
      const yaml = parseYaml(text, fileName, issues);
      document = yaml.data;
      tree = false;
      if (issues.errors.length === 0) {
        // Findings on the simple reading stand when positions come from the same parser.
        const result =
          checked && yaml.parser === 'js-yaml' ? checked : validate(yaml.data, options);
        report(result.findings, issues, (path, atKey) => ({
          ...yaml.locate(path, atKey),
          label: describePath(path) || 'configuration',
        }));
        config = result.config;
      }
    }
  } else {
    // Positions are recorded on the one reading: compactly enough that this
    // costs less than reading the file again when there is something to report.
    const mapped = readKeepalived(text, fileName, issues, options, true);
    document = mapped.document;
    const result = validate(mapped.document, options);
    const locations = mapped.locations;
    report(
      result.findings,
      issues,
      (path) => {
        for (let n = path.length; n >= 0; n--) {
          const hit = locations?.get(path.slice(0, n));
          if (hit) {
            // Named by keepalived's keyword, never by the document's field name.
            const keyword = n === path.length ? undefined : keywordAt(path);
            return {
              file: hit.file,
              line: hit.line,
              column: hit.column,
              label:
                keyword === undefined || keyword === hit.keyword
                  ? hit.keyword
                  : `'${keyword}' of ${hit.keyword}`,
            };
          }
        }
        return { file: fileName, line: 1, column: 1, label: keywordAt(path) ?? 'configuration' };
      },
      inKeepalivedWords,
    );
    config = result.config;
  }
  // The document is walked for secrets only when there is a message to scrub.
  let secrets: readonly string[] | undefined;
  const scrub = <T extends ConfigWarning>(list: readonly T[]) => {
    if (list.length === 0) return [];
    secrets ??= secretsOf(document, tree);
    const known = secrets;
    return sortIssues(list).map((i) => ({ ...i, message: scrubSecrets(i.message, known) }));
  };
  if (issues.errors.length > 0 || config === undefined) {
    throw new ConfigError(scrub(issues.errors));
  }
  return {
    config: requireWork(config, fileName, options),
    warnings: scrub(issues.warnings),
    format,
  };
}

/** The configuration, unless it must have something to run and has not. */
function requireWork(config: Config, fileName: string, options: LoadOptions): Config {
  if (
    options.requireWork === true &&
    config.vrrpInstances.length === 0 &&
    config.virtualServers.length === 0
  ) {
    throw new ConfigError([
      {
        file: fileName,
        line: 1,
        column: 1,
        message:
          'the configuration defines no VRRP instance and no virtual server: there is nothing to run',
      },
    ]);
  }
  return config;
}

/** Reads and parses a configuration file of either format (see parseConfigText). */
export function loadConfig(path: string, options: LoadOptions = {}): LoadResult {
  const limit = (options.readLimits ?? DEFAULT_READ_LIMITS).maxTotalBytes;
  const read = readConfigFile(path, limit);
  if ('error' in read) {
    const reason = read.tooLarge
      ? `configuration files may total at most ${limit} bytes`
      : read.error;
    throw new ConfigError([
      { file: path, line: 1, column: 1, message: `Cannot read configuration: ${reason}` },
    ]);
  }
  return parseConfigText(read.text, path, options);
}
