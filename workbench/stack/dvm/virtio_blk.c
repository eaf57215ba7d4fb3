/* virtio-blk driver.  Each request is a three-descriptor chain: header (device reads), data
 * (device reads for a write, writes for a read) and a status byte (device writes).  Request slot k
 * always uses descriptors 3k..3k+2, so no descriptor allocator is needed.  Features: VERSION_1
 * only; the capacity comes from the configuration space. */
#include "dvm.h"

#define VIRTIO_BLK_T_IN  0
#define VIRTIO_BLK_T_OUT 1
struct vblk_hdr { u32 type; u32 reserved; u64 sector; };

static struct virtq vq;
static u32 base;
u32 vblk_irq, vblk_sectors;
static struct {
    struct vblk_hdr hdr;
    u8 status;
    u32 busy, tag;
} slot[VBLK_SLOTS];
STATIC_ASSERT(3 * VBLK_SLOTS <= VIRTQ_MAX);

int vblk_init(u32 slot_mask)
{
    int s = virtio_find(slot_mask, VIRTIO_DEV_BLK);
    u32 feat;
    if (s < 0)
        return -1;
    base = virtio_base(s);
    vblk_irq = VIRTIO_IRQ(s);
    if (virtio_start(base, 0, &feat) < 0 || virtq_init(&vq, base, 0, VIRTQ_MAX) < 0)
        return -1;
    vblk_sectors = vio_read(base, VIRTIO_MMIO_CONFIG);        /* capacity, low word */
    memset(slot, 0, sizeof(slot));
    virtio_driver_ok(base);
    return s;
}

int vblk_submit(u32 op, u32 sector, u32 nsectors, void *buf, u32 tag)
{
    u32 k = 0;
    while (k < VBLK_SLOTS && slot[k].busy)
        k++;
    if (k == VBLK_SLOTS || 3 * k + 2 >= vq.num)
        return -1;
    slot[k].busy = 1;
    slot[k].tag = tag;
    slot[k].hdr = (struct vblk_hdr){ op == BLKIF_OP_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 0, sector };
    slot[k].status = 0xFF;
    struct virtq_desc *d = &vq.desc[3 * k];
    d[0] = (struct virtq_desc){ (u32)(uptr)&slot[k].hdr, sizeof(slot[k].hdr), VIRTQ_DESC_F_NEXT, 3 * k + 1 };
    d[1] = (struct virtq_desc){ (u32)(uptr)buf, nsectors * DISK_SECTOR,
                                VIRTQ_DESC_F_NEXT | (op == BLKIF_OP_WRITE ? 0 : VIRTQ_DESC_F_WRITE), 3 * k + 2 };
    d[2] = (struct virtq_desc){ (u32)(uptr)&slot[k].status, 1, VIRTQ_DESC_F_WRITE, 0 };
    virtq_push(&vq, 3 * k);
    virtq_kick(&vq);
    return 0;
}

int vblk_complete(u32 *tag, s32 *status)
{
    u32 id, len;
    while (virtq_pop_used(&vq, &id, &len)) {
        u32 k = id / 3;
        if (id % 3 || k >= VBLK_SLOTS || !slot[k].busy)
            continue;                                 /* not a chain we made: ignore it */
        slot[k].busy = 0;
        *tag = slot[k].tag;
        *status = READ_ONCE(slot[k].status) == 0 ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
        return 1;
    }
    return 0;
}

void vblk_interrupt(void)
{
    virtio_ack_irq(base);
}
