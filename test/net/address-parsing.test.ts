import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { test } from 'node:test';
import { ipv4Number } from '../../src/net/address.js';
import { macToBytes, writeMac } from '../../src/net/mac.js';

/** Random strings over an alphabet, seeded, so a failure names its input and repeats. */
function randomStrings(alphabet: string, count: number, maxLength: number): string[] {
  let seed = 12345;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: next(maxLength + 1) }, () => alphabet[next(alphabet.length)]).join(''),
  );
}

test('ipv4Number accepts exactly what isIPv4 accepts, with the same bytes', () => {
  const corner = [
    '0.0.0.0',
    '255.255.255.255',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.04',
    '1.2.3.0',
    '1.2.3',
    '1.2.3.4.',
    '.1.2.3.4',
    '1..2.3',
    '1.2.3.4.5',
    '1000.2.3.4',
    '10.0.0.1 ',
    '١.2.3.4',
    '',
  ];
  // Four random digit groups (valid or nearly so), then any mix of digits and dots.
  const groups = randomStrings('0123456789', 400_000, 3);
  const dotted = Array.from({ length: 100_000 }, (_, i) =>
    groups.slice(4 * i, 4 * i + 4).join('.'),
  );
  const inputs = [...corner, ...dotted, ...randomStrings('0123456789....12a', 200_000, 16)];
  let valid = 0;
  for (const text of inputs) {
    const value = ipv4Number(text);
    assert.equal(value >= 0, isIPv4(text), `'${text}'`);
    if (value < 0) continue;
    valid++;
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    assert.deepEqual([...bytes], text.split('.').map(Number), `'${text}'`);
  }
  assert.ok(valid > 5000, `only ${valid} valid addresses among the inputs`);
});

test('writeMac accepts exactly xx:xx:xx:xx:xx:xx in either case, with the same bytes', () => {
  const pattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
  const corner = [
    '02:00:5e:00:01:0a',
    '02:00:5E:00:01:0A',
    'g2:00:5e:00:01:0a',
    '02-00-5e-00-01-0a',
  ];
  const inputs = [...corner, ...randomStrings('0aF:::g', 300_000, 17)];
  let valid = 0;
  for (const text of inputs) {
    const bytes = Buffer.alloc(6);
    assert.equal(writeMac(text, bytes, 0), pattern.test(text), `'${text}'`);
    if (!pattern.test(text)) {
      assert.throws(() => macToBytes(text), /expected xx:xx:xx:xx:xx:xx/);
      continue;
    }
    valid++;
    const want = text.split(':').map((octet) => Number.parseInt(octet, 16));
    assert.deepEqual([...bytes], want, `'${text}'`);
    assert.deepEqual([...macToBytes(text)], want);
  }
  assert.ok(valid > 0, 'no valid MAC among the inputs');
});
