/**
 * How much slower than the host this run is: bounds on external processes
 * (a director starting, a request through a namespace) are multiplied by it.
 * The VM tier sets LBCTL_TEST_SLOWDOWN, since its kernels run emulated.
 */
export const SLOWDOWN = Math.max(1, Number(process.env.LBCTL_TEST_SLOWDOWN ?? '1') || 1);
