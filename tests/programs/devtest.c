/* Device test program (tests/test_devices.py). One image, several modes chosen by the `mode` word,
 * which the tests poke before running (the default, BLK_BASIC, is what QEMU runs in the cross-check).
 * Results land in the globals below; block modes power off (code 0 = pass), the network modes serve
 * the peer forever in a WFI loop, so the machine goes idle once the peer is done. */
#include "virtio.h"

enum { BLK_BASIC = 1, BLK_RESET = 2, BLK_MALFORMED = 3, NET_ECHO = 4, BLK_EXEC = 5 };
enum { BAD_ADDR = 1, BAD_LOOP = 2, BAD_DIRECTION = 3, BAD_AVAIL = 4, BAD_RING = 5, BAD_NO_STATUS = 6 };
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };

#ifndef DEVTEST_MODE
#define DEVTEST_MODE BLK_BASIC
#endif
#ifndef DEVTEST_BAD
#define DEVTEST_BAD BAD_ADDR
#endif
volatile uint32_t mode = DEVTEST_MODE;      /* QEMU runs builds with these defined (no poking there) */
volatile uint32_t bad_kind = DEVTEST_BAD;
volatile uint32_t reset_after = 0;      /* NET_ECHO: reset and re-initialise the NIC after this many */
volatile uint32_t status_seen, served, resets_done, step, exec_result;
volatile uint64_t capacity;
volatile uint8_t mac[6];
volatile uint8_t disk_id[20];

struct blk_req { uint32_t type, reserved; uint64_t sector; };

static struct vq q0, q1;
#define NREQ 4
#define SECS 8
static struct blk_req hdr[NREQ];
static uint8_t stat[NREQ];
static uint8_t wbuf[NREQ][SECS * 512] __attribute__((aligned(16)));
static uint8_t rbuf[NREQ][SECS * 512] __attribute__((aligned(16)));

static void check(int ok, uint32_t code)
{
    if (!ok) {
        putstr("devtest: fail at step ");
        puthex(code);
        putstr("\n");
        poweroff(code);
    }
}

/* Request i of a batch uses descriptors 3i (header), 3i+1 (data), 3i+2 (status). */
static void blk_queue(uint32_t i, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
    hdr[i].type = type, hdr[i].reserved = 0, hdr[i].sector = sector;
    stat[i] = 0xff;
    struct vq_desc *d = &q0.desc[3 * i];
    d[0] = (struct vq_desc){(uint32_t)(uintptr_t)&hdr[i], 16, VRING_F_NEXT, (uint16_t)(3 * i + 1)};
    if (len) {
        d[1] = (struct vq_desc){(uint32_t)(uintptr_t)data, len,
                                (uint16_t)(VRING_F_NEXT | (type == T_OUT ? 0 : VRING_F_WRITE)), (uint16_t)(3 * i + 2)};
    } else {
        d[0].next = (uint16_t)(3 * i + 2);
    }
    d[2] = (struct vq_desc){(uint32_t)(uintptr_t)&stat[i], 1, VRING_F_WRITE, 0};
    vq_submit(&q0, (uint16_t)(3 * i));
}

static void blk_wait_all(uint32_t n)
{
    struct vq_used_elem e;
    for (uint32_t k = 0; k < n; k++) check(vq_wait(&q0, &e) == 0, 0x10 + step);
    for (uint32_t i = 0; i < n; i++) check(stat[i] == 0, 0x20 + step);
}

static uint8_t pattern(uint64_t sector, uint32_t k, uint32_t salt)
{
    return (uint8_t)(sector * 7 + k * 13 + (k >> 9) + salt);
}

static void blk_start(void)
{
    uint32_t base = vio_probe(2);
    check(base != 0, 0x01);
    check(vio_init(base, 1u << 9) == 0, 0x02);          /* VIRTIO_BLK_F_FLUSH */
    vq_setup(&q0, base, 0, 16);
    vio_irq_setup(base);
    vio_driver_ok(base);
    capacity = (uint64_t)vio_rd(base, VIO_CONFIG) | ((uint64_t)vio_rd(base, VIO_CONFIG + 4) << 32);
}

