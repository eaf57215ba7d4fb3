/* A single-producer single-consumer byte ring in shared memory.  Indices run freely and are reduced
 * modulo the power-of-two size; a fence orders data before the index that publishes it. */
#ifndef RING_H
#define RING_H
#include "types.h"

static inline u32 ring_used(u32 prod, u32 cons) { return prod - cons; }

/* Append len bytes if they fit (all or nothing); returns 1 on success. */
static inline int ring_put(u8 *buf, u32 size, volatile u32 *prod, volatile u32 *cons, const void *p, u32 len)
{
    u32 pr = *prod, c = *cons;
    if (size - ring_used(pr, c) < len)
        return 0;
    for (u32 i = 0; i < len; i++)
        buf[(pr + i) & (size - 1)] = ((const u8 *)p)[i];
    fence();
    *prod = pr + len;
    return 1;
}

/* Copy len bytes starting `skip` bytes after the consumer index, without consuming. */
static inline void ring_peek(const u8 *buf, u32 size, u32 cons, u32 skip, void *p, u32 len)
{
    for (u32 i = 0; i < len; i++)
        ((u8 *)p)[i] = buf[(cons + skip + i) & (size - 1)];
}
#endif
