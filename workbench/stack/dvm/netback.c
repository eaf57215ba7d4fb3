/* Network backend: one virtual interface (vif) per AppVM that has a network frontend.  Frames the
 * AppVM transmits are grant-copied out of its pages and handed to the bridge, and answered once the
 * NIC has sent them (so a frontend that saw all its answers knows its frames are out); frames the bridge
 * delivers for the vif's MAC are grant-copied into a receive page the AppVM posted (dropped, and
 * counted, when it has none posted). */
#include "dvm.h"

struct vif {
    struct backend b;
    u8 mac[6];                       /* from the toolstack (backend key "mac") */
    u32 tx_cons, rx_cons;            /* next tx / rx request to take from the ring */
    u32 gen;                         /* connection number: answers for an older one are dropped */
    u32 served;                      /* tx requests answered, across reconnects (read by the workbench) */
};
static struct vif vifs[MAX_FRONTENDS];
static struct {                      /* frames on the NIC, by tag: whose request to answer when sent */
    struct vif *v;                   /* NULL = free */
    u32 gen, id;
} onwire[VNET_TX_SLOTS];
static u8 frame[NETIF_MTU_FRAME];

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "02:00:00:00:01:00" -> 6 bytes; -1 if malformed. */
static int parse_mac(const char *s, u8 *mac)
{
    for (u32 i = 0; i < 6; i++, s += 3) {
        int h = hexval(s[0]), l = hexval(s[1]);
        if (h < 0 || l < 0 || (i < 5 && s[2] != ':'))
            return -1;
        mac[i] = (u8)(h << 4 | l);
    }
    return 0;
}

static int publish(struct backend *b)
{
    char m[24];
    struct vif *v = (struct vif *)b;
    if (xb_read_str(b->dir, "mac", m, sizeof(m)) < 0 || parse_mac(m, v->mac) < 0)
        return -1;
    return 0;
}

static void reset(struct backend *b)
{
    struct vif *v = (struct vif *)b;
    v->tx_cons = v->rx_cons = 0;
    v->gen++;
}

void netback_scan(void)
{
    char path[STORE_MAX_PATH], names[STORE_MAX_PAYLOAD];
    snprintf(path, sizeof(path), "/local/domain/%u/backend/vif", my_domid);
    int n = store_directory(path, names, sizeof(names));
    for (int off = 0; n > 0 && off < n; off += strlen(names + off) + 1) {
        u32 fe = atou(names + off), i, free = MAX_FRONTENDS;
        for (i = 0; i < MAX_FRONTENDS; i++) {
            if (vifs[i].b.used && vifs[i].b.fe_domid == fe)
                break;
            if (!vifs[i].b.used && free == MAX_FRONTENDS)
                free = i;
        }
        if (i < MAX_FRONTENDS || free == MAX_FRONTENDS)
            continue;
        memset(&vifs[free], 0, sizeof(vifs[free]));
        backend_adopt(&vifs[free].b, path, fe);
    }
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vifs[i].b.used)
            backend_update(&vifs[i].b, publish, reset);
}

/* Give a frame to the vif(s) it is addressed to (all of them for broadcast); -> how many took it. */
int netback_deliver(const u8 *dst, const u8 *f, u32 len)
{
    static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    int all = !memcmp(dst, bcast, 6), n = 0;
    for (u32 i = 0; i < MAX_FRONTENDS; i++) {
        struct vif *v = &vifs[i];
        struct netif_ring *r = v->b.ring;
        if (!r || (!all && memcmp(dst, v->mac, 6)))
            continue;
        if (READ_ONCE(r->rx_req_prod) - v->rx_cons > NETIF_RING_SIZE)   /* a broken frontend */
            v->rx_cons = r->rx_req_prod;
        if (READ_ONCE(r->rx_req_prod) == v->rx_cons) {   /* no buffer posted */
            dvm_stats[ST_NET_DROPS]++;
            continue;
        }
        fence();
        struct netif_rx_request req = r->rx_req[v->rx_cons % NETIF_RING_SIZE];
        v->rx_cons++;
        s32 res = gnttab_copy_to(v->b.fe_domid, req.gref, 0, f, len) < 0 ? -1 : (s32)len;
        u32 p = r->rx_rsp_prod;
        r->rx_rsp[p % NETIF_RING_SIZE] = (struct netif_rx_response){ req.id, res };
        fence();
        WRITE_ONCE(r->rx_rsp_prod, p + 1);
        evtchn_send(v->b.port);
        dvm_stats[ST_NET_RX]++;
        n++;
    }
    return n;
}

void netback_restart(void)
{
    memset(onwire, 0, sizeof(onwire));
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vifs[i].b.used)
            backend_restart(&vifs[i].b, reset);
}

int netback_pending(void)
{
    for (u32 i = 0; i < MAX_FRONTENDS; i++)
        if (vifs[i].b.ring && port_count[vifs[i].b.port] != vifs[i].b.port_seen)
            return 1;
    return 0;
}

static void tx_respond(struct vif *v, u32 id, s32 status)
{
    struct netif_ring *r = v->b.ring;
    u32 p = r->tx_rsp_prod;
    r->tx_rsp[p % NETIF_RING_SIZE] = (struct netif_tx_response){ id, status };
    fence();
    WRITE_ONCE(r->tx_rsp_prod, p + 1);
    evtchn_send(v->b.port);
    dvm_stats[ST_NET_TX]++;
    v->served++;
}

/* Answer the frames the NIC has sent, then transmit what the AppVMs queued while the NIC has room. */
int netback_work(void)
{
    int did = 0;
    u32 tag;
    while (vnet_tx_done(&tag)) {
        if (tag < VNET_TX_SLOTS && onwire[tag].v) {
            struct vif *v = onwire[tag].v;
            onwire[tag].v = NULL;
            if (v->gen == onwire[tag].gen && v->b.ring)
                tx_respond(v, onwire[tag].id, 0);
            did = 1;
        }
    }
    for (u32 i = 0; i < MAX_FRONTENDS; i++) {
        struct vif *v = &vifs[i];
        struct netif_ring *r = v->b.ring;
        if (!r)
            continue;
        v->b.port_seen = port_count[v->b.port];
        if (READ_ONCE(r->tx_req_prod) - v->tx_cons > NETIF_RING_SIZE)   /* a broken frontend */
            v->tx_cons = r->tx_req_prod;
        while (READ_ONCE(r->tx_req_prod) != v->tx_cons) {
            u32 k = 0;
            while (k < VNET_TX_SLOTS && onwire[k].v)
                k++;
            if (k == VNET_TX_SLOTS)
                break;                               /* NIC full: retry on its next interrupt */
            fence();
            struct netif_tx_request req = r->tx_req[v->tx_cons % NETIF_RING_SIZE];
            int sent = -2;
            if (req.len >= 14 && req.len <= NETIF_MTU_FRAME &&
                gnttab_copy_from(v->b.fe_domid, req.gref, 0, frame, req.len) == 0)
                sent = bridge_from_vif(frame, req.len, k);
            if (sent == -1)
                break;
            v->tx_cons++;
            if (sent == 0)
                onwire[k] = (typeof(onwire[k])){ v, v->gen, req.id };
            else
                tx_respond(v, req.id, sent == 1 ? 0 : -1);
            did = 1;
        }
    }
    return did;
}
