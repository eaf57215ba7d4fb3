/* Workload ids and the result record every AppVM keeps at the symbol `wl_result` (and a progress
 * counter at `wl_progress`).  The console line, parsed by the workbench and the QEMU tests, is
 *   RESULT app=<i> wl=<name> status=<ok|fail> iters=<n> checksum=0x<8 hex>   */
#ifndef WORKLOAD_H
#define WORKLOAD_H
#include "types.h"

/* WL_none, then one WL_<name> per line of workload_list.h */
enum workload_id {
    WL_none = 0,
#define WORKLOAD(id, name, iterations, needs_dvm) WL_##name = id,
#include "workload_list.h"
#undef WORKLOAD
    WL_COUNT
};

/* One row per workload id (lib/workload.c, from workload_list.h); the row of WL_none is "none". */
struct workload_info {
    const char *name;
    u32 iterations;   /* default iterations */
    u32 needs_dvm;    /* does block or network I/O through the driver VM */
};
extern const struct workload_info workloads[WL_COUNT];

enum wl_status { WL_RUNNING = 0, WL_OK = 1, WL_FAIL = 2 };

struct wl_result {
    u32 magic;        /* 0 before the start, WL_RUNNING_MAGIC while running, WL_RESULT_MAGIC when final */
    u32 status;       /* enum wl_status */
    u32 workload;     /* enum workload_id */
    u32 iterations;   /* completed iterations */
    u32 checksum;     /* depends only on (workload, iterations, seed) */
};
#define WL_RESULT_MAGIC 0x444E4F44u   /* "DONE" */
#define WL_RUNNING_MAGIC 0x474E5552u  /* "RUNG": the workload has started (steady state reached); for
                                         `blk` and `net`: their frontends are connected */
#endif
