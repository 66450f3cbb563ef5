import { LbctlError } from '../errors.js';

/** Where a problem was found: 1-based line and column in `file`. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One problem in a configuration file. */
export interface ConfigIssue extends SourcePosition {
  readonly message: string;
}

/** A non-fatal remark (deprecated spelling, ignored keyword) with its location. */
export type ConfigWarning = ConfigIssue;

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

/**
 * Every problem found while loading a configuration, reported together so an
 * operator can fix them in one pass. Nothing is applied when this is thrown.
 */
export class ConfigError extends LbctlError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], action = 'load configuration') {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      'CONFIG_INVALID',
      `Cannot ${action}: ${count}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Collects issues while a front end keeps going, so all of them are reported at once. */
export class IssueList {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigWarning[] = [];

  /**
   * At most `limit` errors and as many warnings are kept (a hostile or broken
   * file can produce one per line); the last kept one says that more follow.
   */
  constructor(private readonly limit = MAX_ISSUES) {}

  error(at: SourcePosition, message: string): void {
    add(this.errors, at, message, this.limit, 'errors');
  }

  warn(at: SourcePosition, message: string): void {
    add(this.warnings, at, message, this.limit, 'warnings');
  }
}

/** Problems kept per kind; an operator fixes the first ones and reruns. */
export const MAX_ISSUES = 1000;

function add(
  list: ConfigIssue[],
  at: SourcePosition,
  message: string,
  limit: number,
  kind: string,
): void {
  if (list.length > limit) return;
  list.push({
    file: at.file,
    line: at.line,
    column: at.column,
    message:
      list.length === limit ? `too many ${kind}; the ones from here on are not reported` : message,
  });
}

/** Sorts issues by file, line and column so reports read top to bottom. */
export function sortIssues<T extends ConfigIssue>(issues: readonly T[]): T[] {
  return [...issues].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
}
