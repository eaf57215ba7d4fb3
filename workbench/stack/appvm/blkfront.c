/* Block frontend: the AppVM's virtual disk, served by the driver VM's blkback over a blkif ring.
 * Request slot i always uses data page i (granted to the backend once per connection).  Every
 * request in flight has a shadow copy; if the backend goes away and comes back (driver VM
 * microreboot), the ring starts afresh and the shadows are submitted again, so the workload never
 * notices: a write re-sent is idempotent, a read re-sent reads the same data. */
#include "frontend.h"
#include "blkif.h"

static u8 ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 data[BLKIF_RING_SIZE][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static long data_ref[BLKIF_RING_SIZE] = { -1, -1, -1, -1, -1, -1, -1, -1 };
STATIC_ASSERT(BLKIF_RING_SIZE == 8);
static struct frontend fe;
#define RING ((struct blkif_ring *)ring_page)

struct shadow {                      /* a request in flight, as we sent it */
    u32 in_use, done;
    struct blkif_request req;
    s32 status;
};
static struct shadow shadow[BLKIF_RING_SIZE];
static u32 rsp_cons;
u32 blk_sectors;                     /* size of our virtual disk */

static void regrant(struct frontend *f)
{
    for (u32 i = 0; i < BLKIF_RING_SIZE; i++) {
        frontend_end_grant(&data_ref[i]);
        data_ref[i] = gnttab_grant_page(f->be_domid, data[i], 0);
        GASSERT(data_ref[i] >= 0);
    }
    rsp_cons = 0;
}

static void push(struct shadow *s)
{
    u32 p = RING->req_prod;
    s->req.gref = (u32)data_ref[s->req.id];   /* grants are new after a reconnect */
    RING->req[p % BLKIF_RING_SIZE] = s->req;
    fence();
    WRITE_ONCE(RING->req_prod, p + 1);
}

int blkfront_init(void)
{
    if (frontend_init(&fe, "vbd", ring_page, regrant) < 0) {
        gprintf("appvm: no virtual disk\n");
        return -1;
    }
    if (xb_read_u32(fe.be_dir, "sectors", &blk_sectors) < 0)
        blk_sectors = 0;
    return 0;
}

/* Take the backend's answers off the ring into the shadows. */
static void reap(void)
{
    while (rsp_cons != READ_ONCE(RING->rsp_prod)) {
        fence();
        struct blkif_response r = RING->rsp[rsp_cons % BLKIF_RING_SIZE];
        rsp_cons++;
        if (r.id < BLKIF_RING_SIZE && shadow[r.id].in_use && !shadow[r.id].done) {
            shadow[r.id].status = r.status;
            shadow[r.id].done = 1;
        }
    }
}

static int answer_or_event(void *arg)
{
    struct shadow *s = arg;
    return s->done || rsp_cons != READ_ONCE(RING->rsp_prod) || store_pending();
}

/* Start over with a new ring after a backend restart: everything unanswered goes out again. */
static void resubmit(void)
{
    u32 n = 0;
    for (u32 i = 0; i < BLKIF_RING_SIZE; i++)
        if (shadow[i].in_use && !shadow[i].done)
            push(&shadow[i]), n++;
    gprintf("appvm: blkfront resubmitted %u request(s)\n", n);
    evtchn_send(fe.port);
}

/* One synchronous request: nsectors (<= 8) at `sector` of our disk, to or from buf. -> status */
s32 blk_io(u32 op, u32 sector, u32 nsectors, void *buf)
{
    u32 id = 0;
    while (shadow[id].in_use)
        id++;
    struct shadow *s = &shadow[id];
    *s = (struct shadow){ 1, 0, { id, op, sector, nsectors, 0 }, 0 };
    if (op == BLKIF_OP_WRITE)
        memcpy(data[id], buf, nsectors * DISK_SECTOR);
    push(s);
    evtchn_send(fe.port);
    while (!s->done) {
        guest_wait(answer_or_event, s);
        reap();
        if (store_pending()) {
            store_poll();
            if (frontend_check(&fe))
                resubmit();
        }
    }
    if (op == BLKIF_OP_READ && s->status == BLKIF_RSP_OKAY)
        memcpy(buf, data[id], nsectors * DISK_SECTOR);
    s->in_use = 0;
    return s->status;
}

void blkfront_close(void)
{
    frontend_close(&fe);
    for (u32 i = 0; i < BLKIF_RING_SIZE; i++)
        frontend_end_grant(&data_ref[i]);
}
