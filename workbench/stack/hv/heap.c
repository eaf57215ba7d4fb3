/* The preserved heap: domains, vCPUs, event channels and grant tables live here, apart from the
 * hypervisor's static data, so a new hypervisor instance can adopt them (ReHype).  First fit over
 * a list of blocks, each with a header; frees merge with the following free block. */
#include "hv.h"

#define BLK_FREE 0x45455246u   /* "FREE" */
#define BLK_USED 0x44455355u   /* "USED" */
struct blk {
    u32 magic;
    u32 size;                  /* bytes including this header, multiple of 16 */
    u32 pad[2];
};

#define HEAP_POISON 0xA5       /* freed bytes: 0xA5A5A5A5 is no pointer into RAM and no magic */

static struct blk *next_blk(struct blk *b) { return (struct blk *)((u8 *)b + b->size); }

/* Fresh boot: an empty preserved root and one free block covering the rest of the region. */
void heap_init(void)
{
    struct preserved *p = PRESERVED;
    memset(p, 0, sizeof(*p));
    p->magic = PRESERVED_MAGIC;
    p->generation = 1;
    p->heap_start = (PHEAP_BASE + sizeof(*p) + 15) & ~15u;
    p->heap_end = PHEAP_BASE + PHEAP_SIZE;
    struct blk *b = (struct blk *)(uptr)p->heap_start;
    b->magic = BLK_FREE;
    b->size = p->heap_end - p->heap_start;
}

/* Zeroed memory of at least `size` bytes, or NULL. */
void *heap_alloc(u32 size)
{
    struct preserved *p = PRESERVED;
    u32 need = (size + sizeof(struct blk) + 15) & ~15u;
    void *res = NULL;
    LOCK(&p->heap_lock);
    for (struct blk *b = (struct blk *)(uptr)p->heap_start; (u32)(uptr)b < p->heap_end; b = next_blk(b)) {
        ASSERT(b->magic == BLK_FREE || b->magic == BLK_USED);
        if (b->magic != BLK_FREE || b->size < need)
            continue;
        if (b->size - need >= 64) {                 /* split: keep the tail free */
            struct blk *t = (struct blk *)((u8 *)b + need);
            t->magic = BLK_FREE;
            t->size = b->size - need;
            b->size = need;
        }
        b->magic = BLK_USED;
        res = b + 1;
        break;
    }
    spin_unlock(&p->heap_lock);
    if (res)
        memset(res, 0, ((struct blk *)res - 1)->size - sizeof(struct blk));
    return res;
}

void heap_free(void *ptr)
{
    struct preserved *p = PRESERVED;
    struct blk *b = (struct blk *)ptr - 1;
    LOCK(&p->heap_lock);
    ASSERT(b->magic == BLK_USED);
    memset(ptr, HEAP_POISON, b->size - sizeof(*b));   /* a use after free reads garbage, not stale state */
    b->magic = BLK_FREE;
    struct blk *n = next_blk(b);
    if ((u32)(uptr)n < p->heap_end && n->magic == BLK_FREE)
        b->size += n->size;
    spin_unlock(&p->heap_lock);
}

void heap_dump(void)
{
    struct preserved *p = PRESERVED;
    u32 used = 0, free = 0, n = 0;
    for (struct blk *b = (struct blk *)(uptr)p->heap_start;
         (u32)(uptr)b < p->heap_end && n < 4096 && b->size; b = next_blk(b), n++)
        if (b->magic == BLK_USED)
            used += b->size;
        else
            free += b->size;
    hv_printf("heap: generation %u, %u blocks, %u used, %u free, lock %u (holder %u)\n",
              p->generation, n, used, free, p->heap_lock.locked, p->heap_lock.holder);
}
