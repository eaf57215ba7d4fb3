/* `compute`: pure computation (no hypercalls but a heartbeat), the baseline workload. */
#include "appvm.h"

void wl_compute(const struct wl_params *p)
{
    u32 x = p->seed ? p->seed : 1, h = 0x811C9DC5u;
    u32 table[64];
    for (u32 i = 0; i < 64; i++)
        table[i] = x = xorshift(x);
    for (u32 it = 0; it < p->iterations; it++) {
        for (u32 j = 0; j < 256; j++) {             /* a little memory traffic, a little ALU work */
            x = xorshift(x);
            table[x & 63] += x >> 7;
            h = mix(h, table[(x >> 8) & 63]);
        }
        wl_progress = it + 1;
        if ((it & 15) == 15)
            hc_heartbeat();
    }
    wl_result.iterations = p->iterations;
    wl_result.checksum = h;
    wl_result.status = WL_OK;
}
