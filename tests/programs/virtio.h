/* A minimal bare-metal virtio-mmio (version 2) driver for the device tests: probe, initialise, split
 * virtqueues with static rings, completion by WFI + PLIC claim. Runs unchanged on the machine model
 * and on QEMU virt (with -global virtio-mmio.force-legacy=false). */
#ifndef TESTS_VIRTIO_H
#define TESTS_VIRTIO_H
#include <stdint.h>

#define VIRTIO_BASE 0x10001000u
#define VIRTIO_SLOTS 8
#define VIRTIO_MAGIC 0x74726976u

enum {
    VIO_MAGIC = 0x000, VIO_VERSION = 0x004, VIO_DEVICE_ID = 0x008, VIO_VENDOR = 0x00c,
    VIO_DEV_FEATURES = 0x010, VIO_DEV_FEATURES_SEL = 0x014, VIO_DRV_FEATURES = 0x020,
    VIO_DRV_FEATURES_SEL = 0x024, VIO_QUEUE_SEL = 0x030, VIO_QUEUE_NUM_MAX = 0x034, VIO_QUEUE_NUM = 0x038,
    VIO_QUEUE_READY = 0x044, VIO_QUEUE_NOTIFY = 0x050, VIO_INT_STATUS = 0x060, VIO_INT_ACK = 0x064,
    VIO_STATUS = 0x070, VIO_QUEUE_DESC_LO = 0x080, VIO_QUEUE_DESC_HI = 0x084, VIO_QUEUE_AVAIL_LO = 0x090,
    VIO_QUEUE_AVAIL_HI = 0x094, VIO_QUEUE_USED_LO = 0x0a0, VIO_QUEUE_USED_HI = 0x0a4,
    VIO_CONFIG_GEN = 0x0fc, VIO_CONFIG = 0x100,
};
enum { VS_ACK = 1, VS_DRIVER = 2, VS_DRIVER_OK = 4, VS_FEATURES_OK = 8, VS_NEEDS_RESET = 0x40 };
enum { VRING_F_NEXT = 1, VRING_F_WRITE = 2 };

#define VQ_MAX 32

struct vq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq_avail { uint16_t flags, idx, ring[VQ_MAX], used_event; };
struct vq_used_elem { uint32_t id, len; };
struct vq_used { uint16_t flags, idx; struct vq_used_elem ring[VQ_MAX]; uint16_t avail_event; };

struct vq {
    uint32_t base, index, num;
    uint16_t last_used;            /* used entries consumed so far */
    struct vq_desc desc[VQ_MAX] __attribute__((aligned(16)));
    struct vq_avail avail __attribute__((aligned(4)));
    struct vq_used used __attribute__((aligned(4)));
};

static inline uint32_t vio_rd(uint32_t base, uint32_t off) { return *(volatile uint32_t *)(base + off); }
static inline void vio_wr(uint32_t base, uint32_t off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }

uint32_t vio_probe(uint32_t device_id);                 /* slot base, 0 if absent */
int vio_init(uint32_t base, uint32_t features_lo);      /* reset, negotiate (VERSION_1 added); 0 ok */
void vq_setup(struct vq *q, uint32_t base, uint32_t index, uint32_t num);
void vq_submit(struct vq *q, uint16_t head);            /* publish a chain and notify */
int vq_wait(struct vq *q, struct vq_used_elem *out);    /* next used element (WFI until there) */
int vq_poll(struct vq *q, struct vq_used_elem *out);    /* 1 and the element if one is there */
void vio_driver_ok(uint32_t base);
void vio_irq_setup(uint32_t base);                      /* PLIC source of the slot on, MEIE */
void vio_irq_ack(void);                                 /* claim, ack the device, complete */
extern volatile uint32_t vio_irqs_seen;                 /* bit per PLIC source claimed */

void putstr(const char *s);
void puthex(uint32_t v);
void poweroff(uint32_t code);                           /* 0: pass; else fail with code */
void *memcpy(void *d, const void *s, unsigned long n);
void *memset(void *d, int c, unsigned long n);
#endif
