import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/**
 * Runs a full garbage collection now, so that one due for the heap an
 * earlier case left does not fall inside the next case's timing. The bench
 * runs without --expose-gc: the flag is set at run time and a new context
 * picks up the `gc` it exposes.
 */
export function settleHeap(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
