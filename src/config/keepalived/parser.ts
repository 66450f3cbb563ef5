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

/**
 * A block being read: the statement that opened it, or a stray `{` (whose
 * content is dropped), and the block it is in. Open blocks are a linked list,
 * not an array: a new parser's empty array changes its element kind on its
 * first push, which threw away the lexer's optimized code on every load
 * after the first.
 */
interface OpenBlock {
  readonly owner: Token;
  readonly args: readonly Token[] | undefined;
  readonly statements: Statement[];
  readonly outer: OpenBlock | undefined;
  readonly depth: number;
}

/**
 * Reads statements from tokens as the lexer produces them. A statement ends
 * at the end of its line, at `{` (its block, which may also start on a
 * following line) or at `}`. Each top-level statement is handed on as soon as
 * it is complete, so a large file never exists as one token list or tree.
 * Problems are collected and reading continues, so every one is reported.
 */
export class StatementParser implements TokenSink {
  /** The innermost open block. */
  private innermost: OpenBlock | undefined = undefined;
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
    const outer = this.innermost;
    const depth = outer === undefined ? 1 : outer.depth + 1;
    if (depth === MAX_BLOCK_DEPTH + 1)
      this.issues.error(
        { file, line, column },
        `blocks nest deeper than ${MAX_BLOCK_DEPTH} levels`,
      );
    if (this.keyword !== undefined) {
      this.innermost = {
        owner: this.keyword,
        args: this.args ?? NO_ARGS,
        statements: [],
        outer,
        depth,
      };
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
      this.innermost = { owner: brace, args: undefined, statements: [], outer, depth };
    }
  }

  close(file: string, line: number, column: number): void {
    this.finishStatement();
    const block = this.innermost;
    if (block === undefined)
      this.issues.error({ file, line, column }, "unexpected '}' with no open block");
    else {
      this.innermost = block.outer;
      this.closeBlock(block);
    }
  }

  /** Ends the input: blocks still open are errors, innermost first, and keep what they hold. */
  end(): void {
    this.finishStatement();
    for (let block = this.innermost; block !== undefined; block = this.innermost) {
      this.innermost = block.outer;
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
    const parent = this.innermost;
    if (parent === undefined) this.out.map(statement);
    else parent.statements.push(statement);
  }
}
