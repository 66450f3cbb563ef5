import { CheckerConfigError } from './checker-error.js';

/** Bytes to compare with, and which bits of each byte count (X nibbles do not). */
export interface HexPattern {
  readonly bytes: Buffer;
  readonly mask: Buffer;
}

/**
 * Parses keepalived's free-form HEX_STR: whitespace-separated groups, each
 * read two digits at a time, a lone last digit being the low nibble
 * ("Ab12f 3" is AB 12 0F 03). With `allowWildcards`, X/x stands for a nibble
 * whose value is ignored.
 */
export function parseHexPattern(text: string, allowWildcards: boolean): HexPattern {
  const bytes: number[] = [];
  const mask: number[] = [];
  for (const group of text.trim().split(/\s+/)) {
    if (group === '') continue;
    for (let i = 0; i < group.length; i += 2) {
      const pair = group.length - i === 1 ? `0${group.slice(i)}` : group.slice(i, i + 2);
      let value = 0;
      let bits = 0;
      for (const digit of pair) {
        value <<= 4;
        bits <<= 4;
        if (allowWildcards && (digit === 'x' || digit === 'X')) continue;
        const nibble = Number.parseInt(digit, 16);
        if (Number.isNaN(nibble)) {
          throw new CheckerConfigError(
            `Cannot use hex string "${text}": "${digit}" is not a hex digit${allowWildcards ? ' or X' : ''}`,
          );
        }
        value |= nibble;
        bits |= 0xf;
      }
      bytes.push(value);
      mask.push(bits);
    }
  }
  return { bytes: Buffer.from(bytes), mask: Buffer.from(mask) };
}

/** True when `data` agrees with the pattern over their common length. */
export function matchesPattern(data: Buffer, pattern: HexPattern): boolean {
  const n = Math.min(data.length, pattern.bytes.length);
  for (let i = 0; i < n; i++) {
    const m = pattern.mask[i] ?? 0;
    if (((data[i] ?? 0) & m) !== ((pattern.bytes[i] ?? 0) & m)) return false;
  }
  return true;
}
