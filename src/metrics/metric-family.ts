/**
 * A metric family with one series per service, real or check, formatted by
 * lbctl itself in slices of the event loop. prom-client keeps a labelled
 * metric's series in a hashed map and validates every label on every set:
 * at 1,000 services × 32 reals (about 160,000 series) that held the loop for
 * 1.3 s per scrape, past a VRRP master's down interval. Families write the
 * text exposition format directly, a series at a time, and give the loop a
 * turn whenever a slice is used up (docs/metrics.md, "Cost of a scrape").
 */

/** Where a family writes its series. */
export interface FamilyWriter {
  /** One series; `labels` is the text between the braces ('' for none: see labels.ts). */
  series(labels: string, value: number): void;
  /** Gives the event loop a turn when the current slice is used up. */
  maybeYield(): Promise<void>;
}

export interface MetricFamily<Scrape> {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  /** Writes this scrape's series. */
  collect(scrape: Scrape, out: FamilyWriter): Promise<void>;
}

/** A value as the exposition format spells it (prom-client's spelling of NaN kept). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return `${value}`;
}

/** HELP text: backslash and newline escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, newline and double quote escaped. */
export function escapeLabelValue(text: string): string {
  return escapeHelp(text).replace(/"/g, '\\"');
}

/** `name="value",...` for labels in the given order (values escaped). */
export function labelText(labels: Readonly<Record<string, string>>): string {
  let text = '';
  for (const [name, value] of Object.entries(labels)) {
    text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(value)}"`;
  }
  return text;
}
