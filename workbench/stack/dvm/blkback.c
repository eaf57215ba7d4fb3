/* Block backend: serves each AppVM's virtual disk, a window of the physical disk the toolstack
 * assigned (backend keys "start" and "sectors", in sectors).  Requests come over the AppVM's blkif
 * ring; the data pages of the requests taken in one round are mapped in one multicall batch of
 * GNTTABOP_map (a non-idempotent batch on the I/O path: it moves frame counts and PMP map slots),
 * copied between the mapped page and one of our bounce buffers (copy_verified: a failing DVM must
 * not pass on wrong data before it is detected), and unmapped at completion; a page
 * that could not be mapped (no map slot left) moves by grant copy instead.  Bounce buffer <-> disk is
 * virtio-blk DMA (the device sees only our memory).  Up to VBLK_SLOTS requests are on the device at
 * once, taken round robin from the AppVMs. */
#include "dvm.h"

struct vbd {
    struct backend b;
    u32 start, sectors;              /* the AppVM's disk region */
    u32 req_cons;                    /* next request to take from the ring */
    u32 gen;                         /* connection number: answers for an older one are dropped */
    u32 served;                      /* requests answered, across reconnects (read by the workbench) */
};
static struct vbd vbds[MAX_FRONTENDS];

static struct {                      /* device request slot -> the AppVM request it serves */
    struct vbd *v;                   /* NULL = slot free */
    u32 gen;
    struct blkif_request req;
    u32 mapped, handle, addr;        /* the request's data page, if mapped (GNTTABOP_map) */
} inflight[VBLK_SLOTS];
static u8 bounce[VBLK_SLOTS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static int publish(struct backend *b)
{
    struct vbd *v = (struct vbd *)b;
    if (!vblk_sectors || xb_read_u32(b->dir, "start", &v->start) < 0 ||
        xb_read_u32(b->dir, "sectors", &v->sectors) < 0 || v->start > vblk_sectors ||
        v->sectors > vblk_sectors - v->start) {
        gprintf("dvm: %s: no disk region to serve (disk has %u sectors)\n", b->dir, vblk_sectors);
        return -1;
    }
    return 0;
}

static void reset(struct backend *b)
{
    struct vbd *v = (struct vbd *)b;
    v->req_cons = 0;
    v->gen++;                                   /* the answers of a dead connection go nowhere */
}

/* New frontends appear in our backend directory (written by the toolstack). */
void blkback_scan(void)
{
    char path[STORE_MAX_PATH], names[STORE_MAX_PAYLOAD];
    snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd", my_domid);
    int n = store_directory(path, names, sizeof(names));
    for (int off = 0; n > 0 && off < n; off += strlen(names + off) + 1) {
        u32 fe = atou(names + off), i, free = MAX_FRONTENDS;
        for (i = 0; i < MAX_FRONTENDS; i++) {
            if (vbds[i].b.used && vbds[i].b.fe_domid == fe)
                break;
            if (!vbds[i].b.used && free == MAX_FRONTENDS)
                free = i;
        }
        if (i == MAX_FRONTENDS) {                   /* first time we hear of this frontend */
            if (free == MAX_FRONTENDS)
                continue;
            memset(&vbds[free], 0, sizeof(vbds[free]));
            backend_adopt(&vbds[free].b, path, fe);
        }
    }
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vbds[i].b.used)
            backend_update(&vbds[i].b, publish, reset);
}

static void respond(struct vbd *v, const struct blkif_request *req, s32 status)
{
    struct blkif_ring *r = v->b.ring;
    u32 p = r->rsp_prod;
    r->rsp[p % BLKIF_RING_SIZE] = (struct blkif_response){ req->id, req->op, status };
    fence();
    WRITE_ONCE(r->rsp_prod, p + 1);
    evtchn_send(v->b.port);
    dvm_stats[ST_BLK_REQS]++;
    v->served++;
    if (status)
        dvm_stats[ST_BLK_ERRS]++;
}

/* Take the next request of v onto device slot i; 1 if it waits there for its data page's map and
 * submission (start_batch), 0 if it was invalid and answered right away. */
static int begin(struct vbd *v, u32 i)
{
    struct blkif_ring *r = v->b.ring;
    struct blkif_request req = r->req[v->req_cons % BLKIF_RING_SIZE];
    v->req_cons++;
    if ((req.op != BLKIF_OP_READ && req.op != BLKIF_OP_WRITE) || req.nsectors == 0 ||
        req.nsectors > BLKIF_MAX_SECTORS || req.sector >= v->sectors || req.nsectors > v->sectors - req.sector) {
        respond(v, &req, BLKIF_RSP_ERROR);
        return 0;
    }
    inflight[i].v = v;
    inflight[i].gen = v->gen;
    inflight[i].req = req;
    inflight[i].mapped = 0;
    return 1;
}

