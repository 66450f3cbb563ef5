import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RING_SIZE } from '../../src/dataplane/abi.js';
import {
  isPrime,
  type MaglevBackend,
  maglevPlacementOffLoop,
  maglevPreference,
  maglevTable,
  maglevTableOffLoop,
} from '../../src/dataplane/maglev.js';

const backends = (n: number, weight = 1): MaglevBackend[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, key: `10.0.${i >> 8}.${i & 255}|80`, weight }));

function share(table: Uint32Array): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of table) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function moved(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

test('the ring size is a prime over 100x the most reals a service may hold', () => {
  assert.ok(isPrime(RING_SIZE));
  assert.ok(RING_SIZE > 100 * 256);
});

test('every slot is filled and equal weights get near-equal shares', () => {
  const table = maglevTable(backends(10), RING_SIZE);
  const counts = share(table);
  assert.equal(counts.get(0), undefined, 'no empty slot');
  for (const [, n] of counts)
    assert.ok(Math.abs(n - RING_SIZE / 10) < RING_SIZE * 0.01, `share ${n}`);
});

test('weights set the share of slots', () => {
  const table = maglevTable(
    [
      { id: 1, key: 'a', weight: 1 },
      { id: 2, key: 'b', weight: 3 },
      { id: 3, key: 'c', weight: 0 },
    ],
    RING_SIZE,
  );
  const counts = share(table);
  assert.equal(counts.get(3), undefined, 'weight 0 gets no slots');
  const ratio = (counts.get(2) ?? 0) / (counts.get(1) ?? 1);
  assert.ok(Math.abs(ratio - 3) < 0.05, `ratio ${ratio}`);
});

test('removing one of N reals moves about 1/N of the slots', () => {
  for (const n of [3, 10, 50]) {
    const all = backends(n);
    const before = maglevTable(all, RING_SIZE);
    const after = maglevTable(all.slice(1), RING_SIZE);
    const fraction = moved(before, after) / RING_SIZE;
    assert.ok(fraction <= 1 / n + 0.02, `n=${n}: moved ${fraction}`);
    // Slots of the removed real must move; the rest should mostly stay.
    assert.ok(fraction >= 1 / n - 0.01, `n=${n}: moved ${fraction}`);
  }
});

test('adding a real moves about 1/(N+1) of the slots', () => {
  const all = backends(11);
  const before = maglevTable(all.slice(0, 10), RING_SIZE);
  const after = maglevTable(all, RING_SIZE);
  const fraction = moved(before, after) / RING_SIZE;
  assert.ok(fraction <= 1 / 11 + 0.02, `moved ${fraction}`);
});

test('the table depends on the real set, not on its order or ids of others', () => {
  const all = backends(5);
  const a = maglevTable(all, RING_SIZE);
  const b = maglevTable([...all].reverse(), RING_SIZE);
  assert.deepEqual(a, b);
});

test('no weighted real gives an empty table; a non-prime size is refused', () => {
  assert.ok(maglevTable(backends(3, 0), 13).every((x) => x === 0));
  assert.throws(() => maglevTable(backends(3), 12), /Maglev table size 12 is not prime/);
  assert.throws(() => maglevTable(backends(3, 0), 12), /Maglev table size 12 is not prime/);
});

/**
 * The table as the algorithm is written down (float slot formula, as lbctl
 * first shipped it): every director must build the same table from the same
 * reals, so the fast versions must match it bit for bit.
 */
function referenceTable(all: readonly MaglevBackend[], size: number): Uint32Array {
  const table = new Uint32Array(size);
  const live = all
    .filter((b) => b.weight > 0)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (live.length === 0) return table;
  const prefs = live.map((b) => {
    const d = createHash('sha256').update(b.key).digest();
    return { offset: d.readUInt32LE(0) % size, skip: (d.readUInt32LE(4) % (size - 1)) + 1 };
  });
  const filled = new Uint8Array(size);
  const next = live.map(() => 0);
  const credit = live.map(() => 0);
  const maxWeight = Math.max(...live.map((b) => b.weight));
  let placed = 0;
  while (placed < size) {
    for (let i = 0; i < live.length && placed < size; i++) {
      credit[i]! += live[i]!.weight;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      let slot = (prefs[i]!.offset + next[i]! * prefs[i]!.skip) % size;
      while (filled[slot] === 1) slot = (prefs[i]!.offset + ++next[i]! * prefs[i]!.skip) % size;
      filled[slot] = 1;
      table[slot] = live[i]!.id;
      next[i]!++;
      placed++;
    }
  }
  return table;
}

test('the JS and the off-loop tables (either walk) are bit-identical to the reference, weights up to 2^32-1', async () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const weightKinds = [() => rand(5), () => 1 + rand(100), () => 0xffffffff - rand(3)];
  for (const size of [13, 251, RING_SIZE]) {
    for (let round = 0; round < 9; round++) {
      const weight = weightKinds[round % 3]!;
      const set = Array.from({ length: 1 + rand(40) }, (_, i) => ({
        id: i + 1,
        key: `10.${rand(256)}.${rand(256)}.${i}|${rand(65536)}`,
        weight: weight(),
      }));
      const want = referenceTable(set, size);
      assert.deepEqual(maglevTable(set, size), want, `JS table, size ${size} round ${round}`);
      assert.deepEqual(
        await maglevTableOffLoop(set, size),
        want,
        `off-loop table, size ${size} round ${round}`,
      );
      assert.deepEqual(
        await maglevTableOffLoop(set, size, { oneAtATime: true }),
        want,
        `off-loop table one slot at a time, size ${size} round ${round}`,
      );
    }
  }
  // More than 256 live backends: two-byte indices on the way from the addon.
  const many = Array.from({ length: 300 }, (_, i) => ({
    id: 1000 + i,
    key: `10.1.${i >> 8}.${i & 0xff}|80`,
    weight: 1 + (i % 3),
  }));
  assert.deepEqual(await maglevTableOffLoop(many, 1009), referenceTable(many, 1009));
  assert.deepEqual(
    await maglevTableOffLoop(many, 1009, { oneAtATime: true }),
    referenceTable(many, 1009),
  );
  assert.ok((await maglevTableOffLoop(backends(3, 0), 13)).every((x) => x === 0));
  await assert.rejects(maglevTableOffLoop(backends(3), 12), /Maglev table size 12 is not prime/);
  // Refused before it is known that there is nothing to place, as in the event loop.
  await assert.rejects(maglevTableOffLoop(backends(3, 0), 12), /Maglev table size 12 is not prime/);
  await assert.rejects(
    maglevPlacementOffLoop(backends(3), 12),
    /Maglev table size 12 is not prime/,
  );
});

