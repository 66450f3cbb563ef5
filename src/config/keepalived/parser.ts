import type { IssueList } from '../errors.js';
import type { Token } from './lexer.js';

/** One keepalived statement: a keyword, its arguments and an optional `{ ... }` block. */
export interface Statement {
  readonly keyword: Token;
  readonly args: readonly Token[];
  readonly block?: readonly Statement[];
}

/**
 * Recursive-descent parser over lexer tokens. A statement ends at the end of
 * its line, at `{` (its block, which may also start on the next line) or at
 * `}`. Problems are collected and parsing continues, so every one is reported.
 */
export function parseStatements(tokens: readonly Token[], issues: IssueList): Statement[] {
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];

  const skipEols = () => {
    while (peek()?.kind === 'eol') pos++;
  };

  function parseBlock(owner: Token | undefined): Statement[] {
    const statements: Statement[] = [];
    for (;;) {
      const tok = peek();
      if (tok === undefined) {
        if (owner) {
          issues.error(
            owner,
            `block '${owner.text}' is not closed: missing '}' before the end of the file`,
          );
        }
        return statements;
      }
      if (tok.kind === 'eol') {
        pos++;
        continue;
      }
      if (tok.kind === 'close') {
        pos++;
        if (owner) return statements;
        issues.error(tok, "unexpected '}' with no open block");
        continue;
      }
      if (tok.kind === 'open') {
        pos++;
        issues.error(tok, "unexpected '{' without a keyword before it");
        parseBlock(tok);
        continue;
      }
      pos++;
      const args: Token[] = [];
      while (peek()?.kind === 'word') {
        args.push(peek() as Token);
        pos++;
      }
      let block: Statement[] | undefined;
      if (peek()?.kind === 'open') {
        pos++;
        block = parseBlock(tok);
      } else if (peek()?.kind === 'eol') {
        // The opening brace may sit alone on the following line.
        const save = pos;
        skipEols();
        if (peek()?.kind === 'open') {
          pos++;
          block = parseBlock(tok);
        } else {
          pos = save;
        }
      }
      statements.push(block ? { keyword: tok, args, block } : { keyword: tok, args });
    }
  }

  return parseBlock(undefined);
}
