/**
 * Run inside a VM by the verifier benchmark: loads lb_xdp as `lbctl up` does
 * on the running kernel and prints the result as one JSON line.
 */
import { checkProgramLoad, DEFAULT_VARIANT } from '../src/dataplane/xdp/load-check.js';

const load = await checkProgramLoad(DEFAULT_VARIANT);
process.stdout.write(`verifier-probe ${JSON.stringify(load)}\n`);