test('a kept preference places a backend as hashing its key does, for its own table size only', async () => {
  const plain = backends(12);
  const reference = maglevTable(plain, RING_SIZE);
  const kept = plain.map((b) => ({ ...b, preference: maglevPreference(b.key, RING_SIZE) }));
  assert.deepEqual(maglevTable(kept, RING_SIZE), reference);
  assert.deepEqual(await maglevTableOffLoop(kept, RING_SIZE), reference);
  // A preference made for another size is not used: the key is hashed again.
  const stale = plain.map((b) => ({ ...b, preference: maglevPreference(b.key, 13) }));
  assert.deepEqual(maglevTable(stale, RING_SIZE), reference);
  // And a kept preference is what places the backend: another backend's moves it.
  const swapped = kept.map((b, i) => (i === 0 ? { ...b, preference: kept[1]!.preference } : b));
  assert.notDeepEqual(maglevTable(swapped, RING_SIZE), reference);
});

/** Each thread's nice value, from /proc/self/task/<tid>/stat (field 19). */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      // Fields after the command (in parentheses, which may hold spaces): state is field 3.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      nices.set(tid, Number(fields[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return nices;
}

test('a fill runs below the event loop priority and its pool thread gets its priority back', async () => {
  const before = threadNices();
  const main = before.get(String(process.pid));
  assert.equal(main, 0, 'the test process runs at nice 0');
  let size = 4_000_000;
  while (!isPrime(size)) size++;
  // A table this size keeps a pool thread busy for tens of milliseconds.
  const fill = maglevTableOffLoop(backends(64), size);
  let lowered = false;
  for (const until = performance.now() + 5000; !lowered && performance.now() < until; ) {
    lowered = [...threadNices().values()].includes(10);
  }
  await fill;
  assert.ok(lowered, 'some thread ran at nice 10 during the fill');
  assert.equal(threadNices().get(String(process.pid)), 0, 'the event loop keeps its priority');
  assert.deepEqual(
    [...threadNices().values()].filter((nice) => nice !== 0),
    [],
    'every thread is back at nice 0 after the fill',
  );
});
