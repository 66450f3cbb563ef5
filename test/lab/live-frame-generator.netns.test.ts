import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { BpfLink, BpfObject } from '../../src/bpf/index.js';
import { XDP } from '../../src/bpf/index.js';
import {
  counterMapName,
  counterProgramName,
  loadCounter,
  readCounters,
} from '../../src/counter/counter.js';
import { LiveFrameGenerator, udpFrame } from '../../src/lab/live-frame-generator.js';
import { withinNamespace } from '../../src/netns/enter.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';

const gen = uniqueName('lfgg');
const sink = uniqueName('lfgs');
const MAC = { gen: '02:00:00:1f:00:01', sink: '02:00:00:1f:00:02' };
let counter: BpfObject;
let link: BpfLink;

before(async () => {
  await createNamespace(gen);
  await createNamespace(sink);
  await createVethPair(
    { namespace: gen, name: 'gen0', mac: MAC.gen },
    { namespace: sink, name: 'sink0', mac: MAC.sink },
  );
  // Counts and drops every frame that reaches the far end.
  counter = await loadCounter({ verdict: XDP.DROP });
  link = await withinNamespace(sink, () =>
    counter.program(counterProgramName).attachXdp('sink0', { mode: 'native' }),
  );
});

teardown(async () => {
  link?.close();
  counter?.close();
  await deleteNamespace(sink);
  await deleteNamespace(gen);
});

const frame = {
  sourceMac: MAC.gen,
  destinationMac: MAC.sink,
  destination: '10.201.0.1',
  destinationPort: 53,
};

test('every generated frame really leaves the interface and reaches the peer', async () => {
  const generator = await LiveFrameGenerator.open({
    namespace: gen,
    ifname: 'gen0',
    flows: 1000,
    frame,
  });
  try {
    const before = readCounters(counter.map(counterMapName)).ipv4.packets;
    const { sent } = await generator.send(25_000, { maxSeconds: 30 });
    assert.equal(sent, 25_000);
    // Frames cross the veth in softirq context: give them a moment (up to 10 s
    // on a loaded machine; the loop ends as soon as all have arrived).
    let got = 0n;
    for (let i = 0; i < 500 && got < 25_000n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      got = readCounters(counter.map(counterMapName)).ipv4.packets - before;
    }
    assert.equal(got, 25_000n);
  } finally {
    generator.close();
  }
});

test('the template is a valid UDP frame of the Ethernet minimum size', () => {
  const data = udpFrame(frame);
  assert.equal(data.length, 60);
  assert.equal(data.readUInt16BE(12), 0x0800);
  assert.equal(data.readUInt16BE(14 + 2), 46, 'IP total length');
  assert.equal(data.readUInt8(14 + 9), 17);
  assert.equal(data.readUInt16BE(34 + 2), 53);
  assert.equal(data.readUInt16BE(34 + 4), 26, 'UDP length');
});

test('a flow count out of range is refused before anything is loaded', async () => {
  await assert.rejects(
    LiveFrameGenerator.open({ namespace: gen, ifname: 'gen0', flows: 0, frame }),
    /Cannot generate frames: flows must be an integer from 1 to/,
  );
});
