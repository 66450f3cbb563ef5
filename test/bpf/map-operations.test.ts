import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { struct, u32, u64 } from '../../src/bpf/codec.js';
import {
  BpfError,
  BpfMap,
  BpfObject,
  bpffsRoot,
  bpfObjectPath,
  possibleCpus,
} from '../../src/bpf/index.js';
import { uniqueName } from '../../src/netns/netns.js';

const pair = struct('pair', [u32('a'), u32('b')]);
const triple = struct('triple', [u64('a'), u64('b'), u64('c')]);
const key = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function assertBpfError(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BpfError, `expected BpfError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('map operations', () => {
  let object: BpfObject;
  let hash: BpfMap;
  // Every object of this fixture pins `pinned_by_name` under its pin root
  // (libbpf's default is /sys/fs/bpf itself), so all of them get this one.
  const pinRootDir = join(bpffsRoot, 'lbctl', uniqueName('test-root-'));

  before(async () => {
    mkdirSync(pinRootDir, { recursive: true });
    object = BpfObject.open(bpfObjectPath('maps'), { pinRoot: pinRootDir });
    object.setMaxEntries('small_hash', 3);
    await object.load();
    hash = object.map('small_hash');
  });
  after(() => {
    hash.close();
    object.close();
    rmSync(pinRootDir, { recursive: true, force: true });
  });

  it('pins maps declared LIBBPF_PIN_BY_NAME under the chosen root, and reuses them', async () => {
    const pinned = BpfMap.openPinned(join(pinRootDir, 'pinned_by_name'));
    pinned.update(key(0), Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]));
    const again = BpfObject.open(bpfObjectPath('maps'), { pinRoot: pinRootDir });
    try {
      await again.load();
      const reused = again.map('pinned_by_name');
      assert.equal(reused.info.id, pinned.info.id, 'the second object reuses the pinned map');
      assert.equal(reused.lookup(key(0))?.readBigUInt64LE(), 7n);
      reused.close();
    } finally {
      again.close();
      pinned.close();
    }
  });

  it('reports map info', () => {
    assert.equal(hash.info.name, 'small_hash');
    assert.equal(hash.info.typeName, 'hash');
    assert.equal(hash.info.keySize, 4);
    assert.equal(hash.info.valueSize, pair.size);
    assert.equal(hash.info.maxEntries, 3, 'setMaxEntries before load took effect');
    assert.equal(hash.info.perCpu, false);
  });

  it('updates, looks up, iterates and deletes', () => {
    hash.update(key(1), pair.encode({ a: 10, b: 11 }));
    hash.update(key(2), pair.encode({ a: 20, b: 21 }), 'noexist');
    hash.update(key(2), pair.encode({ a: 22, b: 23 }), 'exist');
    assert.deepEqual(pair.decode(hash.lookup(key(2)) ?? Buffer.alloc(0)), { a: 22, b: 23 });
    assert.equal(hash.lookup(key(9)), undefined);
    const keys = [...hash.keys()].map((k) => k.readUInt32LE()).sort();
    assert.deepEqual(keys, [1, 2]);
    const entries = new Map(
      [...hash.entries()].map(([k, v]) => [k.readUInt32LE(), pair.decode(v)]),
    );
    assert.deepEqual(entries.get(1), { a: 10, b: 11 });
    assert.equal(hash.delete(key(1)), true);
    assert.equal(hash.delete(key(1)), false, 'deleting an absent key reports false');
    hash.delete(key(2));
  });

  it('rejects NOEXIST on an existing key and EXIST on a missing one', () => {
    hash.update(key(5), pair.encode({ a: 1, b: 1 }));
    assertBpfError(
      () => hash.update(key(5), pair.encode({ a: 2, b: 2 }), 'noexist'),
      'BPF_MAP_OPERATION_FAILED',
      /already exists/,
    );
    assertBpfError(
      () => hash.update(key(6), pair.encode({ a: 2, b: 2 }), 'exist'),
      'BPF_MAP_OPERATION_FAILED',
      /does not exist/,
    );
    hash.delete(key(5));
  });

  it('reports a full map clearly', () => {
    for (const n of [1, 2, 3]) hash.update(key(n), pair.encode({ a: n, b: n }));
    assertBpfError(
      () => hash.update(key(4), pair.encode({ a: 4, b: 4 })),
      'BPF_MAP_OPERATION_FAILED',
      /full \(3 entries\)/,
    );
    for (const n of [1, 2, 3]) hash.delete(key(n));
  });

  it('writes many entries in one batch, and says how many a failed batch wrote', () => {
    hash.updateBatch([1, 2].map((n) => [key(n), pair.encode({ a: n, b: 10 * n })] as const));
    assert.deepEqual(pair.decode(hash.lookup(key(2))!), { a: 2, b: 20 });
    assertBpfError(
      () => hash.updateBatch([3, 4, 5].map((n) => [key(n), pair.encode({ a: n, b: n })] as const)),
      'BPF_MAP_OPERATION_FAILED',
      /small_hash \(1 of 3 written\): the map is full \(3 entries\)/,
    );
    assertBpfError(
      () => hash.updateBatch([[key(1), Buffer.alloc(5)]]),
      'BPF_INVALID_ARGUMENT',
      /entry 0 has a 4-byte key and a 5-byte value, the map expects 4 and 8/,
    );
    for (const n of [1, 2, 3]) hash.delete(key(n));
  });

  it('rejects keys and values of the wrong size with the sizes in the message', () => {
    assertBpfError(
      () => hash.lookup(Buffer.alloc(3)),
      'BPF_INVALID_ARGUMENT',
      /key is 3 bytes, the map expects 4/,
    );
    assertBpfError(
      () => hash.update(key(1), Buffer.alloc(5)),
      'BPF_INVALID_ARGUMENT',
      /value is 5 bytes, the map expects 8/,
    );
    assertBpfError(() => hash.delete(Buffer.alloc(8)), 'BPF_INVALID_ARGUMENT', /key is 8 bytes/);
  });

  it('refuses per-CPU access on a plain map', () => {
    assertBpfError(() => hash.lookupPerCpu(key(1)), 'BPF_INVALID_ARGUMENT', /not a per-CPU map/);
  });

  it('reads per-CPU u64 fields summed over CPUs off the event loop, exactly before rounding', async () => {
    const triples = object.map('percpu_triples');
    const plain = object.map('plain_array');
    const words = object.map('percpu_words');
    const cpus = possibleCpus();
    // Per entry and CPU: small counts, counts past 2^53 (rounded once, after the sum)
    // and counts whose sum passes 2^64 (no wrap), one of them 2^64 + 2^11 + 1 on two CPUs:
    // half a double's step above 2^64 plus one, which only its lowest bit rounds up.
    const pastTie = (cpu: number) =>
      cpu === 0 ? 1n << 63n : cpu === 1 ? (1n << 63n) + (1n << 11n) + 1n : 0n;
    const perCpu = (index: number, cpu: number) => ({
      a: BigInt(index * 100 + cpu + 1),
      b: (1n << 53n) + BigInt(2 * index + cpu + 1),
      c:
        index % 3 === 0
          ? (1n << 64n) - BigInt(cpu + 1)
          : index % 3 === 1
            ? pastTie(cpu)
            : BigInt(index * cpu) << 40n,
    });
    const entries = triples.info.maxEntries;
    const expected = (index: number) => {
      let a = 0n;
      let b = 0n;
      let c = 0n;
      for (let cpu = 0; cpu < cpus; cpu++) {
        const v = perCpu(index, cpu);
        a += v.a;
        b += v.b;
        c += v.c;
      }
      return [Number(a), Number(b), Number(c)];
    };
    try {
      for (let i = 0; i < entries; i++) {
        triples.updatePerCpu(
          key(i),
          Array.from({ length: cpus }, (_, cpu) => triple.encode(perCpu(i, cpu))),
        );
      }
      const all = await triples.readPerCpuSums(0, entries);
      assert.ok(all instanceof Float64Array);
      assert.deepEqual([...all], Array.from({ length: entries }, (_, i) => expected(i)).flat());
      // A range ending at the last entry, one cut off there, and empty ones.
      assert.deepEqual([...(await triples.readPerCpuSums(7, 3))], [7, 8, 9].flatMap(expected));
      assert.deepEqual([...(await triples.readPerCpuSums(8, 100))], [8, 9].flatMap(expected));
      assert.deepEqual([...(await triples.readPerCpuSums(3, 1))], expected(3));
      assert.equal((await triples.readPerCpuSums(entries, 5)).length, 0);
      assert.equal((await triples.readPerCpuSums(4, 0)).length, 0);

      const refused = (map: BpfMap, first: number, count: number, message: string) =>
        assert.throws(
          () => map.readPerCpuSums(first, count),
          (err: unknown) =>
            err instanceof BpfError &&
            err.code === 'BPF_INVALID_ARGUMENT' &&
            err.operation === 'read per-CPU sums' &&
            err.message === message,
        );
      refused(
        triples,
        11,
        1,
        'Cannot read per-CPU sums of map percpu_triples: range 11+1 is outside its 10 entries',
      );
      refused(
        triples,
        -1,
        1,
        'Cannot read per-CPU sums of map percpu_triples: range -1+1 is outside its 10 entries',
      );
      refused(
        plain,
        0,
        1,
        'Cannot read per-CPU sums of map plain_array: it is not a per-CPU array map',
      );
      refused(
        words,
        0,
        1,
        'Cannot read per-CPU sums of map percpu_words: its 4-byte values are not whole u64 fields',
      );
      // The read owns its descriptor: closing the map while it runs is harmless.
      const reading = triples.readPerCpuSums(0, entries);
      triples.close();
      assert.deepEqual([...(await reading)], [...all]);
      assertBpfError(
        () => triples.readPerCpuSums(0, 1),
        'BPF_CLOSED',
        /^Cannot read per-CPU sums: map percpu_triples is closed$/,
      );
    } finally {
      triples.close();
      plain.close();
      words.close();
    }
  });

  it('writes a value from parts off the event loop, zero-padded, and checks its size', async () => {
    const array = BpfMap.createArray('offloop_test', 16, 2);
    try {
      array.update(key(1), Buffer.alloc(16, 0xff));
      await array.updateOffLoop(key(1), [Buffer.from([1, 2]), Buffer.from([3, 4, 5])]);
      assert.deepEqual([...(array.lookup(key(1)) ?? [])], [1, 2, 3, 4, 5, ...Array(11).fill(0)]);
      await assert.rejects(
        array.updateOffLoop(key(1), [Buffer.alloc(10), Buffer.alloc(7)]),
        /parts are 17 bytes, the map expects at most 16/,
      );
      await assert.rejects(array.updateOffLoop(key(2), [Buffer.alloc(4)], 'exist'), (err) => {
        assert.ok(err instanceof BpfError);
        return /Cannot update key in map offloop_test/.test(err.message);
      });
    } finally {
      array.close();
    }
  });

  it('expands a lookup part off the event loop: values[indices[i]] as u32s', async () => {
    const array = BpfMap.createArray('offloop_lookup', 24, 1);
    try {
      const values = Buffer.from(Uint32Array.from([7, 0x01020304, 0xffffffff]).buffer);
      const u32s = (b: Buffer | undefined) =>
        b === undefined
          ? []
          : Array.from({ length: b.length / 4 }, (_, i) => b.readUInt32LE(i * 4));
      for (const [indexBytes, indices] of [
        [1, Buffer.from([2, 0, 1, 1])],
        [2, Buffer.from(Uint16Array.from([2, 0, 1, 1]).buffer)],
        [4, Buffer.from(Uint32Array.from([2, 0, 1, 1]).buffer)],
      ] as const) {
        await array.updateOffLoop(key(0), [
          Buffer.from([9, 9, 9, 9]),
          { indices, indexBytes, values },
        ]);
        assert.deepEqual(
          u32s(array.lookup(key(0))),
          [0x09090909, 0xffffffff, 7, 0x01020304, 0x01020304, 0],
          `${indexBytes}-byte indices`,
        );
      }
      await assert.rejects(
        array.updateOffLoop(key(0), [{ indices: Buffer.from([3]), indexBytes: 1, values }]),
        /a lookup part has an index past the end of its values/,
      );
      await assert.rejects(
        array.updateOffLoop(key(0), [{ indices: Buffer.alloc(3), indexBytes: 2, values }]),
        /value part 0 is a lookup part with misaligned or partial indices/,
      );
      await assert.rejects(
        array.updateOffLoop(key(0), [{ indices: Buffer.alloc(7), indexBytes: 1, values }]),
        /parts are 28 bytes, the map expects at most 24/,
      );
    } finally {
      array.close();
    }
  });

  it('explains that array entries cannot be deleted', () => {
    const array = object.map('plain_array');
    try {
      assertBpfError(() => array.delete(key(0)), 'BPF_MAP_OPERATION_FAILED', /cannot be deleted/);
    } finally {
      array.close();
    }
  });

  it("the addon's own checks name the operation, the map and what is wrong", async () => {
    // The addon's checks directly, without the facade's checks in front of them.
    const array = BpfMap.createArray('argchecks', 8, 2);
    const raw = array.nativeHandle;
    const expect = (
      fn: () => unknown,
      code: string,
      operation: string,
      message: string,
      errno = 0,
    ) =>
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof BpfError, `expected BpfError, got ${String(err)}`);
        assert.deepEqual(
          { code: err.code, operation: err.operation, message: err.message, errno: err.errno },
          { code, operation, message, errno },
        );
        return true;
      });
    const invalid = 'BPF_INVALID_ARGUMENT';
    const failed = 'BPF_MAP_OPERATION_FAILED';
    const notBuffer = 'x' as unknown as Buffer;
    try {
      expect(
        () => raw.lookup(notBuffer),
        invalid,
        'look up key',
        'Cannot look up key: key must be a Buffer',
      );
      expect(
        () => raw.lookup(Buffer.alloc(3)),
        invalid,
        'look up key',
        'Cannot look up key in map argchecks: key is 3 bytes, the map expects 4',
      );
      expect(
        () => raw.update(Buffer.alloc(5), Buffer.alloc(8), 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: key is 5 bytes, the map expects 4',
      );
      expect(
        () => raw.update(key(0), notBuffer, 0),
        invalid,
        'update key',
        'Cannot update key: value must be a Buffer',
      );
      expect(
        () => raw.update(key(0), Buffer.alloc(5), 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: value is 5 bytes, the map expects 8',
      );
      expect(
        () => raw.updateBatch(Buffer.alloc(6), Buffer.alloc(8), 0),
        invalid,
        'update keys',
        'Cannot update keys in map argchecks: 6 key bytes and 8 value bytes are not whole entries of 4 and 8 bytes',
        22,
      );
      expect(
        () => raw.updateOffLoop(Buffer.alloc(2), [], 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: key is 2 bytes, the map expects 4',
      );
      expect(
        () => raw.updateOffLoop(key(0), notBuffer as unknown as Buffer[], 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: the value parts must be an array of Buffers',
      );
      expect(
        () => raw.updateOffLoop(key(0), [Buffer.alloc(1), 7 as unknown as Buffer], 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: value part 1 is not a Buffer',
      );
      expect(
        () => raw.updateOffLoop(key(0), [{} as unknown as Buffer], 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: value part 0 is neither a Buffer nor { indices: Buffer, indexBytes, values: Buffer }',
      );
      expect(
        () => raw.updateOffLoop(key(0), [Buffer.alloc(9)], 0),
        invalid,
        'update key',
        'Cannot update key in map argchecks: the value parts are 9 bytes, the map expects at most 8',
      );
      expect(
        () => raw.delete(Buffer.alloc(1)),
        invalid,
        'delete key',
        'Cannot delete key in map argchecks: key is 1 bytes, the map expects 4',
      );
      expect(
        () => raw.delete(key(0)),
        failed,
        'bpf_map_delete_elem',
        'Cannot delete key in map argchecks: array map entries cannot be deleted, only overwritten',
        22,
      );
      expect(
        () => raw.nextKey(Buffer.alloc(3)),
        invalid,
        'iterate keys',
        'Cannot iterate keys in map argchecks: key is 3 bytes, the map expects 4',
      );
      expect(
        () => raw.readArray('0' as unknown as number, 1),
        invalid,
        'read array entries',
        'Cannot read array entries of map argchecks: first and count must be numbers',
      );
      expect(
        () => raw.readArray(3, 1),
        invalid,
        'read array entries',
        'Cannot read array entries of map argchecks: range 3+1 is outside its 2 entries',
      );
      expect(
        () => hash.nativeHandle.readArray(0, 1),
        invalid,
        'read array entries',
        'Cannot read array entries of map small_hash: it is not a plain array map',
      );
      hash.update(key(1), pair.encode({ a: 1, b: 1 }));
      expect(
        () => hash.nativeHandle.update(key(1), pair.encode({ a: 1, b: 1 }), 1),
        failed,
        'bpf_map_update_elem',
        "Cannot update key in map small_hash: the key already exists (update mode 'noexist')",
        17,
      );
      hash.delete(key(1));
      expect(
        () => raw.pin(7 as unknown as string),
        invalid,
        'pin map',
        'Cannot pin map: path must be a string',
      );
    } finally {
      array.close();
    }
    expect(
      () => raw.lookup(key(0)),
      'BPF_CLOSED',
      'look up key',
      'Cannot look up key: map argchecks is closed',
    );
  });

  it('pins, reopens from another handle, and unpins', () => {
    const dir = join(bpffsRoot, 'lbctl', uniqueName('test-map-'));
    mkdirSync(dir, { recursive: true });
    try {
      const path = join(dir, 'small_hash');
      hash.pin(path);
      const reopened = BpfMap.openPinned(path);
      hash.update(key(7), pair.encode({ a: 7, b: 70 }));
      assert.deepEqual(pair.decode(reopened.lookup(key(7)) ?? Buffer.alloc(0)), { a: 7, b: 70 });
      assert.equal(reopened.info.id, hash.info.id, 'same kernel map');
      reopened.close();
      hash.unpin();
      assertBpfError(
        () => BpfMap.openPinned(path),
        'BPF_OBJ_GET_FAILED',
        /nothing is pinned there/,
      );
      hash.delete(key(7));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reuses a pinned map in a second object', async () => {
    const dir = join(bpffsRoot, 'lbctl', uniqueName('test-reuse-'));
    mkdirSync(dir, { recursive: true });
    const second = BpfObject.open(bpfObjectPath('maps'), { pinRoot: pinRootDir });
    try {
      const path = join(dir, 'small_hash');
      hash.pin(path);
      second.reusePinnedMap('small_hash', path);
      await second.load();
      const shared = second.map('small_hash');
      hash.update(key(8), pair.encode({ a: 8, b: 80 }));
      assert.deepEqual(pair.decode(shared.lookup(key(8)) ?? Buffer.alloc(0)), { a: 8, b: 80 });
      shared.close();
      hash.delete(key(8));
    } finally {
      second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('duplicates a handle: same map, each closed on its own', () => {
    const copy = hash.duplicate();
    assert.equal(copy.info.id, hash.info.id, 'same kernel map');
    copy.update(key(9), pair.encode({ a: 9, b: 90 }));
    assert.deepEqual(pair.decode(hash.lookup(key(9)) ?? Buffer.alloc(0)), { a: 9, b: 90 });
    copy.close();
    assertBpfError(() => copy.lookup(key(9)), 'BPF_CLOSED', /map small_hash is closed/);
    assert.equal(hash.delete(key(9)), true, 'the original still works');
  });

  it('keeps map handles usable after the object is closed', async () => {
    const other = BpfObject.open(bpfObjectPath('maps'), { pinRoot: pinRootDir });
    await other.load();
    const map = other.map('small_hash');
    other.close();
    map.update(key(1), pair.encode({ a: 1, b: 2 }));
    assert.deepEqual(pair.decode(map.lookup(key(1)) ?? Buffer.alloc(0)), { a: 1, b: 2 });
    map.close();
  });
});
