/* The workload table both guests read (the toolstack names the workload in the config store, the
 * AppVM kernel looks it up there), generated from include/workload_list.h.  The workbench reads it
 * from the images through DWARF to check it against the header (tests/test_stack_lists.py). */
#include "types.h"
#include "workload.h"

const struct workload_info workloads[WL_COUNT] = {
    [WL_none] = { "none", 0, 0 },
#define WORKLOAD(id, name, iterations, needs_dvm) [id] = { #name, iterations, needs_dvm },
#include "workload_list.h"
#undef WORKLOAD
};
