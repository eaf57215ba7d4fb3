/* virtio-mmio version 2 (virtio 1.x, "modern") registers and split virtqueues, as far as the
 * driver VM uses them (virtio spec v1.1: 4.2.2 MMIO registers, 2.6 split virtqueues). */
#ifndef VIRTIO_H
#define VIRTIO_H
#include "types.h"

#define VIRTIO_MAGIC       0x74726976u   /* "virt" */
#define VIRTIO_DEV_NET     1
#define VIRTIO_DEV_BLK     2

enum virtio_mmio_reg {
    VIRTIO_MMIO_MAGIC = 0x000, VIRTIO_MMIO_VERSION = 0x004, VIRTIO_MMIO_DEVICE_ID = 0x008,
    VIRTIO_MMIO_VENDOR_ID = 0x00c, VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
    VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014, VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024, VIRTIO_MMIO_QUEUE_SEL = 0x030,
    VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034, VIRTIO_MMIO_QUEUE_NUM = 0x038, VIRTIO_MMIO_QUEUE_READY = 0x044,
    VIRTIO_MMIO_QUEUE_NOTIFY = 0x050, VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
    VIRTIO_MMIO_INTERRUPT_ACK = 0x064, VIRTIO_MMIO_STATUS = 0x070, VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
    VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084, VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
    VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094, VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
    VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4, VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
    VIRTIO_MMIO_CONFIG = 0x100,
};

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER      2u
#define VIRTIO_STATUS_DRIVER_OK   4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED      128u

/* Feature bits we look at: the only one we accept is VERSION_1 (bit 32), plus MAC for the NIC. */
#define VIRTIO_F_VERSION_1_HI     (1u << 0)     /* bit 32: in the high word (features select 1) */
#define VIRTIO_NET_F_MAC          (1u << 5)

/* Split virtqueue. */
#define VIRTQ_MAX 16
#define VIRTQ_DESC_F_NEXT  1u
#define VIRTQ_DESC_F_WRITE 2u
struct virtq_desc { u64 addr; u32 len; u16 flags; u16 next; };
struct virtq_avail { u16 flags; u16 idx; u16 ring[VIRTQ_MAX]; u16 used_event; };
struct virtq_used_elem { u32 id; u32 len; };
struct virtq_used { u16 flags; u16 idx; struct virtq_used_elem ring[VIRTQ_MAX]; u16 avail_event; };

/* One queue: its memory (in the driver VM's slot, where the device DMAs) and the driver's indices. */
struct virtq {
    struct virtq_desc desc[VIRTQ_MAX] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(4)));
    struct virtq_used used __attribute__((aligned(4)));
    u32 base;         /* the device's MMIO window */
    u32 index;        /* queue number on the device */
    u32 num;          /* queue size in use */
    u16 avail_idx;    /* next avail index we publish */
    u16 last_used;    /* next used index we consume */
};

/* virtio.c */
int virtio_find(u32 slot_mask, u32 device_id);           /* -> slot, or -1 */
u32 virtio_base(u32 slot);
int virtio_start(u32 base, u32 want_lo, u32 *got_lo);   /* reset .. FEATURES_OK; -> 0 or -1 */
int virtq_init(struct virtq *q, u32 base, u32 index, u32 num);  /* -> 0 or -1 */
void virtio_driver_ok(u32 base);
void virtio_reset(u32 base);
void virtq_push(struct virtq *q, u16 head);              /* make a chain available */
void virtq_kick(struct virtq *q);                        /* notify the device */
int virtq_pop_used(struct virtq *q, u32 *id, u32 *len);  /* -> 1 if a used element was taken */
u32 virtio_ack_irq(u32 base);                            /* -> the interrupt status it acknowledged */
static inline u32 vio_read(u32 base, u32 reg) { return *(volatile u32 *)(uptr)(base + reg); }
static inline void vio_write(u32 base, u32 reg, u32 v) { *(volatile u32 *)(uptr)(base + reg) = v; }
#endif
