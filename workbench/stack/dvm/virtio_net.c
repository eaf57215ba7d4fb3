/* virtio-net driver: receive queue 0, transmit queue 1, one descriptor per buffer.  Features:
 * VERSION_1 and MAC; no offloads and no mergeable receive buffers, so every frame arrives whole in
 * one buffer behind the 12-byte virtio-net header (the VERSION_1 layout, num_buffers included). */
#include "dvm.h"

#define NET_HDR 12
#define NBUF 8
#define BUFSZ 2048

static struct virtq rxq, txq;
static u32 base;
u32 vnet_irq;
u8 vnet_mac[6];
static u8 rxbuf[NBUF][BUFSZ] __attribute__((aligned(16)));
static u8 txbuf[NBUF][BUFSZ] __attribute__((aligned(16)));
static u32 tx_busy[NBUF], tx_tag[NBUF];

static void post_rx(u32 i)
{
    rxq.desc[i] = (struct virtq_desc){ (u32)(uptr)rxbuf[i], BUFSZ, VIRTQ_DESC_F_WRITE, 0 };
    virtq_push(&rxq, i);
}

int vnet_init(u32 slot_mask)
{
    int s = virtio_find(slot_mask, VIRTIO_DEV_NET);
    u32 feat;
    if (s < 0)
        return -1;
    base = virtio_base(s);
    vnet_irq = VIRTIO_IRQ(s);
    if (virtio_start(base, VIRTIO_NET_F_MAC, &feat) < 0 || virtq_init(&rxq, base, 0, NBUF) < 0 ||
        virtq_init(&txq, base, 1, NBUF) < 0)
        return -1;
    u32 w0 = 0, w1 = 0;                              /* config space by aligned words only */
    if (feat & VIRTIO_NET_F_MAC)
        w0 = vio_read(base, VIRTIO_MMIO_CONFIG), w1 = vio_read(base, VIRTIO_MMIO_CONFIG + 4);
    for (u32 i = 0; i < 6; i++)
        vnet_mac[i] = (u8)((i < 4 ? w0 >> (8 * i) : w1 >> (8 * (i - 4))) & 0xFF);
    memset(tx_busy, 0, sizeof(tx_busy));
    for (u32 i = 0; i < rxq.num; i++)
        post_rx(i);
    virtio_driver_ok(base);
    virtq_kick(&rxq);
    return s;
}

/* A transmit buffer the device is done with (the frame is on the wire): -> 1 and its tag. */
int vnet_tx_done(u32 *tag)
{
    u32 id, len;
    while (virtq_pop_used(&txq, &id, &len))
        if (id < NBUF && tx_busy[id]) {
            tx_busy[id] = 0;
            *tag = tx_tag[id];
            return 1;
        }
    return 0;
}

int vnet_send(const void *frame, u32 len, u32 tag)
{
    u32 i = 0;
    while (i < txq.num && tx_busy[i])
        i++;
    if (i == txq.num || len > BUFSZ - NET_HDR)
        return -1;
    tx_busy[i] = 1;
    tx_tag[i] = tag;
    memset(txbuf[i], 0, NET_HDR);
    copy_verified(txbuf[i] + NET_HDR, frame, len);
    txq.desc[i] = (struct virtq_desc){ (u32)(uptr)txbuf[i], NET_HDR + len, 0, 0 };
    virtq_push(&txq, i);
    virtq_kick(&txq);
    return 0;
}

int vnet_recv(u8 **frame, u32 *len)
{
    u32 id, n;
    while (virtq_pop_used(&rxq, &id, &n)) {
        if (id >= NBUF)
            continue;
        if (n <= NET_HDR || n > BUFSZ) {             /* nothing usable: give the buffer back */
            vnet_recv_done((int)id);
            continue;
        }
        *frame = rxbuf[id] + NET_HDR;
        *len = n - NET_HDR;
        return (int)id;
    }
    return -1;
}

void vnet_recv_done(int id)
{
    post_rx((u32)id);
    virtq_kick(&rxq);
}

void vnet_interrupt(void)
{
    virtio_ack_irq(base);
}
