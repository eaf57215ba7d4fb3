/* ABI of multicall(entries, count): run a batch of hypercalls in order, each result stored in its
 * entry.  Multicall, iret and set_callbacks are not allowed inside a batch (-EINVAL). */
#ifndef MULTICALL_ABI_H
#define MULTICALL_ABI_H
#include "types.h"
#define MAX_MULTICALL 16
struct multicall_entry {
    u32 op;           /* IN: hypercall number */
    u32 args[6];      /* IN */
    s32 result;       /* OUT */
};
#endif
