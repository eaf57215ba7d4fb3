/* `net`: NetBench's role.  Answers the network peer's requests (include/netproto.h): says hello
 * until the first request arrives, then replies to each request for this AppVM with the transformed
 * payload.  The peer retransmits a request it got no reply to, so a request may come twice and out
 * of order: each is answered every time, counted once, and folded into the checksum in sequence order
 * (a window of NET_WINDOW requests waits for the ones before it; a request past the window is left
 * unanswered, and the peer sends it again).  Finishes after `iterations` distinct requests, or when
 * no request came for NETPROTO_QUIET_TICKS (the peer gave some up).  Checksum: mix over seq, len and
 * every reply byte, per distinct request in sequence order. */
#include "appvm.h"
#include "netproto.h"

static u8 rxf[1536], txf[1536];

#define NET_WINDOW 8u
static u8 held[NET_WINDOW][NETPROTO_MAX_DATA];      /* replies waiting for an earlier request */
static u32 held_len[NET_WINDOW], held_seq[NET_WINDOW], held_in[NET_WINDOW];
static const u8 peer_mac[6] = NETPROTO_PEER_MAC;

static u32 get32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }
static void put32(u8 *p, u32 v) { p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24; }

/* Ethernet II header + protocol header; -> frame length so far. */
static u32 frame_hdr(u8 *f, const u8 *dst, const u8 *src, u32 magic, u32 appvm, u32 seq, u32 len)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = NETPROTO_ETHERTYPE >> 8;
    f[13] = NETPROTO_ETHERTYPE & 0xFF;
    put32(f + 14, magic);
    put32(f + 18, appvm);
    put32(f + 22, seq);
    put32(f + 26, len);
    return 14 + NETPROTO_HDR;
}

/* Fold request seq's reply data into the checksum. */
static u32 fold(u32 h, u32 seq, const u8 *data, u32 len)
{
    h = mix(mix(h, seq), len);
    for (u32 k = 0; k < len; k++)
        h = mix(h, data[k]);
    return h;
}

void wl_net(const struct wl_params *p)
{
    u8 mac[6] = NETPROTO_APPVM_MAC(p->appvm);
    u32 h = 0x811C9DC5u, next = 0, distinct = 0, heard = 0;
    if (netfront_init() < 0) {
        wl_result.status = WL_FAIL;
        return;
    }
    wl_running();
    while (distinct < p->iterations) {
        if (!heard) {                                 /* the peer starts when it hears us */
            u32 n = frame_hdr(txf, peer_mac, mac, NETPROTO_HELLO, p->appvm, p->iterations, 0);
            net_send(txf, n < 60 ? 60 : n);
        }
        u32 n = net_recv(rxf, sizeof(rxf), guest_now() + (heard ? NETPROTO_QUIET_TICKS : NETPROTO_HELLO_TICKS));
        if (n == 0 && heard)
            break;                                    /* the peer has given the rest up */
        if (n < 14 + NETPROTO_HDR || memcmp(rxf, mac, 6) ||
            (rxf[12] << 8 | rxf[13]) != NETPROTO_ETHERTYPE || get32(rxf + 14) != NETPROTO_REQUEST ||
            get32(rxf + 18) != p->appvm)
            continue;
        u32 seq = get32(rxf + 22), len = get32(rxf + 26);
        if (len > NETPROTO_MAX_DATA || len > n - 14 - NETPROTO_HDR || seq >= p->iterations ||
            (seq >= next && seq - next >= NET_WINDOW))
            continue;                                 /* past the window: answered when sent again */
        heard = 1;
        u32 off = frame_hdr(txf, rxf + 6, mac, NETPROTO_REPLY, p->appvm, seq, len);
        for (u32 k = 0; k < len; k++)
            txf[off + k] = NETPROTO_REPLY_BYTE(rxf[14 + NETPROTO_HDR + k], seq);
        net_send(txf, off + len < 60 ? 60 : off + len);
        u32 w = seq % NET_WINDOW;
        if (seq < next || (held_in[w] && held_seq[w] == seq))
            continue;                                 /* a retransmission: answered again, counted once */
        memcpy(held[w], txf + off, len);
        held_len[w] = len;
        held_seq[w] = seq;
        held_in[w] = 1;
        wl_progress = ++distinct;
        for (w = next % NET_WINDOW; held_in[w] && held_seq[w] == next; w = next % NET_WINDOW) {
            h = fold(h, next, held[w], held_len[w]);
            held_in[w] = 0;
            next++;
        }
    }
    for (u32 k = 0; k < NET_WINDOW; k++, next++)      /* given up: what came after a gap, in order */
        if (held_in[next % NET_WINDOW] && held_seq[next % NET_WINDOW] == next) {
            h = fold(h, next, held[next % NET_WINDOW], held_len[next % NET_WINDOW]);
            held_in[next % NET_WINDOW] = 0;
        }
    wl_result.iterations = distinct;
    wl_result.checksum = h;
    wl_result.status = distinct == p->iterations ? WL_OK : WL_FAIL;
}
