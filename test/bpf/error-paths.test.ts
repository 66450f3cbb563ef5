import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpfError, BpfObject, bpfObjectPath } from '../../src/bpf/index.js';
import { counterMapName, counterProgramName, loadCounter } from '../../src/counter/counter.js';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<BpfError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BpfError, `expected BpfError, got ${String(err)}`);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

function throwsWith(fn: () => unknown, code: string): BpfError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BpfError, `expected BpfError, got ${String(err)}`);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

describe('error paths', () => {
  it('carries the verifier log when the verifier rejects a program', async () => {
    const object = BpfObject.open(bpfObjectPath('unchecked_read'));
    try {
      const err = await rejectsWith(object.load(), 'BPF_LOAD_FAILED');
      assert.equal(err.operation, 'bpf_object__load');
      assert.equal(err.errno, 13, 'EACCES from the verifier');
      assert.match(err.message, /Cannot load BPF object .*unchecked_read\.bpf\.o/);
      assert.match(err.verifierLog ?? '', /invalid access to packet/);
      assert.equal(object.loaded, false);
    } finally {
      object.close();
    }
  });

  it('names the file when an object cannot be opened', () => {
    const err = throwsWith(() => BpfObject.open('/nonexistent/x.bpf.o'), 'BPF_OPEN_FAILED');
    assert.match(err.message, /Cannot open BPF object \/nonexistent\/x\.bpf\.o: No such file/);
    assert.equal(err.errno, 2);
  });

  it('reports a missing interface on attach', async () => {
    const object = await loadCounter();
    const program = object.program(counterProgramName);
    try {
      for (const mode of ['native', 'generic', 'auto'] as const) {
        const err = throwsWith(
          () => program.attachXdp('eth9nothere', { mode }),
          'XDP_NO_SUCH_INTERFACE',
        );
        assert.equal(err.message, 'Cannot attach XDP to eth9nothere: no such interface');
      }
    } finally {
      program.close();
      object.close();
    }
  });

  it('refuses to configure after load and to hand out handles before it', async () => {
    const object = BpfObject.open(bpfObjectPath('counter'));
    try {
      throwsWith(() => object.program(counterProgramName), 'BPF_NOT_LOADED');
      throwsWith(() => object.map(counterMapName), 'BPF_NOT_LOADED');
      throwsWith(() => object.map('nope'), 'BPF_NOT_FOUND');
      throwsWith(() => object.setRodata('nope', 1), 'BPF_NOT_FOUND');
      throwsWith(() => object.setRodata('counter_verdict', 2 ** 40), 'BPF_INVALID_ARGUMENT');
      const unknown = throwsWith(() => object.setAutoload('nope', false), 'BPF_NOT_FOUND');
      assert.match(unknown.message, /has no program named 'nope'/);
      await object.load();
      throwsWith(() => object.setAutoload(counterProgramName, false), 'BPF_ALREADY_LOADED');
      throwsWith(() => object.setMaxEntries(counterMapName, 8), 'BPF_ALREADY_LOADED');
      throwsWith(() => object.setRodata('counter_verdict', 1), 'BPF_ALREADY_LOADED');
      await rejectsWith(
        Promise.resolve().then(() => object.load()),
        'BPF_ALREADY_LOADED',
      );
    } finally {
      object.close();
    }
  });

  it('rejects every use after close, and close is idempotent', async () => {
    const object = await loadCounter();
    const program = object.program(counterProgramName);
    const map = object.map(counterMapName);
    object.close();
    object.close();
    throwsWith(() => object.map(counterMapName), 'BPF_CLOSED');
    throwsWith(() => object.programNames(), 'BPF_CLOSED');

    map.close();
    map.close();
    const mapErr = throwsWith(() => map.lookup(Buffer.alloc(4)), 'BPF_CLOSED');
    assert.match(mapErr.message, /map counters is closed/);
    throwsWith(() => [...map.keys()], 'BPF_CLOSED');

    program.close();
    program.close();
    await rejectsWith(
      Promise.resolve().then(() => program.testRun({ data: Buffer.alloc(64) })),
      'BPF_CLOSED',
    );
    throwsWith(() => program.attachXdp('lo', { mode: 'generic' }), 'BPF_CLOSED');
  });

  it('refuses to close an object while it is loading', async () => {
    const object = BpfObject.open(bpfObjectPath('counter'));
    const loading = object.load();
    throwsWith(() => object.close(), 'BPF_BUSY');
    await loading;
    object.close();
  });
});
