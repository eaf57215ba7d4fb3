/* The shared test driver (see virtio.h). Polling for used entries with WFI in between: with
 * mie.MEIE set and mstatus.MIE clear, WFI returns when the device's PLIC line is pending. */
#include "virtio.h"

#define PLIC 0x0C000000u
#define UART ((volatile uint8_t *)0x10000000u)
#define SYSCON ((volatile uint32_t *)0x00100000u)

void *memcpy(void *d, const void *s, unsigned long n)
{
    uint8_t *a = d;
    const uint8_t *b = s;
    while (n--) *a++ = *b++;
    return d;
}

void *memset(void *d, int c, unsigned long n)
{
    uint8_t *a = d;
    while (n--) *a++ = (uint8_t)c;
    return d;
}

void putstr(const char *s) { while (*s) *UART = (uint8_t)*s++; }
void puthex(uint32_t v) { for (int i = 28; i >= 0; i -= 4) *UART = (uint8_t)"0123456789abcdef"[(v >> i) & 15]; }

void poweroff(uint32_t code)
{
    *SYSCON = code ? (code << 16) | 0x3333 : 0x5555;
    for (;;) __asm__ volatile("wfi");
}

uint32_t vio_probe(uint32_t device_id)
{
    for (int i = VIRTIO_SLOTS - 1; i >= 0; i--) {
        uint32_t base = VIRTIO_BASE + 0x1000u * (uint32_t)i;
        if (vio_rd(base, VIO_MAGIC) == VIRTIO_MAGIC && vio_rd(base, VIO_VERSION) == 2 &&
            vio_rd(base, VIO_DEVICE_ID) == device_id)
            return base;
    }
    return 0;
}

int vio_init(uint32_t base, uint32_t features_lo)
{
    vio_wr(base, VIO_STATUS, 0);
    vio_wr(base, VIO_STATUS, VS_ACK);
    vio_wr(base, VIO_STATUS, VS_ACK | VS_DRIVER);
    vio_wr(base, VIO_DEV_FEATURES_SEL, 0);
    uint32_t lo = vio_rd(base, VIO_DEV_FEATURES);
    vio_wr(base, VIO_DEV_FEATURES_SEL, 1);
    uint32_t hi = vio_rd(base, VIO_DEV_FEATURES);
    if (!(hi & 1) || (lo & features_lo) != features_lo) return -1;
    vio_wr(base, VIO_DRV_FEATURES_SEL, 0);
    vio_wr(base, VIO_DRV_FEATURES, features_lo);
    vio_wr(base, VIO_DRV_FEATURES_SEL, 1);
    vio_wr(base, VIO_DRV_FEATURES, 1);                  /* VIRTIO_F_VERSION_1 */
    vio_wr(base, VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
    if (!(vio_rd(base, VIO_STATUS) & VS_FEATURES_OK)) return -2;
    return 0;
}

void vq_setup(struct vq *q, uint32_t base, uint32_t index, uint32_t num)
{
    memset(q, 0, sizeof *q);
    q->base = base, q->index = index, q->num = num;
    vio_wr(base, VIO_QUEUE_SEL, index);
    uint32_t max = vio_rd(base, VIO_QUEUE_NUM_MAX);
    if (max < num) poweroff(0x71);
    vio_wr(base, VIO_QUEUE_NUM, num);
    vio_wr(base, VIO_QUEUE_DESC_LO, (uint32_t)(uintptr_t)q->desc);
    vio_wr(base, VIO_QUEUE_DESC_HI, 0);
    vio_wr(base, VIO_QUEUE_AVAIL_LO, (uint32_t)(uintptr_t)&q->avail);
    vio_wr(base, VIO_QUEUE_AVAIL_HI, 0);
    vio_wr(base, VIO_QUEUE_USED_LO, (uint32_t)(uintptr_t)&q->used);
    vio_wr(base, VIO_QUEUE_USED_HI, 0);
    vio_wr(base, VIO_QUEUE_READY, 1);
}

void vio_driver_ok(uint32_t base)
{
    vio_wr(base, VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
}

void vq_submit(struct vq *q, uint16_t head)
{
    volatile struct vq_avail *a = &q->avail;
    a->ring[a->idx % q->num] = head;
    __sync_synchronize();
    a->idx = (uint16_t)(a->idx + 1);
    __sync_synchronize();
    vio_wr(q->base, VIO_QUEUE_NOTIFY, q->index);
}

int vq_poll(struct vq *q, struct vq_used_elem *out)
{
    volatile struct vq_used *u = &q->used;
    if (u->idx == q->last_used) return 0;
    __sync_synchronize();
    out->id = u->ring[q->last_used % q->num].id;
    out->len = u->ring[q->last_used % q->num].len;
    q->last_used++;
    return 1;
}

int vq_wait(struct vq *q, struct vq_used_elem *out)
{
    while (!vq_poll(q, out)) {
        if (vio_rd(q->base, VIO_STATUS) & VS_NEEDS_RESET) return -1;
        __asm__ volatile("wfi");
        vio_irq_ack();
    }
    return 0;
}

void vio_irq_setup(uint32_t base)
{
    uint32_t src = (base - VIRTIO_BASE) / 0x1000u + 1;
    *(volatile uint32_t *)(PLIC + 4 * src) = 1;                       /* priority */
    *(volatile uint32_t *)(PLIC + 0x2000) |= 1u << src;               /* enable, hart 0 M context */
    *(volatile uint32_t *)(PLIC + 0x200000) = 0;                      /* threshold */
    __asm__ volatile("csrs mie, %0" ::"r"(1u << 11));
}

volatile uint32_t vio_irqs_seen;

void vio_irq_ack(void)
{
    uint32_t src = *(volatile uint32_t *)(PLIC + 0x200004);
    if (!src) return;
    vio_irqs_seen |= 1u << src;
    uint32_t base = VIRTIO_BASE + 0x1000u * (src - 1);
    vio_wr(base, VIO_INT_ACK, vio_rd(base, VIO_INT_STATUS));
    *(volatile uint32_t *)(PLIC + 0x200004) = src;
}
