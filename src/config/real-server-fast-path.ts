import { z } from 'zod';
import { ipFamily } from '../net/address.js';

/**
 * A hand-written parser for real servers, the bulk of a large configuration
 * (32,000 of them with their checkers took 85-95 % of validating the
 * 1,000 x 32 benchmark). It accepts only what the real server's zod schema
 * accepts and returns the same value; anything else, and anything it does
 * not model, it hands back (INVALID) to zod, which then parses that real
 * server itself, so every error is still zod's, worded and placed as before.
 * Bounds, enum members and defaults are read from the schema; what this file
 * states is only which kind of value each field holds.
 */

const INVALID: typeof z.INVALID = z.INVALID;
type Invalid = typeof INVALID;
/** Parses a value that is present (never undefined); INVALID when it cannot tell it is valid. */
type FieldParser = (value: unknown) => unknown;
type AnyObjectSchema = z.ZodObject<z.ZodRawShape>;

/** The schema under `.optional()` and `.default()`. */
function inner(schema: z.ZodType): z.ZodType {
  let at = schema;
  while (at instanceof z.ZodOptional || at instanceof z.ZodDefault) at = at.unwrap() as z.ZodType;
  return at;
}

/** An integer within the bounds its schema declares (`z.int().min().max()`). */
function integer(schema: z.ZodType): FieldParser {
  const number = inner(schema);
  if (!(number instanceof z.ZodNumber) || !number.isInt)
    throw new Error('integer field of the fast path is not an integer schema');
  const min = number.minValue ?? Number.NEGATIVE_INFINITY;
  const max = number.maxValue ?? Number.POSITIVE_INFINITY;
  return (value) =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
      ? value
      : INVALID;
}

/** A string of at least the length its schema declares (`text()` in schema.ts). */
function text(schema: z.ZodType): FieldParser {
  const string = inner(schema);
  if (!(string instanceof z.ZodString))
    throw new Error('text field of the fast path is not a string schema');
  const min = string.minLength ?? 0;
  return (value) => (typeof value === 'string' && value.length >= min ? value : INVALID);
}

/** One of the members of an enum schema. */
function member(schema: z.ZodType): FieldParser {
  const options = inner(schema);
  if (!(options instanceof z.ZodEnum))
    throw new Error('enum field of the fast path is not an enum schema');
  const members = new Set<unknown>(options.options);
  return (value) => (members.has(value) ? value : INVALID);
}

const boolean: FieldParser = (value) => (typeof value === 'boolean' ? value : INVALID);

/** `ipAddress` in schema.ts: a string ipFamily recognises. */
const address: FieldParser = (value) =>
  typeof value === 'string' && ipFamily(value) !== undefined ? value : INVALID;

/** A field this file does not model: its own schema decides. */
function bySchema(schema: z.ZodType): FieldParser {
  return (value) => {
    const result = schema.safeParse(value);
    return result.success ? result.data : INVALID;
  };
}

/** `.default()`'s value (read each time: zod hands out a copy of an object default). */
function defaultOf(schema: z.ZodType): () => unknown {
  if (!(schema instanceof z.ZodDefault)) throw new Error('fast path field has no default');
  return () => schema.def.defaultValue;
}

/** Plain data as a mapping, the only input a strict object accepts. */
function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How many keys `input` has, or -1 when one is not in `known` (a strict
 * object refuses it). The caller compares this with the number of defined
 * values it read: a key present as undefined is rare and zod's handling of
 * it subtle, so that is left to zod.
 */
function keyCount(input: Readonly<Record<string, unknown>>, known: ReadonlySet<string>): number {
  let count = 0;
  for (const key in input) {
    if (!known.has(key)) return -1;
    count++;
  }
  return count;
}

/** The fields the parsers below write out, in the schema's order. */
const REAL_SERVER_FIELDS = [
  'address',
  'port',
  'weight',
  'lbKind',
  'tunnel',
  'inhibitOnFailure',
  'upperThreshold',
  'lowerThreshold',
  'notifyUp',
  'notifyDown',
  'virtualhost',
  'connectTimeoutMs',
  'retry',
  'delayBeforeRetryMs',
  'warmupMs',
  'delayLoopMs',
  'checkers',
];
const CONNECTION_CHECKER_FIELDS = [
  'type',
  'connectIp',
  'connectPort',
  'bindTo',
  'connectTimeoutMs',
  'retry',
  'delayBeforeRetryMs',
  'warmupMs',
  'delayLoopMs',
];

/**
 * The schema's keys, which must be `fields` in this order: a field added to
 * the schema must be added here too, or it would be dropped from the output.
 */
