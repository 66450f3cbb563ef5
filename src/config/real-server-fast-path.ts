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

/**
 * Whether `value` may stand for zod's output as it is: zod builds plain
 * objects and arrays, whatever prototype its input had.
 */
function isPlain(value: object, prototype: object): boolean {
  return Object.getPrototypeOf(value) === prototype;
}

/** Plain data as a mapping, the only input a strict object accepts. */
function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** keyCount's answer when a key is not one the schema knows (a strict object refuses it). */
const UNKNOWN_KEY = -1;

/**
 * How many keys `input` has, or UNKNOWN_KEY. `order.inOrder` tells whether
 * they come in the schema's order (`position` holds each key's place), so
 * that the input is already what zod would build. The caller compares the
 * count with the number of defined values it read: a key present as
 * undefined is rare and zod's handling of it subtle, so that is left to zod.
 */
function keyCount(
  input: Readonly<Record<string, unknown>>,
  position: ReadonlyMap<string, number>,
  order: { inOrder: boolean },
): number {
  let count = 0;
  let last = -1;
  let inOrder = true;
  for (const key in input) {
    const at = position.get(key);
    if (at === undefined) return UNKNOWN_KEY;
    if (at < last) inOrder = false;
    last = at;
    count++;
  }
  order.inOrder = inOrder;
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
function expectFields(schema: AnyObjectSchema, fields: readonly string[]): Map<string, number> {
  const keys = Object.keys(schema.shape);
  if (keys.join() !== fields.join())
    throw new Error(`the fast path knows ${fields.join()} but the schema has ${keys.join()}`);
  return new Map(keys.map((key, i) => [key, i]));
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

/** How many timing fields `input` defines, or -1 when one is not valid. */
function checkTiming(input: Timing, checks: ReturnType<typeof timingChecks>): number {
  let defined = 0;
  if (input.connectTimeoutMs !== undefined) {
    if (checks.connectTimeoutMs(input.connectTimeoutMs) === INVALID) return -1;
    defined++;
  }
  if (input.retry !== undefined) {
    if (checks.retry(input.retry) === INVALID) return -1;
    defined++;
  }
  if (input.delayBeforeRetryMs !== undefined) {
    if (checks.delayBeforeRetryMs(input.delayBeforeRetryMs) === INVALID) return -1;
    defined++;
  }
  if (input.warmupMs !== undefined) {
    if (checks.warmupMs(input.warmupMs) === INVALID) return -1;
    defined++;
  }
  if (input.delayLoopMs !== undefined) {
    if (checks.delayLoopMs(input.delayLoopMs) === INVALID) return -1;
    defined++;
  }
  return defined;
}

/** Copies the timing fields `input` defines into `out`, in the schema's order. */
function copyTiming(input: Timing, out: Record<string, unknown>): void {
  if (input.connectTimeoutMs !== undefined) out.connectTimeoutMs = input.connectTimeoutMs;
  if (input.retry !== undefined) out.retry = input.retry;
  if (input.delayBeforeRetryMs !== undefined) out.delayBeforeRetryMs = input.delayBeforeRetryMs;
  if (input.warmupMs !== undefined) out.warmupMs = input.warmupMs;
  if (input.delayLoopMs !== undefined) out.delayLoopMs = input.delayLoopMs;
}

/**
 * An input that is already what zod would build (valid, nothing to default,
 * its keys in the schema's order) is handed on as it is: a large document's
 * real servers and checkers are not copied once more only to survive, with
 * the rest of the document, every young-generation collection of the parse.
 * Nothing writes to the schema's output, so sharing it with the document is
 * safe. Otherwise outputs start as `{}`, which has room for four fields in
 * the object itself: `{ type }` or `{ address }` has room for that one, and
 * the fields added after it go to a second object.
 */

/**
 * TCP_CHECK and PING_CHECK (the connection fields only; the common checkers).
 * Written out field by field, in the schema's order (zod's output keeps it),
 * so that every property access is one V8 can specialise.
 */
function connectionCheckerParser(option: AnyObjectSchema): FieldParser {
  const s = option.shape as Record<string, z.ZodType>;
  const type = (s.type as z.ZodLiteral<string>).value;
  const isPort = integer(s.connectPort as z.ZodType);
  const timing = timingChecks((key) => s[key] as z.ZodType);
  const position = expectFields(option, CONNECTION_CHECKER_FIELDS);
  const order = { inOrder: false };
  return (input) => {
    if (!isRecord(input)) return INVALID;
    const keys = keyCount(input, position, order);
    if (keys === UNKNOWN_KEY || input.type !== type) return INVALID;
    const c = input as Record<string, unknown>;
    let defined = 1;
    if (c.connectIp !== undefined) {
      if (address(c.connectIp) === INVALID) return INVALID;
      defined++;
    }
    if (c.connectPort !== undefined) {
      if (isPort(c.connectPort) === INVALID) return INVALID;
      defined++;
    }
    if (c.bindTo !== undefined) {
      if (address(c.bindTo) === INVALID) return INVALID;
      defined++;
    }
    const timed = checkTiming(c, timing);
    if (timed < 0) return INVALID;
    defined += timed;
    if (defined !== keys) return INVALID;
    if (order.inOrder && isPlain(input, Object.prototype)) return input;
    const out: Record<string, unknown> = {};
    out.type = type;
    if (c.connectIp !== undefined) out.connectIp = c.connectIp;
    if (c.connectPort !== undefined) out.connectPort = c.connectPort;
    if (c.bindTo !== undefined) out.bindTo = c.bindTo;
    copyTiming(c, out);
    return out;
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
  const position = expectFields(realServer, REAL_SERVER_FIELDS);
  const order = { inOrder: false };
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
    // The list itself when every checker is its own output; else a copy
    // overwritten in place, which holds exactly the list (an empty list
    // pushed to keeps room for 17): one list per real server.
    const plain = isPlain(value, Array.prototype);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const type = isRecord(item) ? item.type : undefined;
      const parse = (typeof type === 'string' && connectionCheckers.get(type)) || otherChecker;
      const parsed = parse(item);
      if (parsed === INVALID) return INVALID;
      if (parsed !== item) {
        out ??= plain ? value.slice() : Array.from(value);
        out[i] = parsed;
      }
    }
    return out ?? (plain ? value : Array.from(value));
  };

  return (input) => {
    if (!isRecord(input)) return INVALID;
    const keys = keyCount(input, position, order);
    if (keys === UNKNOWN_KEY) return INVALID;
    const inOrder = order.inOrder;
    const r = input as Record<string, unknown>;
    if (r.address === undefined || address(r.address) === INVALID) return INVALID;
    let defined = 1;
    if (r.port !== undefined) {
      if (isPort(r.port) === INVALID) return INVALID;
      defined++;
    }
    if (r.weight !== undefined) {
      if (isWeight(r.weight) === INVALID) return INVALID;
      defined++;
    }
    if (r.lbKind !== undefined) {
      if (isLbKind(r.lbKind) === INVALID) return INVALID;
      defined++;
    }
    let parsedTunnel: unknown;
    if (r.tunnel !== undefined) {
      parsedTunnel = tunnel(r.tunnel);
      if (parsedTunnel === INVALID) return INVALID;
      defined++;
    }
    if (r.inhibitOnFailure !== undefined) {
      if (boolean(r.inhibitOnFailure) === INVALID) return INVALID;
      defined++;
    }
    if (r.upperThreshold !== undefined) {
      if (isUpperThreshold(r.upperThreshold) === INVALID) return INVALID;
      defined++;
    }
    if (r.lowerThreshold !== undefined) {
      if (isLowerThreshold(r.lowerThreshold) === INVALID) return INVALID;
      defined++;
    }
    let parsedNotifyUp: unknown;
    if (r.notifyUp !== undefined) {
      parsedNotifyUp = notifyUp(r.notifyUp);
      if (parsedNotifyUp === INVALID) return INVALID;
      defined++;
    }
    let parsedNotifyDown: unknown;
    if (r.notifyDown !== undefined) {
      parsedNotifyDown = notifyDown(r.notifyDown);
      if (parsedNotifyDown === INVALID) return INVALID;
      defined++;
    }
    if (r.virtualhost !== undefined) {
      if (isVirtualhost(r.virtualhost) === INVALID) return INVALID;
      defined++;
    }
    const timed = checkTiming(r, timing);
    if (timed < 0) return INVALID;
    defined += timed;
    let parsedCheckers: unknown;
    if (r.checkers !== undefined) {
      parsedCheckers = checkers(r.checkers);
      if (parsedCheckers === INVALID) return INVALID;
      defined++;
    }
    if (defined !== keys) return INVALID;
    // Nested objects zod parses are new, so an input with one is copied.
    if (
      inOrder &&
      isPlain(r, Object.prototype) &&
      r.weight !== undefined &&
      r.checkers !== undefined &&
      parsedCheckers === r.checkers &&
      parsedTunnel === undefined &&
      parsedNotifyUp === undefined &&
      parsedNotifyDown === undefined
    )
      return input as z.output<T>;
    const out: Record<string, unknown> = {};
    out.address = r.address;
    if (r.port !== undefined) out.port = r.port;
    out.weight = r.weight !== undefined ? r.weight : defaultWeight();
    if (r.lbKind !== undefined) out.lbKind = r.lbKind;
    if (parsedTunnel !== undefined) out.tunnel = parsedTunnel;
    if (r.inhibitOnFailure !== undefined) out.inhibitOnFailure = r.inhibitOnFailure;
    if (r.upperThreshold !== undefined) out.upperThreshold = r.upperThreshold;
    if (r.lowerThreshold !== undefined) out.lowerThreshold = r.lowerThreshold;
    if (parsedNotifyUp !== undefined) out.notifyUp = parsedNotifyUp;
    if (parsedNotifyDown !== undefined) out.notifyDown = parsedNotifyDown;
    if (r.virtualhost !== undefined) out.virtualhost = r.virtualhost;
    copyTiming(r, out);
    out.checkers = parsedCheckers !== undefined ? parsedCheckers : defaultCheckers();
    return out as z.output<T>;
  };
}