/* Write NREQ batches of SECS sectors from `first` (all in flight at once), flush, read back, compare. */
static void blk_write_verify(uint64_t first, uint32_t salt)
{
    for (uint32_t i = 0; i < NREQ; i++)
        for (uint32_t k = 0; k < SECS * 512; k++) wbuf[i][k] = pattern(first + i * SECS + k / 512, k, salt);
    step = 1;
    for (uint32_t i = 0; i < NREQ; i++) blk_queue(i, T_OUT, first + i * SECS, wbuf[i], SECS * 512);
    blk_wait_all(NREQ);
    step = 2;
    blk_queue(0, T_FLUSH, 0, 0, 0);
    blk_wait_all(1);
    step = 3;
    memset(rbuf, 0, sizeof rbuf);
    for (uint32_t i = 0; i < NREQ; i++) blk_queue(i, T_IN, first + i * SECS, rbuf[i], SECS * 512);
    blk_wait_all(NREQ);
    for (uint32_t i = 0; i < NREQ; i++)
        for (uint32_t k = 0; k < SECS * 512; k++) check(rbuf[i][k] == wbuf[i][k], 0x30);
}

static void blk_basic(void)
{
    blk_start();
    step = 4;
    blk_queue(0, T_GET_ID, 0, (void *)disk_id, 20);
    blk_wait_all(1);
    blk_write_verify(16, 0);
    blk_write_verify(capacity - NREQ * SECS, 5);        /* the last sectors of the disk */
    step = 5;                                           /* one sector beyond the end: IOERR */
    blk_queue(0, T_IN, capacity - 1, rbuf[0], 1024);
    struct vq_used_elem e;
    check(vq_wait(&q0, &e) == 0 && stat[0] == 1, 0x40);
}

static void blk_reset(void)
{
    blk_start();
    for (uint32_t i = 0; i < NREQ; i++) memset(wbuf[i], 0xEE, sizeof wbuf[i]);
    for (uint32_t i = 0; i < NREQ; i++) blk_queue(i, T_OUT, 100 + i * SECS, wbuf[i], SECS * 512);
    vio_wr(q0.base, VIO_STATUS, 0);                     /* reset with four writes in flight */
    resets_done = 1;
    check(vio_rd(q0.base, VIO_STATUS) == 0, 0x50);
    blk_start();
    blk_write_verify(200, 9);
}

static void blk_malformed(void)
{
    blk_start();
    struct vq_desc *d = q0.desc;
    hdr[0] = (struct blk_req){T_OUT, 0, 0};
    d[0] = (struct vq_desc){(uint32_t)(uintptr_t)&hdr[0], 16, VRING_F_NEXT, 1};
    d[1] = (struct vq_desc){(uint32_t)(uintptr_t)wbuf[0], 512, VRING_F_NEXT, 2};
    d[2] = (struct vq_desc){(uint32_t)(uintptr_t)&stat[0], 1, VRING_F_WRITE, 0};
    switch (bad_kind) {
    case BAD_ADDR: d[1].addr = 0x90000000u; break;                  /* beyond RAM (and unmapped in QEMU) */
    case BAD_LOOP: d[1].next = 1; break;                             /* 0 -> 1 -> 1 -> 1 ... */
    case BAD_DIRECTION: d[0].flags |= VRING_F_WRITE; break;          /* header writable, data readable */
    case BAD_AVAIL: q0.avail.idx = 40; break;                        /* 40 new entries in a queue of 16 */
    case BAD_RING: break;
    case BAD_NO_STATUS: d[1].flags = 0; break;                       /* no writable status byte */
    }
    if (bad_kind == BAD_RING) {                          /* a used ring address outside RAM */
        vio_wr(q0.base, VIO_STATUS, 0);
        check(vio_init(q0.base, 1u << 9) == 0, 0x60);
        vio_wr(q0.base, VIO_QUEUE_SEL, 0);
        vio_wr(q0.base, VIO_QUEUE_NUM, 16);
        vio_wr(q0.base, VIO_QUEUE_DESC_LO, (uint32_t)(uintptr_t)q0.desc);
        vio_wr(q0.base, VIO_QUEUE_AVAIL_LO, (uint32_t)(uintptr_t)&q0.avail);
        vio_wr(q0.base, VIO_QUEUE_USED_LO, 0x90000000u);
        vio_wr(q0.base, VIO_QUEUE_READY, 1);
        vio_driver_ok(q0.base);
    }
    vq_submit(&q0, 0);
    while (!(vio_rd(q0.base, VIO_STATUS) & VS_NEEDS_RESET)) {
        __asm__ volatile("wfi");
        vio_irq_ack();
    }
    status_seen = vio_rd(q0.base, VIO_STATUS) | (vio_rd(q0.base, VIO_INT_STATUS) << 8);
    putstr("devtest: status ");
    puthex(status_seen);
    putstr("\n");
    vio_irq_ack();
    blk_reset();                                         /* recovers: reset, re-initialise, work */
}