function expectFields(schema: AnyObjectSchema, fields: readonly string[]): Set<string> {
  const keys = Object.keys(schema.shape);
  if (keys.join() !== fields.join())
    throw new Error(`the fast path knows ${fields.join()} but the schema has ${keys.join()}`);
  return new Set(keys);
}

/** The option of a discriminated union whose `type` is `type`. */
function optionOfType(union: z.ZodDiscriminatedUnion, type: string): AnyObjectSchema {
  const option = union.options.find(
    (o) =>
      o instanceof z.ZodObject &&
      o.shape.type instanceof z.ZodLiteral &&
      o.shape.type.value === type,
  );
  if (!(option instanceof z.ZodObject)) throw new Error(`no ${type} checker in the schema`);
  return option as AnyObjectSchema;
}

/** Timing fields real servers and checkers share, in this order in both. */
interface Timing {
  readonly connectTimeoutMs?: unknown;
  readonly retry?: unknown;
  readonly delayBeforeRetryMs?: unknown;
  readonly warmupMs?: unknown;
  readonly delayLoopMs?: unknown;
}

/** The timing fields' checks, with the bounds their schemas (`field`) declare. */
function timingChecks(field: (key: string) => z.ZodType) {
  return {
    connectTimeoutMs: integer(field('connectTimeoutMs')),
    retry: integer(field('retry')),
    delayBeforeRetryMs: integer(field('delayBeforeRetryMs')),
    warmupMs: integer(field('warmupMs')),
    delayLoopMs: integer(field('delayLoopMs')),
  };
}

/**
 * Copies the timing fields `input` defines into `out` after checking them:
 * how many it copied, or -1 when one is not valid.
 */
function copyTiming(
  input: Timing,
  out: Record<string, unknown>,
  checks: ReturnType<typeof timingChecks>,
): number {
  let copied = 0;
  if (input.connectTimeoutMs !== undefined) {
    if (checks.connectTimeoutMs(input.connectTimeoutMs) === INVALID) return -1;
    out.connectTimeoutMs = input.connectTimeoutMs;
    copied++;
  }
  if (input.retry !== undefined) {
    if (checks.retry(input.retry) === INVALID) return -1;
    out.retry = input.retry;
    copied++;
  }
  if (input.delayBeforeRetryMs !== undefined) {
    if (checks.delayBeforeRetryMs(input.delayBeforeRetryMs) === INVALID) return -1;
    out.delayBeforeRetryMs = input.delayBeforeRetryMs;
    copied++;
  }
  if (input.warmupMs !== undefined) {
    if (checks.warmupMs(input.warmupMs) === INVALID) return -1;
    out.warmupMs = input.warmupMs;
    copied++;
  }
  if (input.delayLoopMs !== undefined) {
    if (checks.delayLoopMs(input.delayLoopMs) === INVALID) return -1;
    out.delayLoopMs = input.delayLoopMs;
    copied++;
  }
  return copied;
}

/**
 * Outputs start as `{}`, which has room for four fields in the object itself:
 * `{ type }` or `{ address }` has room for that one, and the fields added
 * after it went to a second object, one per real server and per checker.
 */

/**
 * TCP_CHECK and PING_CHECK (the connection fields only; the common checkers).
 * Written out field by field, in the schema's order (zod's output keeps it),
 * so that every property access is one V8 can specialise.
 */
function connectionCheckerParser(option: AnyObjectSchema): FieldParser {
  const s = option.shape as Record<string, z.ZodType>;
  const known = new Set(Object.keys(s));
  const type = (s.type as z.ZodLiteral<string>).value;
  const isPort = integer(s.connectPort as z.ZodType);
  const timing = timingChecks((key) => s[key] as z.ZodType);
  expectFields(option, CONNECTION_CHECKER_FIELDS);
  return (input) => {
    if (!isRecord(input)) return INVALID;
    const keys = keyCount(input, known);
    if (keys < 0 || input.type !== type) return INVALID;
    const c = input as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    out.type = type;
    let defined = 1;
    if (c.connectIp !== undefined) {
      if (address(c.connectIp) === INVALID) return INVALID;
      out.connectIp = c.connectIp;
      defined++;
    }
    if (c.connectPort !== undefined) {
      if (isPort(c.connectPort) === INVALID) return INVALID;
      out.connectPort = c.connectPort;
      defined++;
    }
    if (c.bindTo !== undefined) {
      if (address(c.bindTo) === INVALID) return INVALID;
      out.bindTo = c.bindTo;
      defined++;
    }
    const copied = copyTiming(c, out, timing);
    if (copied < 0) return INVALID;
    defined += copied;
    return defined === keys ? out : INVALID;
  };
}

/**
 * The parser for `realServer` (a strict object) with checkers of `checker`
 * (discriminated by `type`), to install with `z.withParser`. Fields are
 * written out in the schema's order, as for the checkers above.
 */
