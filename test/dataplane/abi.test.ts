import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfObject, bpfObjectPath } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';

test('every ABI codec matches the compiled object BTF in size and offsets', (t) => {
  const obj = BpfObject.open(bpfObjectPath('lb'));
  t.after(() => obj.close());
  for (const codec of abi.ALL_STRUCTS) {
    const btf = obj.btfStruct(codec.name);
    assert.ok(btf, `struct ${codec.name} is in the BTF`);
    assert.equal(codec.size, btf.size, `sizeof(struct ${codec.name})`);
    assert.deepEqual(
      codec.fields.map((f) => [f.name, f.offset]),
      btf.members.map((m) => [m.name, m.offsetBits / 8]),
      `members of struct ${codec.name}`,
    );
  }
  const ring = obj.btfStruct('lb_ring');
  assert.equal(ring?.size, abi.RING_BYTES, 'sizeof(struct lb_ring)');
});

test('the object declares every map the ABI names, and the rodata knobs', (t) => {
  const obj = BpfObject.open(bpfObjectPath('lb'));
  t.after(() => obj.close());
  const maps = obj.mapNames();
  for (const name of Object.values(abi.MAPS)) assert.ok(maps.includes(name), `map ${name}`);
  const rodata = obj.rodataVariables().map((v) => v.name);
  assert.ok(rodata.includes('lb_malformed_verdict'));
  assert.ok(rodata.includes('lb_fragment_verdict'));
  assert.ok(rodata.includes('lb_conn_set_shift'));
  assert.ok(rodata.includes('lb_svc_set_shift'));
  assert.ok(rodata.includes('lb_ns_per_jiffy'));
  assert.ok(rodata.includes('lb_sloppy_tcp'));
  assert.ok(rodata.includes('lb_sync_enabled'));
  assert.deepEqual(obj.programNames(), ['lb_xdp', 'lb_sync_learn']);
});
