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

  error(at: SourcePosition, message: string): void {
    this.errors.push({ file: at.file, line: at.line, column: at.column, message });
  }

  warn(at: SourcePosition, message: string): void {
    this.warnings.push({ file: at.file, line: at.line, column: at.column, message });
  }
}

/** Sorts issues by file, line and column so reports read top to bottom. */
export function sortIssues<T extends ConfigIssue>(issues: readonly T[]): T[] {
  return [...issues].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
}