export function realServerFastPath<T extends AnyObjectSchema>(
  realServer: T,
  checker: z.ZodDiscriminatedUnion,
): (input: unknown) => z.output<T> | Invalid {
  const s = realServer.shape as Record<string, z.ZodType>;
  const field = (key: string): z.ZodType => {
    const schema = s[key];
    if (schema === undefined) throw new Error(`real server has no field ${key}`);
    return schema;
  };
  const known = expectFields(realServer, REAL_SERVER_FIELDS);
  const isPort = integer(field('port'));
  const isWeight = integer(field('weight'));
  const defaultWeight = defaultOf(field('weight'));
  const isLbKind = member(field('lbKind'));
  const tunnel = bySchema(field('tunnel'));
  const isUpperThreshold = integer(field('upperThreshold'));
  const isLowerThreshold = integer(field('lowerThreshold'));
  const notifyUp = bySchema(field('notifyUp'));
  const notifyDown = bySchema(field('notifyDown'));
  const isVirtualhost = text(field('virtualhost'));
  const timing = timingChecks(field);
  const defaultCheckers = defaultOf(field('checkers'));
  const connectionCheckers = new Map(
    ['TCP_CHECK', 'PING_CHECK'].map((type) => [
      type,
      connectionCheckerParser(optionOfType(checker, type)),
    ]),
  );
  const otherChecker = bySchema(checker);
  const checkers: FieldParser = (value) => {
    if (!Array.isArray(value)) return INVALID;
    // A copy overwritten in place holds exactly the list (an empty list pushed
    // to keeps room for 17), and the output keeps one list per real server.
    const out: unknown[] = value.slice();
    for (let i = 0; i < out.length; i++) {
      const item = out[i];
      const type = isRecord(item) ? item.type : undefined;
      const parse = (typeof type === 'string' && connectionCheckers.get(type)) || otherChecker;
      const parsed = parse(item);
      if (parsed === INVALID) return INVALID;
      out[i] = parsed;
    }
    return out;
  };

  return (input) => {
    if (!isRecord(input)) return INVALID;
    const keys = keyCount(input, known);
    if (keys < 0) return INVALID;
    const r = input as Record<string, unknown>;
    if (r.address === undefined || address(r.address) === INVALID) return INVALID;
    const out: Record<string, unknown> = {};
    out.address = r.address;
    let defined = 1;
    if (r.port !== undefined) {
      if (isPort(r.port) === INVALID) return INVALID;
      out.port = r.port;
      defined++;
    }
    if (r.weight !== undefined) {
      if (isWeight(r.weight) === INVALID) return INVALID;
      out.weight = r.weight;
      defined++;
    } else {
      out.weight = defaultWeight();
    }
    if (r.lbKind !== undefined) {
      if (isLbKind(r.lbKind) === INVALID) return INVALID;
      out.lbKind = r.lbKind;
      defined++;
    }
    if (r.tunnel !== undefined) {
      const parsed = tunnel(r.tunnel);
      if (parsed === INVALID) return INVALID;
      out.tunnel = parsed;
      defined++;
    }
    if (r.inhibitOnFailure !== undefined) {
      if (boolean(r.inhibitOnFailure) === INVALID) return INVALID;
      out.inhibitOnFailure = r.inhibitOnFailure;
      defined++;
    }
    if (r.upperThreshold !== undefined) {
      if (isUpperThreshold(r.upperThreshold) === INVALID) return INVALID;
      out.upperThreshold = r.upperThreshold;
      defined++;
    }
    if (r.lowerThreshold !== undefined) {
      if (isLowerThreshold(r.lowerThreshold) === INVALID) return INVALID;
      out.lowerThreshold = r.lowerThreshold;
      defined++;
    }
    if (r.notifyUp !== undefined) {
      const parsed = notifyUp(r.notifyUp);
      if (parsed === INVALID) return INVALID;
      out.notifyUp = parsed;
      defined++;
    }
    if (r.notifyDown !== undefined) {
      const parsed = notifyDown(r.notifyDown);
      if (parsed === INVALID) return INVALID;
      out.notifyDown = parsed;
      defined++;
    }
    if (r.virtualhost !== undefined) {
      if (isVirtualhost(r.virtualhost) === INVALID) return INVALID;
      out.virtualhost = r.virtualhost;
      defined++;
    }
    const copied = copyTiming(r, out, timing);
    if (copied < 0) return INVALID;
    defined += copied;
    if (r.checkers !== undefined) {
      const parsed = checkers(r.checkers);
      if (parsed === INVALID) return INVALID;
      out.checkers = parsed;
      defined++;
    } else {
      out.checkers = defaultCheckers();
    }
    return defined === keys ? (out as z.output<T>) : INVALID;
  };
}
