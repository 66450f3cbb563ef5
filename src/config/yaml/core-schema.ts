import jsYaml from 'js-yaml';

/**
 * The YAML 1.2 core schema for js-yaml, resolving plain scalars exactly as the
 * `yaml` package does by default (its `core` schema), so both parsers read a
 * document into the same data. js-yaml's own schemas differ (binary ints,
 * underscores, timestamps, merge keys), hence these definitions.
 */

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/**
 * Every plain scalar is tried against each type in turn, so each type first
 * rules out most strings by their first character (addresses, names) before
 * running its patterns.
 */
const startsLikeNumber = (data: string): boolean => {
  const c = data.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e; // 0-9 + - .
};

const nullType = new jsYaml.Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: string | null) => data === null || (data.length <= 4 && NULL.test(data)),
  construct: () => null,
});

const boolType = new jsYaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) =>
    data !== null && (data.length === 4 || data.length === 5) && BOOL.test(data),
  construct: (data: string) => data[0] === 't' || data[0] === 'T',
});

const intType = new jsYaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) =>
    data !== null &&
    startsLikeNumber(data) &&
    (INT_OCT.test(data) || INT.test(data) || INT_HEX.test(data)),
  construct: (data: string) => {
    if (INT_OCT.test(data)) return Number.parseInt(data.substring(2), 8);
    if (INT.test(data)) return Number.parseInt(data, 10);
    return Number.parseInt(data.substring(2), 16);
  },
});

const floatType = new jsYaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) =>
    data !== null &&
    startsLikeNumber(data) &&
    (FLOAT_NAN.test(data) || FLOAT_EXP.test(data) || FLOAT.test(data)),
  construct: (data: string) => {
    if (FLOAT_NAN.test(data)) {
      if (data.slice(-3).toLowerCase() === 'nan') return Number.NaN;
      return data[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    return Number.parseFloat(data);
  },
});

/** Strings, sequences and mappings plus the core schema's null, bool, int and float. */
export const yamlCoreSchema = jsYaml.FAILSAFE_SCHEMA.extend({
  implicit: [nullType, boolType, intType, floatType],
});
