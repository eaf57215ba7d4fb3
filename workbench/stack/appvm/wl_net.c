/* `net`: NetBench's role.  Answers the network peer's requests (include/netproto.h): says hello
 * until the first request arrives, then replies to each request for this AppVM with the transformed
 * payload.  Finishes after `iterations` answers (the peer's count) or after answering the last
 * sequence number.  Checksum: mix over seq, len and every reply byte, per answered request. */
#include "appvm.h"
#include "netproto.h"

static u8 rxf[1536], txf[1536];
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

void wl_net(const struct wl_params *p)
{
    u8 mac[6] = NETPROTO_APPVM_MAC(p->appvm);
    u32 h = 0x811C9DC5u, served = 0, heard = 0;
    if (netfront_init() < 0) {
        wl_result.status = WL_FAIL;
        return;
    }
    wl_running();
    while (served < p->iterations) {
        if (!heard) {                                 /* the peer starts when it hears us */
            u32 n = frame_hdr(txf, peer_mac, mac, NETPROTO_HELLO, p->appvm, p->iterations, 0);
            net_send(txf, n < 60 ? 60 : n);
        }
        u32 n = net_recv(rxf, sizeof(rxf), heard ? 0 : guest_now() + NETPROTO_HELLO_TICKS);
        if (n < 14 + NETPROTO_HDR || memcmp(rxf, mac, 6) ||
            (rxf[12] << 8 | rxf[13]) != NETPROTO_ETHERTYPE || get32(rxf + 14) != NETPROTO_REQUEST ||
            get32(rxf + 18) != p->appvm)
            continue;
        u32 seq = get32(rxf + 22), len = get32(rxf + 26);
        if (len > NETPROTO_MAX_DATA || len > n - 14 - NETPROTO_HDR)
            continue;
        heard = 1;
        u32 off = frame_hdr(txf, rxf + 6, mac, NETPROTO_REPLY, p->appvm, seq, len);
        h = mix(mix(h, seq), len);
        for (u32 k = 0; k < len; k++) {
            txf[off + k] = NETPROTO_REPLY_BYTE(rxf[14 + NETPROTO_HDR + k], seq);
            h = mix(h, txf[off + k]);
        }
        off += len;
        net_send(txf, off < 60 ? 60 : off);
        wl_progress = ++served;
        if (seq + 1 >= p->iterations)
            break;
    }
    wl_result.iterations = served;
    wl_result.checksum = h;
    wl_result.status = served == p->iterations ? WL_OK : WL_FAIL;
}
