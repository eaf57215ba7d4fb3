/* THE list of workloads: id, name, default iterations, needs the driver VM.  It feeds the enum
 * (workload.h), the name table both guests use (lib/workload.c), the AppVM kernel's dispatch
 * (appvm/main.c: `name` runs wl_<name>) and Python (abi.workloads() reads these lines).
 * Id 0 is WL_none (no workload) and stays out of the list.  The default iterations make the default
 * system run about 0.3 simulated seconds on 2 harts.
 * Usage: #define WORKLOAD(id, name, iterations, needs_dvm) ... then #include "workload_list.h".
 * No include guard on purpose. */
WORKLOAD(1, compute, 4000, 0)   /* integer mix and CRC: the CPU alone */
WORKLOAD(2, hcall,   400,  0)   /* hypercalls of every kind: events, grants, timers, multicalls */
WORKLOAD(3, pmp,     20,   0)   /* misbehaves: writes outside its slot, must be killed alone */
WORKLOAD(4, badcall, 1,    0)   /* misbehaves: invalid hypercalls, each must return an error */
WORKLOAD(5, blk,     128,  1)   /* 4 KiB block writes and read-backs through blkfront */
WORKLOAD(6, net,     250,  1)   /* answers the network peer's requests through netfront */
WORKLOAD(7, devpmp,  1,    0)   /* misbehaves: touches a virtio device, must be killed alone */
