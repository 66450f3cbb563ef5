/** Seeded random mutations of configuration text, shared by the fuzz tests. */

/** mulberry32: small, fast, seeded, so every failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_NUMBERS = [
  '-1',
  '0',
  '256',
  '65536',
  '4294967296',
  '99999999999999999999',
  '1e309',
  '0.0001',
  '-0',
  'NaN',
];
const NASTY_TOKENS = [
  '{',
  '}',
  '"',
  "'",
  '!',
  '#',
  '@x',
  '$X',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
  '${X}',
  '$X=1',
  '-',
  '/',
  ':',
  '::',
  '- ',
  ': ',
  '&a',
  '*a',
  '[',
  ']',
  '|',
  '>',
];

/** Deletes, duplicates, swaps, truncates or corrupts tokens of `text` (1-3 rounds). */
export function mutate(text: string, rand: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  // Tokens keep their separators so that rejoining reproduces the text exactly.
  const tokens = text.split(/(\s+)/);
  const at = () => Math.floor(rand() * tokens.length);
  const rounds = 1 + Math.floor(rand() * 3);
  for (let r = 0; r < rounds; r++) {
    switch (Math.floor(rand() * 8)) {
      case 0:
        tokens.splice(at(), 1);
        break;
      case 1: {
        const i = at();
        tokens.splice(i, 0, tokens[i] ?? '');
        break;
      }
      case 2: {
        const i = at();
        const j = at();
        [tokens[i], tokens[j]] = [tokens[j] ?? '', tokens[i] ?? ''];
        break;
      }
      case 3: {
        const joined = tokens.join('');
        return joined.slice(0, Math.floor(rand() * joined.length));
      }
      case 4: {
        const numeric = tokens
          .map((t, i) => (/^\d+(\.\d+)?$/.test(t) ? i : -1))
          .filter((i) => i >= 0);
        if (numeric.length > 0) tokens[pick(numeric)] = pick(NASTY_NUMBERS);
        break;
      }
      case 5: {
        const bytes = Array.from({ length: 1 + Math.floor(rand() * 8) }, () =>
          String.fromCharCode(Math.floor(rand() * 256)),
        );
        tokens.splice(at(), 0, bytes.join(''));
        break;
      }
      case 6:
        tokens.splice(at(), 0, pick(NASTY_TOKENS));
        break;
      default: {
        const i = at();
        tokens[i] = (tokens[i] ?? '').toUpperCase();
      }
    }
  }
  return tokens.join('');
}
