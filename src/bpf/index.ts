/** The typed TypeScript API over libbpf (native/). */
export type { StructCodec, StructField } from './codec.js';
export { struct } from './codec.js';
export { BpfError, type BpfErrorCode } from './errors.js';
export { BpfLink, type BpfLinkInfo, type XdpMode } from './link.js';
export { BpfMap, type MapInfo, possibleCpus, type UpdateMode } from './map.js';
export { BpfObject, type BtfStruct, type OpenOptions } from './object.js';
export { bpffsRoot, bpfObjectPath, pinRoot } from './paths.js';
export {
  BpfProgram,
  type TestRunOptions,
  type TestRunResult,
  XDP,
  type XdpAttachMode,
} from './program.js';
export { BpfRingBuffer } from './ring-buffer.js';
export { libbpfVersion } from './version.js';
