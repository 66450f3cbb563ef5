import type { z } from 'zod';

/**
 * lbctl's wording for every problem the schema library finds. Messages the
 * schema states itself (`{ error: ... }` on a field) take precedence; this
 * covers the rest, so no message ever reaches an operator in the library's
 * own words. Messages follow the path label: "priority: must be ...".
 */
export function schemaIssueWording(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required but not given';
      return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}, not ${describeInput(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${show(issue.values[0])}`
        : `must be one of ${issue.values.map(show).join(', ')}`;
    case 'too_small':
      return bound(issue.origin, 'at least', issue.minimum, issue.inclusive);
    case 'too_big':
      return bound(issue.origin, 'at most', issue.maximum, issue.inclusive);
    case 'invalid_format':
      return 'is not in the expected form';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map(show).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the accepted forms';
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid entry';
    default:
      return 'is not valid';
  }
}

/**
 * The message for one issue; a union reports the alternative that got
 * furthest, or all accepted values when each alternative is a single value.
 */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const values = issue.errors.flatMap((branch) =>
      branch.length === 1 && branch[0]?.code === 'invalid_value' && branch[0].path.length === 0
        ? branch[0].values
        : [undefined],
    );
    if (!values.includes(undefined)) return `must be one of ${values.map(show).join(', ')}`;
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
    const first = best?.[0];
    if (first) return issueMessage(first);
  }
  return issue.message;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'on/off (true or false)',
  array: 'a list',
  object: 'a block of settings',
};

function describeInput(input: unknown): string {
  if (input === null) return 'empty';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a block of settings';
  if (typeof input === 'string')
    return `'${input.length > 40 ? `${input.slice(0, 40)}...` : input}'`;
  return String(input);
}

function bound(
  origin: string,
  side: string,
  limit: unknown,
  inclusive: boolean | undefined,
): string {
  const n = Number(limit);
  switch (origin) {
    case 'array':
    case 'set':
      return n === 1 && side === 'at least'
        ? 'needs at least one entry'
        : `needs ${side} ${n} entries`;
    case 'string':
      return n === 1 && side === 'at least'
        ? 'must not be empty'
        : `must be ${side} ${n} characters`;
    default:
      return inclusive === false
        ? `must be ${side === 'at least' ? 'more' : 'less'} than ${String(limit)}`
        : `must be ${side} ${String(limit)}`;
  }
}

const show = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : String(value));

interface SchemaDef {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly element?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly options?: readonly z.ZodType[];
}
const defOf = (schema: z.ZodType): SchemaDef =>
  (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The object schemas a value at `path` of `schema` may be (several under a union). */
function objectsAt(schema: z.ZodType, path: readonly (string | number)[]): SchemaDef[] {
  let d = defOf(schema);
  while (d.innerType !== undefined || (d.type === 'pipe' && d.in !== undefined))
    d = defOf((d.innerType ?? d.in) as z.ZodType);
  if (d.options !== undefined) return d.options.flatMap((o) => objectsAt(o, path));
  if (path.length === 0) return d.shape !== undefined ? [d] : [];
  const [head, ...rest] = path;
  if (typeof head === 'number') return d.element !== undefined ? objectsAt(d.element, rest) : [];
  const next = d.shape?.[head as string];
  return next !== undefined ? objectsAt(next, rest) : [];
}

/** The keys an object at `path` of `schema` accepts, for "did you mean" on unknown keys. */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((d) => Object.keys(d.shape ?? {})))];
}
