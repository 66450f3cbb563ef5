import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { IssueList } from '../../src/config/errors.js';
import type { KeywordTable } from '../../src/config/keepalived/keyword-table.js';
import { MapContext } from '../../src/config/keepalived/map-context.js';
import { KEYWORD_BLOCKS, TOP_LEVEL_KEYWORDS } from '../../src/config/keepalived/mapper.js';
import type { Statement } from '../../src/config/keepalived/parser.js';
import { configDocumentSchema } from '../../src/config/schema.js';

type Def = {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  in?: z.ZodType;
};
const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under defaults, optionals and pipes. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (d.innerType !== undefined) s = d.innerType;
    else if (d.type === 'pipe' && d.in !== undefined) s = d.in;
    else return s;
  }
}
const shapeOf = (schema: z.ZodType): Record<string, z.ZodType> => {
  const shape = def(unwrap(schema)).shape;
  assert.ok(shape, 'expected an object schema');
  return shape;
};
const elementOf = (schema: z.ZodType): z.ZodType => {
  const element = def(unwrap(schema)).element;
  assert.ok(element, 'expected an array schema');
  return element;
};

/** Every field of an object schema; nested objects flattened with dots, arrays are one field. */
function fields(schema: z.ZodType, prefix = ''): string[] {
  return Object.entries(shapeOf(schema)).flatMap(([key, value]) =>
    def(unwrap(value)).type === 'object' ? fields(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/** Every path of an object schema, objects included (a keyword may set a whole one: notify_up). */
function paths(schema: z.ZodType, prefix = ''): string[] {
  return Object.entries(shapeOf(schema)).flatMap(([key, value]) => [
    `${prefix}${key}`,
    ...(def(unwrap(value)).type === 'object' ? paths(value, `${prefix}${key}.`) : []),
  ]);
}

/** A field is reached when a keyword sets it or an object holding it. */
const reached = (field: string, reachable: ReadonlySet<string>): boolean =>
  field.split('.').some((_, i, parts) => reachable.has(parts.slice(0, i + 1).join('.')));

const doc = shapeOf(configDocumentSchema);
const realServer = elementOf(
  shapeOf(elementOf(doc.virtualServers as z.ZodType)).realServers as z.ZodType,
);
const checkerOf = (type: string): z.ZodType => {
  const options = def(unwrap(elementOf(shapeOf(realServer).checkers as z.ZodType))).options ?? [];
  const found = options.find((o) => {
    const literal = def(unwrap(shapeOf(o).type as z.ZodType)) as Def & { values?: unknown[] };
    return literal.values?.includes(type);
  });
  assert.ok(found, `no checker schema for ${type}`);
  return found;
};

/** The schema each keyword block maps into. */
const SCHEMA_OF: Readonly<Record<string, () => z.ZodType>> = {
  global_defs: () => doc.global as z.ZodType,
  vrrp_script: () => elementOf(doc.vrrpScripts as z.ZodType),
  track_file: () => elementOf(doc.trackFiles as z.ZodType),
  vrrp_sync_group: () => elementOf(doc.vrrpSyncGroups as z.ZodType),
  vrrp_instance: () => elementOf(doc.vrrpInstances as z.ZodType),
  virtual_server: () => elementOf(doc.virtualServers as z.ZodType),
  real_server: () => realServer,
  url: () => elementOf(shapeOf(checkerOf('HTTP_GET')).urls as z.ZodType),
  SSL: () => doc.ssl as z.ZodType,
};

/**
 * Fields no keepalived keyword sets, on purpose. Each is a YAML-only
 * spelling of something keepalived.conf says another way.
 */
const EXCEPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  HTTP_GET: {
    enableSni:
      'SNI is TLS only: keepalived registers enable_sni for SSL_GET alone; the schema shares one shape for both',
  },
};

const declared = (table: KeywordTable): Set<string> =>
  new Set(Object.values(table).flatMap((k) => k.sets));

for (const block of KEYWORD_BLOCKS) {
  test(`every field of ${block.keyword} is reachable from a keepalived keyword`, () => {
    const schema = (SCHEMA_OF[block.keyword] ?? (() => checkerOf(block.keyword)))();
    const all = new Set(paths(schema));
    const reachable = new Set([...block.header, ...declared(block.table)]);
    const exceptions = EXCEPTIONS[block.keyword] ?? {};
    const unknown = [...declared(block.table)].filter((f) => !all.has(f));
    assert.deepEqual(unknown, [], `${block.keyword} keywords set fields the schema does not have`);
    const unreachable = fields(schema).filter((f) => !reached(f, reachable) && !(f in exceptions));
    assert.deepEqual(unreachable, [], `${block.keyword} fields no keyword sets`);
  });
}

test('every list of the document is reachable from a top-level keepalived block', () => {
  assert.deepEqual(
    Object.keys(doc).filter((key) => !declared(TOP_LEVEL_KEYWORDS).has(key)),
    [],
  );
});

/** A statement `keyword 1` at line 1, as the parser would hand it over. */
const statement = (keyword: string): Statement => {
  const at = {
    file: 't.conf',
    line: 1,
    column: 1,
    quoted: false,
    commentsBefore: undefined,
    commentAfter: undefined,
  };
  return {
    keyword: { ...at, text: keyword },
    args: [{ ...at, column: 10, text: '1' }],
  };
};

test('a keyword writes only the fields it declares, and at least one of them when it accepts its value', () => {
  for (const block of KEYWORD_BLOCKS) {
    for (const [keyword, entry] of Object.entries(block.table)) {
      const issues = new IssueList();
      const obj: Record<string, unknown> = {};
      entry.handle(
        new MapContext(issues, false, false),
        { obj, path: [], name: 'test' },
        statement(keyword),
      );
      const tops = new Set(entry.sets.map((f) => f.split('.')[0]));
      for (const key of Object.keys(obj))
        assert.ok(
          tops.has(key),
          `${block.keyword} ${keyword} wrote '${key}', which it does not declare`,
        );
      if (issues.errors.length === 0 && entry.sets.length > 0)
        assert.ok(
          Object.keys(obj).length > 0,
          `${block.keyword} ${keyword} declares fields but set none`,
        );
    }
  }
});
