/** Line and column (both 1-based) of a character offset. */
export interface LinePosition {
  readonly line: number;
  readonly column: number;
}

/**
 * Maps character offsets of `text` to line and column, counting the lines the
 * first time it is asked (most loads never need a position). The `yaml`
 * package's LineCounter does the same, but loading that package costs every
 * process ~35 ms of CPU, and only documents the fast reader declines need it.
 */
export function lineIndexOnDemand(text: string): (offset: number) => LinePosition {
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    }
    // The last line starting at or before the offset.
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (starts[low] as number) + 1 };
  };
}
