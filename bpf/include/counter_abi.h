/* ABI of the counter program (bpf/counter.bpf.c): shared with user space. */
#ifndef LBCTL_COUNTER_ABI_H
#define LBCTL_COUNTER_ABI_H

#include <linux/types.h>

/* Index into the counters map: what kind of frame was seen. */
enum counter_class {
	COUNTER_IPV4 = 0,
	COUNTER_IPV6 = 1,
	COUNTER_ARP = 2,
	COUNTER_OTHER = 3,
	COUNTER_CLASS_MAX = 4,
};

/* One slot of the per-CPU counters map. */
struct counter_value {
	__u64 packets;
	__u64 bytes;
};

#endif
