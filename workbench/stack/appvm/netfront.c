/* Network frontend: the AppVM's virtual interface, served by the driver VM's netback.  Transmit
 * slot i uses page tx[i], receive slot i page rx[i]; all receive pages stay posted to the backend
 * except while we copy a frame out.  After a backend restart the rings start afresh; frames in
 * flight are lost, as on a real network (the peer counts them). */
#include "frontend.h"
#include "netif.h"

static u8 ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 tx[NETIF_RING_SIZE][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 rx[NETIF_RING_SIZE][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static long tx_ref[NETIF_RING_SIZE], rx_ref[NETIF_RING_SIZE];
static u32 tx_busy[NETIF_RING_SIZE];
static u32 tx_rsp_cons, rx_rsp_cons;
static struct frontend fe;
#define RING ((struct netif_ring *)ring_page)

static void post_rx(u32 i)
{
    u32 p = RING->rx_req_prod;
    RING->rx_req[p % NETIF_RING_SIZE] = (struct netif_rx_request){ i, (u32)rx_ref[i] };
    fence();
    WRITE_ONCE(RING->rx_req_prod, p + 1);
}

static void regrant(struct frontend *f)
{
    for (u32 i = 0; i < NETIF_RING_SIZE; i++) {
        frontend_end_grant(&tx_ref[i]);
        frontend_end_grant(&rx_ref[i]);
        tx_ref[i] = gnttab_grant_page(f->be_domid, tx[i], 1);
        rx_ref[i] = gnttab_grant_page(f->be_domid, rx[i], 0);
        GASSERT(tx_ref[i] >= 0 && rx_ref[i] >= 0);
        tx_busy[i] = 0;
    }
    tx_rsp_cons = rx_rsp_cons = 0;
    for (u32 i = 0; i < NETIF_RING_SIZE; i++)     /* the ring is fresh: post every rx page */
        post_rx(i);
}

int netfront_init(void)
{
    for (u32 i = 0; i < NETIF_RING_SIZE; i++)
        tx_ref[i] = rx_ref[i] = -1;
    if (frontend_init(&fe, "vif", ring_page, regrant) < 0) {
        gprintf("appvm: no network interface\n");
        return -1;
    }
    evtchn_send(fe.port);                         /* the backend may look at the rx buffers */
    return 0;
}

static void reap_tx(void)
{
    while (tx_rsp_cons != READ_ONCE(RING->tx_rsp_prod)) {
        fence();
        u32 id = RING->tx_rsp[tx_rsp_cons % NETIF_RING_SIZE].id;
        tx_rsp_cons++;
        if (id < NETIF_RING_SIZE)
            tx_busy[id] = 0;
    }
}

static int ring_or_event(void *deadline_port)
{
    u32 *w = deadline_port;               /* {timer port, count seen} or NULL */
    return tx_rsp_cons != READ_ONCE(RING->tx_rsp_prod) || rx_rsp_cons != READ_ONCE(RING->rx_rsp_prod) ||
           store_pending() || (w && port_count[w[0]] != w[1]);
}

static void handle_store(void)
{
    if (store_pending()) {
        store_poll();
        if (frontend_check(&fe))
            evtchn_send(fe.port);
    }
}

/* Queue a frame for transmission (waits for a free slot). */
void net_send(const void *frame, u32 len)
{
    for (;;) {
        reap_tx();
        for (u32 i = 0; i < NETIF_RING_SIZE; i++) {
            if (tx_busy[i])
                continue;
            tx_busy[i] = 1;
            memcpy(tx[i], frame, len);
            u32 p = RING->tx_req_prod;
            RING->tx_req[p % NETIF_RING_SIZE] = (struct netif_tx_request){ i, (u32)tx_ref[i], len };
            fence();
            WRITE_ONCE(RING->tx_req_prod, p + 1);
            evtchn_send(fe.port);
            return;
        }
        guest_wait(ring_or_event, NULL);
        handle_store();
    }
}

/* The next received frame into buf (at most max bytes); -> its length, or 0 if `deadline` (mtime,
 * 0 = none) passed first. */
u32 net_recv(void *buf, u32 max, u64 deadline)
{
    u32 w[2] = { guest_timer_port(), 0 };
    if (deadline) {
        w[1] = port_count[w[0]];
        hc_set_timer(deadline);
    }
    for (;;) {
        reap_tx();
        if (rx_rsp_cons != READ_ONCE(RING->rx_rsp_prod)) {
            fence();
            struct netif_rx_response r = RING->rx_rsp[rx_rsp_cons % NETIF_RING_SIZE];
            rx_rsp_cons++;
            if (r.id >= NETIF_RING_SIZE)
                continue;
            u32 n = r.len > 0 ? ((u32)r.len < max ? (u32)r.len : max) : 0;
            memcpy(buf, rx[r.id], n);
            post_rx(r.id);
            evtchn_send(fe.port);
            if (n)
                return n;
            continue;
        }
        if (deadline && guest_now() >= deadline)
            return 0;
        guest_wait(ring_or_event, deadline ? w : NULL);
        handle_store();
    }
}

static int tx_idle(void *unused)
{
    reap_tx();
    for (u32 i = 0; i < NETIF_RING_SIZE; i++)
        if (tx_busy[i])
            return 0;
    return 1;
}

/* Close after the backend has taken every queued frame (the last reply must reach the wire). */
void netfront_close(void)
{
    guest_wait(tx_idle, NULL);
    frontend_close(&fe);
    for (u32 i = 0; i < NETIF_RING_SIZE; i++) {
        frontend_end_grant(&tx_ref[i]);
        frontend_end_grant(&rx_ref[i]);
    }
}
