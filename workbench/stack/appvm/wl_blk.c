/* `blk`: BlkBench's role.  Writes `iterations` pseudo-random 4 KiB blocks at the start of the
 * AppVM's virtual disk (its own region of the physical disk), reads every one back and verifies it,
 * then rewrites them all with new content and verifies again.  After the run, block b of AppVM i's
 * region holds blk_fill(seed, 2, b).  The generator (reproduced in Python by the tests):
 *   s = mix(mix(mix(0x811C9DC5, seed), pass), b), or 1 if that is 0;
 *   word k (k = 0..1023, little endian) = s after k+1 steps of xorshift32 (13, 17, 5).
 * Checksum: mix over every word read back, in order (pass 1 then pass 2, block by block). */
#include "appvm.h"
#include "blkif.h"

#define BLOCK_SECTORS (PAGE_SIZE / DISK_SECTOR)
static u32 buf[PAGE_SIZE / 4], expect[PAGE_SIZE / 4];

static void blk_fill(u32 *w, u32 seed, u32 pass, u32 b)
{
    u32 s = mix(mix(mix(0x811C9DC5u, seed), pass), b);
    if (!s)
        s = 1;
    for (u32 k = 0; k < PAGE_SIZE / 4; k++)
        w[k] = s = xorshift(s);
}

void wl_blk(const struct wl_params *p)
{
    u32 h = 0x811C9DC5u, ok = 1, progress = 0;
    if (blkfront_init() < 0) {
        wl_result.status = WL_FAIL;
        return;
    }
    wl_running();
    u32 n = p->iterations, max = blk_sectors / BLOCK_SECTORS;
    if (n > max)
        n = max;
    for (u32 pass = 1; pass <= 2; pass++) {
        for (u32 b = 0; b < n; b++) {
            blk_fill(buf, p->seed, pass, b);
            if (blk_io(BLKIF_OP_WRITE, b * BLOCK_SECTORS, BLOCK_SECTORS, buf) != BLKIF_RSP_OKAY)
                ok = 0;
            wl_progress = ++progress;
        }
        for (u32 b = 0; b < n; b++) {
            memset(buf, 0, sizeof(buf));
            if (blk_io(BLKIF_OP_READ, b * BLOCK_SECTORS, BLOCK_SECTORS, buf) != BLKIF_RSP_OKAY)
                ok = 0;
            blk_fill(expect, p->seed, pass, b);
            if (memcmp(buf, expect, sizeof(buf))) {
                if (ok)
                    gprintf("blk: block %u differs after pass %u\n", b, pass);
                ok = 0;
            }
            for (u32 k = 0; k < PAGE_SIZE / 4; k++)
                h = mix(h, buf[k]);
            wl_progress = ++progress;
        }
    }
    wl_result.iterations = n;
    wl_result.checksum = h;
    wl_result.status = ok && n == p->iterations ? WL_OK : WL_FAIL;
}
