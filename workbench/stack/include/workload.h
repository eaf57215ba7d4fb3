/* Workload ids and the result record every AppVM keeps at the symbol `wl_result` (and a progress
 * counter at `wl_progress`).  The console line, parsed by the workbench and the QEMU tests, is
 *   RESULT app=<i> wl=<name> status=<ok|fail> iters=<n> checksum=0x<8 hex>   */
#ifndef WORKLOAD_H
#define WORKLOAD_H
#include "types.h"

enum workload_id { WL_NONE = 0, WL_COMPUTE = 1, WL_HCALL = 2, WL_PMP = 3, WL_BADCALL = 4,
                   WL_BLK = 5, WL_NET = 6, WL_DEVPMP = 7 };
#define WORKLOAD_NAMES { "none", "compute", "hcall", "pmp", "badcall", "blk", "net", "devpmp" }

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
