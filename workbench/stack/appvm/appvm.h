/* The AppVM kernel's internal interface: the workloads and the record they fill in. */
#ifndef APPVM_H
#define APPVM_H
#include "guest.h"
#include "workload.h"
#include "store.h"

extern struct wl_result wl_result;      /* read by the workbench at this symbol */
extern volatile u32 wl_progress;        /* iterations done so far */

/* Workload parameters from the config store. */
struct wl_params {
    u32 appvm, iterations, seed;
};

void wl_running(void);                  /* steady state reached: wl_result.magic = RUNG */

/* Each workload fills wl_result.{status,iterations,checksum}. */
void wl_compute(const struct wl_params *p);
void wl_hcall(const struct wl_params *p);
void wl_pmp(const struct wl_params *p);
void wl_badcall(const struct wl_params *p);
void wl_devpmp(const struct wl_params *p);
void wl_blk(const struct wl_params *p);
void wl_net(const struct wl_params *p);

/* Split I/O frontends (blkfront.c, netfront.c), connected through the config store. */
extern u32 blk_sectors;
int blkfront_init(void);                                     /* -> 0, or -1: no virtual disk */
s32 blk_io(u32 op, u32 sector, u32 nsectors, void *buf);     /* synchronous; -> blkif status */
void blkfront_close(void);
int netfront_init(void);                                     /* -> 0, or -1: no interface */
void net_send(const void *frame, u32 len);
u32 net_recv(void *buf, u32 max, u64 deadline);              /* -> length, 0 = deadline passed */
void netfront_close(void);

static inline u32 xorshift(u32 x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}
static inline u32 mix(u32 h, u32 v) { return (h ^ v) * 0x01000193u; }  /* FNV-1a step */
#endif
