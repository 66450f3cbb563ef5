import type { IssueList } from '../errors.js';
import type { Token, TokenSink } from './lexer.js';

/** One keepalived statement: a keyword, its arguments and an optional `{ ... }` block. */
export interface Statement {
  readonly keyword: Token;
  readonly args: readonly Token[];
  readonly block?: readonly Statement[] | undefined;
}

/** Deepest block nesting accepted; keepalived's own grammar needs five levels. */
export const MAX_BLOCK_DEPTH = 100;

/** Shared by every statement without arguments (most block openers). */
const NO_ARGS: readonly Token[] = Object.freeze([]);

/** A block being read: the statement that opened it, or a stray `{` (whose content is dropped). */
interface OpenBlock {
  readonly owner: Token;
  readonly args: readonly Token[] | undefined;
  readonly statements: Statement[];
}

/**
 * Reads statements from tokens as the lexer produces them. A statement ends
 * at the end of its line, at `{` (its block, which may also start on a
 * following line) or at `}`. Each top-level statement is handed on as soon as
 * it is complete, so a large file never exists as one token list or tree.
 * Problems are collected and reading continues, so every one is reported.
 */
export class StatementParser implements TokenSink {
  private readonly blocks: OpenBlock[] = [];
  /** The statement being read: its keyword and arguments so far. */
  private keyword: Token | undefined;
  private args: Token[] | undefined;
  /** The statement's line has not ended: a word now is one more argument. */
  private inLine = false;

  constructor(
    private readonly issues: IssueList,
    /** Takes each top-level statement (an object, not a closure: see DocumentMapper). */
    private readonly out: { map(statement: Statement): void },
  ) {}

  word(tok: Token): void {
    if (this.inLine) {
      if (this.args === undefined) this.args = [tok];
      else this.args.push(tok);
      return;
    }
    this.finishStatement();
    this.keyword = tok;
    this.inLine = true;
  }

  lineEnd(): void {
    this.inLine = false;
  }

  open(file: string, line: number, column: number): void {
    if (this.blocks.length === MAX_BLOCK_DEPTH)
      this.issues.error(
        { file, line, column },
        `blocks nest deeper than ${MAX_BLOCK_DEPTH} levels`,
      );
    if (this.keyword !== undefined) {
      this.blocks.push({ owner: this.keyword, args: this.args ?? NO_ARGS, statements: [] });
      this.keyword = this.args = undefined;
      this.inLine = false;
    } else {
      this.issues.error({ file, line, column }, "unexpected '{' without a keyword before it");
      const brace: Token = {
        text: '{',
        file,
        line,
        column,
        quoted: false,
        commentsBefore: undefined,
        commentAfter: undefined,
      };
      this.blocks.push({ owner: brace, args: undefined, statements: [] });
    }
  }

  close(file: string, line: number, column: number): void {
    this.finishStatement();
    const block = this.blocks.pop();
    if (block === undefined)
      this.issues.error({ file, line, column }, "unexpected '}' with no open block");
    else this.closeBlock(block);
  }

  /** Ends the input: blocks still open are errors, innermost first, and keep what they hold. */
  end(): void {
    this.finishStatement();
    for (let block = this.blocks.pop(); block !== undefined; block = this.blocks.pop()) {
      this.issues.error(
        block.owner,
        `block '${block.owner.text}' is not closed: missing '}' before the end of the file`,
      );
      this.closeBlock(block);
    }
  }

  private finishStatement(): void {
    this.inLine = false;
    if (this.keyword === undefined) return;
    this.add({ keyword: this.keyword, args: this.args ?? NO_ARGS, block: undefined });
    this.keyword = this.args = undefined;
  }

  private closeBlock(block: OpenBlock): void {
    if (block.args !== undefined)
      this.add({ keyword: block.owner, args: block.args, block: block.statements });
  }

  private add(statement: Statement): void {
    const parent = this.blocks[this.blocks.length - 1];
    if (parent === undefined) this.out.map(statement);
    else parent.statements.push(statement);
  }
}
