import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import {
  ConfigError,
  type ConfigWarning,
  IssueList,
  type SourcePosition,
  sortIssues,
} from './errors.js';
import { KeepalivedLexer, type LexOptions } from './keepalived/lexer.js';
import { type MappedDocument, mapKeepalived, pathKey } from './keepalived/mapper.js';
import { parseStatements } from './keepalived/parser.js';
import type { Config } from './model.js';
import { resolveConfig } from './resolve.js';
import { configDocumentSchema } from './schema.js';
import { checkConfig } from './semantic-checks.js';
import { parseYaml } from './yaml/parse-yaml.js';

export type ConfigFormat = 'yaml' | 'keepalived';

export interface LoadOptions extends LexOptions {
  /** Reject unknown keepalived keywords instead of warning about them. */
  readonly strict?: boolean;
  /** Skip detection and read the text as this format. */
  readonly format?: ConfigFormat;
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
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
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

/** Lexes, parses and maps keepalived.conf text into the configuration document. */
export function readKeepalived(
  text: string,
  fileName: string,
  issues: IssueList,
  options: LoadOptions = {},
): MappedDocument {
  const lexer = new KeepalivedLexer(issues, options);
  lexer.lexText(text, fileName);
  const statements = parseStatements(lexer.tokens, issues);
  return mapKeepalived(statements, issues, options.strict ?? false);
}

/** Turns a zod path into the readable form used in messages: vrrpInstances[0].priority. */
export function describePath(path: Path): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`),
    '',
  );
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the alternative that got furthest rather than a bare "Invalid input".
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
    const first = best?.[0];
    if (first) return issueMessage(first);
  }
  return issue.message;
}

/** Validates a document and resolves it, mapping every problem to a source position. */
function validate(
  data: unknown,
  issues: IssueList,
  locate: (path: Path, atKey: boolean) => SourcePosition & { label: string },
): Config | undefined {
  const parsed = configDocumentSchema.safeParse(data ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const at = locate([...issue.path.map(toSegment), key], true);
          issues.error(at, `${at.label}: unknown key '${key}'`);
        }
        continue;
      }
      const at = locate(issue.path.map(toSegment), false);
      issues.error(at, `${at.label}: ${issueMessage(issue)}`);
    }
    return undefined;
  }
  const config = resolveConfig(parsed.data);
  const semantic = checkConfig(config);
  for (const e of semantic.errors) {
    const at = locate(e.path, false);
    issues.error(at, `${at.label}: ${e.message}`);
  }
  for (const w of semantic.warnings) {
    const at = locate(w.path, false);
    issues.warn(at, `${at.label}: ${w.message}`);
  }
  return config;
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
  if (format === 'yaml') {
    const yaml = parseYaml(text, fileName, issues);
    if (issues.errors.length === 0) {
      config = validate(yaml.data, issues, (path, atKey) => ({
        ...yaml.locate(path, atKey),
        label: describePath(path) || 'configuration',
      }));
    }
  } else {
    const mapped = readKeepalived(text, fileName, issues, options);
    const fallback: SourcePosition = { file: fileName, line: 1, column: 1 };
    config = validate(mapped.document, issues, (path) => {
      for (let n = path.length; n >= 0; n--) {
        const hit = mapped.locations.get(pathKey(path.slice(0, n)));
        if (hit) {
          return {
            file: hit.file,
            line: hit.line,
            column: hit.column,
            label:
              n === path.length ? hit.keyword : `${hit.keyword} (${describePath(path.slice(n))})`,
          };
        }
      }
      return { ...fallback, label: describePath(path) || 'configuration' };
    });
  }
  if (issues.errors.length > 0 || config === undefined) {
    throw new ConfigError(sortIssues(issues.errors));
  }
  return { config, warnings: sortIssues(issues.warnings), format };
}

/** Reads and parses a configuration file of either format (see parseConfigText). */
export function loadConfig(path: string, options: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([
      { file: path, line: 1, column: 1, message: `Cannot read configuration: ${code}` },
    ]);
  }
  return parseConfigText(text, path, options);
}
