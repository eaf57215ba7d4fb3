/* Block backend: serves each AppVM's virtual disk, a window of the physical disk the toolstack
 * assigned (backend keys "start" and "sectors", in sectors).  Requests come over the AppVM's blkif
 * ring; data moves between its granted page and one of our bounce buffers by grant copy, and
 * between the bounce buffer and the disk by virtio-blk DMA (the device sees only our memory).
 * Up to VBLK_SLOTS requests are on the device at once, taken round robin from the AppVMs. */
#include "dvm.h"

struct vbd {
    struct backend b;
    u32 start, sectors;              /* the AppVM's disk region */
    u32 req_cons;                    /* next request to take from the ring */
    u32 gen;                         /* connection number: answers for an older one are dropped */
};
static struct vbd vbds[MAX_FRONTENDS];

static struct {                      /* device request slot -> the AppVM request it serves */
    struct vbd *v;                   /* NULL = slot free */
    u32 gen;
    struct blkif_request req;
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
    if (status)
        dvm_stats[ST_BLK_ERRS]++;
}

/* Take the next request of v onto device slot i (or answer it right away if it is invalid). */
static void begin(struct vbd *v, u32 i)
{
    struct blkif_ring *r = v->b.ring;
    struct blkif_request req = r->req[v->req_cons % BLKIF_RING_SIZE];
    v->req_cons++;
    u32 bytes = req.nsectors * DISK_SECTOR;
    if ((req.op != BLKIF_OP_READ && req.op != BLKIF_OP_WRITE) || req.nsectors == 0 ||
        req.nsectors > BLKIF_MAX_SECTORS || req.sector >= v->sectors || req.nsectors > v->sectors - req.sector ||
        (req.op == BLKIF_OP_WRITE && gnttab_copy_from(v->b.fe_domid, req.gref, 0, bounce[i], bytes) < 0)) {
        respond(v, &req, BLKIF_RSP_ERROR);
        return;
    }
    inflight[i].v = v;
    inflight[i].gen = v->gen;
    inflight[i].req = req;
    if (vblk_submit(req.op, v->start + req.sector, req.nsectors, bounce[i], i) < 0) {
        inflight[i].v = NULL;
        respond(v, &req, BLKIF_RSP_ERROR);
    }
}

/* Device slot i finished: hand a read's data to the AppVM, answer it. */
static void finish(u32 i, s32 status)
{
    struct vbd *v = inflight[i].v;
    const struct blkif_request *req = &inflight[i].req;
    inflight[i].v = NULL;
    if (!v || inflight[i].gen != v->gen || !v->b.ring)
        return;
    if (status == BLKIF_RSP_OKAY && req->op == BLKIF_OP_READ &&
        gnttab_copy_to(v->b.fe_domid, req->gref, 0, bounce[i], req->nsectors * DISK_SECTOR) < 0)
        status = BLKIF_RSP_ERROR;
    respond(v, req, status);
}

void blkback_restart(void)
{
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
                return did;
            fence();                                 /* the request after its index */
            begin(v, i);
            progress = did = 1;
        }
    }
    return did;
}