static void unmap_slot(u32 i)
{
    if (inflight[i].mapped) {
        struct gnttab_unmap u = { inflight[i].handle };
        hc_gnttab(GNTTABOP_unmap, &u);
        inflight[i].mapped = 0;
    }
}

/* Map the data pages of the n requests on slots[] in one batch, move the writes' data into the
 * bounce buffers, and put the requests on the device. */
static void start_batch(const u32 *slots, u32 n)
{
    static struct gnttab_map maps[VBLK_SLOTS];
    static struct multicall_entry mc[VBLK_SLOTS];
    if (!n)
        return;
    for (u32 k = 0; k < n; k++) {
        u32 i = slots[k];
        maps[k] = (struct gnttab_map){ inflight[i].v->b.fe_domid, inflight[i].req.gref, 0, 0 };
        mc[k] = (struct multicall_entry){ HC_grant_table_op, { GNTTABOP_map, (u32)(uptr)&maps[k] }, 0 };
    }
    long rc = hv_multicall((long)mc, n, 0, 0, 0, 0);
    for (u32 k = 0; k < n; k++) {
        u32 i = slots[k];
        struct vbd *v = inflight[i].v;
        const struct blkif_request *req = &inflight[i].req;
        u32 bytes = req->nsectors * DISK_SECTOR;
        if (rc == 0 && mc[k].result == 0) {
            inflight[i].mapped = 1;
            inflight[i].handle = maps[k].handle;
            inflight[i].addr = maps[k].addr;
        }
        int ok = 1;
        if (req->op == BLKIF_OP_WRITE) {
            if (inflight[i].mapped)
                copy_verified(bounce[i], (const void *)(uptr)inflight[i].addr, bytes);
            else                                         /* no map slot: copy through the hypervisor */
                ok = gnttab_copy_from(v->b.fe_domid, req->gref, 0, bounce[i], bytes) >= 0;
        }
        if (!ok || vblk_submit(req->op, v->start + req->sector, req->nsectors, bounce[i], i) < 0) {
            unmap_slot(i);
            inflight[i].v = NULL;
            respond(v, req, BLKIF_RSP_ERROR);
        }
    }
}

/* Device slot i finished: hand a read's data to the AppVM, answer it. */
static void finish(u32 i, s32 status)
{
    struct vbd *v = inflight[i].v;
    const struct blkif_request *req = &inflight[i].req;
    inflight[i].v = NULL;
    if (!v || inflight[i].gen != v->gen || !v->b.ring) {
        unmap_slot(i);
        return;
    }
    u32 bytes = req->nsectors * DISK_SECTOR;
    if (status == BLKIF_RSP_OKAY && req->op == BLKIF_OP_READ) {
        if (inflight[i].mapped)
            copy_verified((void *)(uptr)inflight[i].addr, bounce[i], bytes);
        else if (gnttab_copy_to(v->b.fe_domid, req->gref, 0, bounce[i], bytes) < 0)
            status = BLKIF_RSP_ERROR;
    }
    unmap_slot(i);
    respond(v, req, status);
}

void blkback_restart(void)
{
    for (u32 i = 0; i < VBLK_SLOTS; i++)
        unmap_slot(i);
    memset(inflight, 0, sizeof(inflight));      /* the device reset dropped them */
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vbds[i].b.used)
            backend_restart(&vbds[i].b, reset);
}

int blkback_pending(void)
{
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vbds[i].b.ring && port_count[vbds[i].b.port] != vbds[i].b.port_seen)
            return 1;
    return 0;
}

int blkback_work(void)
{
    int did = 0;
    u32 tag;
    s32 status;
    while (vblk_complete(&tag, &status))
        if (tag < VBLK_SLOTS)
            finish(tag, status), did = 1;
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vbds[i].b.ring)
            vbds[i].b.port_seen = port_count[vbds[i].b.port];
    u32 batch[VBLK_SLOTS], n = 0;                    /* requests taken, to map and submit together */
    for (int progress = 1; progress;) {              /* one request per AppVM per round */
        progress = 0;
        for (u32 k = 0; k < MAX_FRONTENDS; k++) {
            struct vbd *v = &vbds[k];
            if (!v->b.ring)
                continue;
            u32 prod = READ_ONCE(((struct blkif_ring *)v->b.ring)->req_prod);
            if (prod - v->req_cons > BLKIF_RING_SIZE) {  /* a broken frontend: skip what it claims */
                v->req_cons = prod;
                dvm_stats[ST_BLK_ERRS]++;
            }
            if (prod == v->req_cons)
                continue;
            u32 i = 0;
            while (i < VBLK_SLOTS && inflight[i].v)
                i++;
            if (i == VBLK_SLOTS)
                break;
            fence();                                 /* the request after its index */
            if (begin(v, i))
                batch[n++] = i;
            progress = did = 1;
        }
    }
    start_batch(batch, n);
    return did;
}
