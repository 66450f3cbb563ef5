import { lstatSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

const WILDCARD = /[*?[]/;

/** Patterns one `{...}` expansion may produce (`{a,b}` 26 times would be 67 million). */
export const MAX_BRACE_PATTERNS = 256;
/** Paths one glob may visit or match (wildcards at every level from / would walk the whole file system). */
export const MAX_GLOB_PATHS = 4096;

/** A pattern that would cost more than the limits allow. */
export class GlobLimitError extends Error {}

/** Expands csh-style braces: "a{b,c}d" → ["abd", "acd"] (nested braces allowed). */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const inner = pattern.slice(open + 1, i);
        const parts: string[] = [];
        let level = 0;
        let start = 0;
        for (let j = 0; j < inner.length; j++) {
          if (inner[j] === '{') level++;
          else if (inner[j] === '}') level--;
          else if (inner[j] === ',' && level === 0) {
            parts.push(inner.slice(start, j));
            start = j + 1;
          }
        }
        parts.push(inner.slice(start));
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const out: string[] = [];
        for (const part of parts) {
          for (const expanded of expandBraces(`${head}${part}${tail}`)) {
            if (out.length === MAX_BRACE_PATTERNS) {
              throw new GlobLimitError(`braces expand to more than ${MAX_BRACE_PATTERNS} patterns`);
            }
            out.push(expanded);
          }
        }
        return out;
      }
    }
  }
  return [pattern];
}

function segmentRegExp(segment: string): RegExp {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] as string;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const body = segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else out += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Paths matching a shell glob (`*`, `?`, `[...]`, `{a,b}`), relative patterns
 * taken from `baseDir`; sorted like glob(3). Hidden files match only an
 * explicit leading dot.
 */
export function expandGlob(pattern: string, baseDir: string): string[] {
  const results = new Set<string>();
  for (const expanded of expandBraces(pattern)) {
    const absolute = isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
    if (!WILDCARD.test(absolute)) {
      // lstat: a symbolic link that loops or dangles is still matched, so the
      // caller reports what is wrong with it rather than "no such file".
      try {
        lstatSync(absolute);
        results.add(absolute);
      } catch {
        // Missing paths are simply not matched; the caller decides if that is an error.
      }
      continue;
    }
    let current = ['/'];
    for (const segment of absolute.split('/').filter((s) => s !== '')) {
      const next: string[] = [];
      for (const dir of current) {
        if (!WILDCARD.test(segment)) {
          next.push(join(dir, segment));
          continue;
        }
        if (!isDirectory(dir)) continue;
        const re = segmentRegExp(segment);
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch {
          continue; // Unreadable directories match nothing, as in glob(3).
        }
        for (const name of names) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (re.test(name)) next.push(join(dir, name));
        }
        if (next.length > MAX_GLOB_PATHS) {
          throw new GlobLimitError(`the pattern matches more than ${MAX_GLOB_PATHS} paths`);
        }
      }
      current = next;
    }
    for (const path of current) {
      try {
        lstatSync(path);
        results.add(path);
      } catch {
        // Literal segments after a wildcard may not exist.
      }
    }
  }
  return [...results].sort();
}

export function hasWildcard(pattern: string): boolean {
  return WILDCARD.test(pattern) || /\{.*,.*\}/.test(pattern);
}