/* DMA over code that already ran: sector 0 holds new code, read over the old; the new must run. */
static uint32_t codebuf[128] __attribute__((aligned(512))) = {0x00100513u, 0x00008067u};   /* li a0,1; ret */

static void blk_exec(void)
{
    uint32_t (*fn)(void) = (uint32_t (*)(void))(uintptr_t)codebuf;
    uint32_t first = fn();
    blk_start();
    blk_queue(0, T_IN, 0, codebuf, 512);
    blk_wait_all(1);
    __asm__ volatile("fence.i" ::: "memory");
    exec_result = first << 4 | fn();
}

/* ---- network: answer the peer's requests (the DVM bridge and the AppVMs' `net` in one loop) ---- */

#define NQ 16
#define BUF 1536
static uint8_t rxb[NQ][BUF] __attribute__((aligned(16)));
static uint8_t txb[NQ][BUF] __attribute__((aligned(16)));
static uint32_t tx_sent, tx_done;

static void rx_post(uint16_t i)
{
    q0.desc[i] = (struct vq_desc){(uint32_t)(uintptr_t)rxb[i], BUF, VRING_F_WRITE, 0};
    vq_submit(&q0, i);
}

static void net_start(void)
{
    uint32_t base = vio_probe(1);
    check(base != 0, 0x81);
    check(vio_init(base, 1u << 5) == 0, 0x82);          /* VIRTIO_NET_F_MAC */
    vq_setup(&q0, base, 0, NQ);
    vq_setup(&q1, base, 1, NQ);
    vio_irq_setup(base);
    for (int k = 0; k < 6; k++) mac[k] = *(volatile uint8_t *)(base + VIO_CONFIG + k);
    vio_driver_ok(base);
    for (uint16_t i = 0; i < NQ; i++) rx_post(i);
    tx_sent = tx_done = 0;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24); }

static void net_serve(const uint8_t *f, uint32_t n)
{
    if (n < 30 || f[12] != 0x88 || f[13] != 0xB5 || rd32(f + 14) != 0x5152524Du) return;
    uint32_t appvm = rd32(f + 18), seq = rd32(f + 22), len = rd32(f + 26);
    if (30 + len > n) return;
    struct vq_used_elem e;
    while (tx_sent - tx_done >= NQ) {                    /* reclaim a transmit slot */
        while (!vq_poll(&q1, &e)) { __asm__ volatile("wfi"); vio_irq_ack(); }
        tx_done++;
    }
    uint32_t t = tx_sent % NQ;
    uint8_t *o = txb[t];
    memset(o, 0, 12);                                    /* virtio_net_hdr */
    uint8_t *r = o + 12;
    const uint8_t peer[6] = {2, 0, 0, 0, 0, 0xfe};
    memcpy(r, peer, 6);
    memcpy(r + 6, peer, 6);
    r[10] = 1, r[11] = (uint8_t)appvm;                   /* 02:00:00:00:01:<appvm> */
    r[12] = 0x88, r[13] = 0xB5;
    wr32(r + 14, 0x5052524Du), wr32(r + 18, appvm), wr32(r + 22, seq), wr32(r + 26, len);
    uint8_t x = (uint8_t)(0xA5 ^ (seq & 0xff));
    for (uint32_t k = 0; k < len; k++) r[30 + k] = f[30 + k] ^ x;
    q1.desc[t] = (struct vq_desc){(uint32_t)(uintptr_t)o, 12 + 30 + len, 0, 0};
    vq_submit(&q1, (uint16_t)t);
    tx_sent++;
}

static void net_echo(void)
{
    struct vq_used_elem e;
    net_start();
    for (;;) {
        while (!vq_poll(&q0, &e)) {
            while (vq_poll(&q1, &e)) tx_done++;
            __asm__ volatile("wfi");
            vio_irq_ack();
        }
        net_serve(rxb[e.id] + 12, e.len - 12);
        served++;
        rx_post((uint16_t)e.id);
        if (reset_after && served == reset_after && !resets_done) {
            vio_wr(q0.base, VIO_STATUS, 0);              /* frames in the rings are lost */
            resets_done = 1;
            net_start();
        }
    }
}

void devtest_main(void)
{
    if (mode == BLK_BASIC) blk_basic();
    else if (mode == BLK_RESET) blk_reset();
    else if (mode == BLK_MALFORMED) blk_malformed();
    else if (mode == NET_ECHO) net_echo();
    else if (mode == BLK_EXEC) blk_exec();
    else check(0, 0x7f);
    putstr("devtest: ok\n");
    poweroff(0);
}
