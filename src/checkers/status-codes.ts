import { CheckerConfigError } from './checker-error.js';

/** An inclusive range of HTTP status codes; a single code has from === to. */
export interface StatusCodeRange {
  readonly from: number;
  readonly to: number;
}

/** keepalived's default when status_code is not given. */
export const DEFAULT_STATUS_CODES: readonly StatusCodeRange[] = [{ from: 200, to: 299 }];

/**
 * Parses keepalived's status_code list: "200", "200-299 400-499 503" or the
 * same as separate items.
 */
export function parseStatusCodes(spec: string | readonly (string | number)[]): StatusCodeRange[] {
  const items = typeof spec === 'string' ? spec.trim().split(/\s+/) : spec.map(String);
  const ranges = items.filter((item) => item !== '').map(parseOne);
  if (ranges.length === 0) {
    throw new CheckerConfigError('Cannot use status_code: the list is empty');
  }
  return ranges;
}

function parseOne(item: string): StatusCodeRange {
  const match = /^(\d{3})(?:-(\d{3}))?$/.exec(item);
  const from = Number(match?.[1]);
  const to = match?.[2] === undefined ? from : Number(match[2]);
  if (match === null || from < 100 || to > 599 || from > to) {
    throw new CheckerConfigError(
      `Cannot use status_code "${item}": expected a code or range between 100 and 599, like 200 or 200-299`,
    );
  }
  return { from, to };
}

export function statusAccepted(status: number, ranges: readonly StatusCodeRange[]): boolean {
  return ranges.some((r) => status >= r.from && status <= r.to);
}
