/* virtio-mmio transport, version 2 only: finding a device by probing the slots, the status and
 * feature handshake, split virtqueue set-up, and the avail/used ring mechanics.  The device DMAs
 * into the driver VM's own memory (guests run at physical addresses), so a pointer is a bus
 * address. */
#include "guest.h"
#include "virtio.h"

u32 virtio_base(u32 slot) { return VIRTIO_BASE + VIRTIO_STRIDE * slot; }

/* The lowest slot in slot_mask holding a version-2 device with this id.  QEMU fills the slots from
 * the top, our machine uses fixed slots: probing is what both have in common. */
int virtio_find(u32 slot_mask, u32 device_id)
{
    for (u32 s = 0; s < VIRTIO_SLOTS; s++) {
        if (!(slot_mask & (1u << s)))
            continue;
        u32 b = virtio_base(s);
        if (vio_read(b, VIRTIO_MMIO_MAGIC) == VIRTIO_MAGIC && vio_read(b, VIRTIO_MMIO_VERSION) == 2 &&
            vio_read(b, VIRTIO_MMIO_DEVICE_ID) == device_id)
            return (int)s;
    }
    return -1;
}

/* Writing 0 resets the device; it is done when the status reads back 0. */
void virtio_reset(u32 base)
{
    vio_write(base, VIRTIO_MMIO_STATUS, 0);
    while (vio_read(base, VIRTIO_MMIO_STATUS) != 0)
        ;
}

/* Reset, acknowledge, negotiate features: we accept VERSION_1 and the low-word bits in want_lo that
 * the device offers.  Returns 0 with the device in FEATURES_OK, or -1 (status FAILED). */
int virtio_start(u32 base, u32 want_lo, u32 *got_lo)
{
    virtio_reset(base);
    vio_write(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vio_write(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vio_write(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    u32 lo = vio_read(base, VIRTIO_MMIO_DEVICE_FEATURES) & want_lo;
    vio_write(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    u32 hi = vio_read(base, VIRTIO_MMIO_DEVICE_FEATURES);
    if (!(hi & VIRTIO_F_VERSION_1_HI))
        goto fail;
    vio_write(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    vio_write(base, VIRTIO_MMIO_DRIVER_FEATURES, lo);
    vio_write(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    vio_write(base, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_F_VERSION_1_HI);
    u32 st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    vio_write(base, VIRTIO_MMIO_STATUS, st);
    if (!(vio_read(base, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        goto fail;
    *got_lo = lo;
    return 0;
fail:
    vio_write(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_FAILED);
    return -1;
}

/* Give queue `index` of the device our ring memory, `num` entries (at most what it allows). */
int virtq_init(struct virtq *q, u32 base, u32 index, u32 num)
{
    memset(q, 0, sizeof(*q));
    q->base = base;
    q->index = index;
    vio_write(base, VIRTIO_MMIO_QUEUE_SEL, index);
    u32 max = vio_read(base, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (vio_read(base, VIRTIO_MMIO_QUEUE_READY) || max == 0)
        return -1;
    q->num = num < max ? num : max;
    vio_write(base, VIRTIO_MMIO_QUEUE_NUM, q->num);
    vio_write(base, VIRTIO_MMIO_QUEUE_DESC_LOW, (u32)(uptr)q->desc);
    vio_write(base, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    vio_write(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (u32)(uptr)&q->avail);
    vio_write(base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    vio_write(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (u32)(uptr)&q->used);
    vio_write(base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    vio_write(base, VIRTIO_MMIO_QUEUE_READY, 1);
    return 0;
}

void virtio_driver_ok(u32 base)
{
    vio_write(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                            VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* The descriptors must be written before the avail entry, and that before the index moves. */
void virtq_push(struct virtq *q, u16 head)
{
    q->avail.ring[q->avail_idx % q->num] = head;
    fence();
    q->avail_idx++;
    WRITE_ONCE(q->avail.idx, q->avail_idx);
    fence();
}

void virtq_kick(struct virtq *q)
{
    vio_write(q->base, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

int virtq_pop_used(struct virtq *q, u32 *id, u32 *len)
{
    if (READ_ONCE(q->used.idx) == q->last_used)
        return 0;
    fence();                                   /* read the element only after seeing the index */
    struct virtq_used_elem *e = &q->used.ring[q->last_used % q->num];
    *id = e->id;
    *len = e->len;
    q->last_used++;
    return 1;
}

/* Acknowledge the device's interrupt (its line drops); the caller then EOIs the PLIC source. */
u32 virtio_ack_irq(u32 base)
{
    u32 isr = vio_read(base, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (isr)
        vio_write(base, VIRTIO_MMIO_INTERRUPT_ACK, isr);
    return isr;
}
