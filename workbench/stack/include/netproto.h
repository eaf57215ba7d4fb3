/* The wire protocol between the `net` workload and the network peer (outside the host, on the
 * NIC's wire).  Ethernet II frames, ethertype NETPROTO_ETHERTYPE, payload little endian:
 *
 *   header  u32 magic, u32 appvm, u32 seq, u32 len, then len bytes of data
 *
 *   HELLO   AppVM -> peer  magic "MRHI", appvm, seq = count (requests it expects), len 0.
 *           Sent once the AppVM's network frontend is connected, and again every
 *           NETPROTO_HELLO_TICKS until the first request arrives.  The peer starts this AppVM's
 *           stream when it first hears it (so no request is sent before anyone can answer) and
 *           ignores later hellos.
 *   REQUEST peer -> AppVM  magic "MRRQ", appvm, seq = 0, 1, ..., count-1, len, data: one every
 *           `interval` cycles; the machine model's peer sends a request again, same bytes, when no
 *           reply came within its timeout, up to its tries (the QEMU test's peer never does).  The data is the peer's choice; both peers (the
 *           machine model's, cyext/devices/net_peer.pxi, and the QEMU test's, system/qemu_peer.py) send
 *           len = payload_len (default 64) bytes from peer_fill(seed, appvm, seq): splitmix64 on
 *           x = seed ^ appvm << 32 ^ seq, 8 little-endian bytes per step, so the `net` checksum is
 *           the same on both for the same (count, seed, payload_len).
 *   REPLY   AppVM -> peer  magic "MRRP", appvm, seq, len (as in the request), data'[k] =
 *           data[k] ^ 0xA5 ^ (seq & 0xFF).
 *
 * MACs: peer 02:00:00:00:00:fe, AppVM i 02:00:00:00:01:0i.  Replies go to the request's source
 * MAC; hellos to the peer's MAC.  Frames shorter than 60 bytes are zero-padded by the AppVM (the
 * header's len says what counts).  The `net` workload answers every well-formed request for its
 * appvm (a retransmitted one again) and finishes after `count` distinct sequence numbers (its
 * iterations), or once no request came for NETPROTO_QUIET_TICKS (a peer gives a request up sooner);
 * result: iterations = distinct requests answered, checksum = FNV-1a-style mix (appvm.h mix(), start
 * 0x811C9DC5) over, per distinct answered request in sequence order: seq, len, then every reply data
 * byte. */
#ifndef NETPROTO_H
#define NETPROTO_H

#define NETPROTO_ETHERTYPE 0x88B5u
#define NETPROTO_HELLO     0x4948524Du   /* "MRHI" */
#define NETPROTO_REQUEST   0x5152524Du   /* "MRRQ" */
#define NETPROTO_REPLY     0x5052524Du   /* "MRRP" */
#define NETPROTO_HDR       16u           /* payload header bytes */
#define NETPROTO_MAX_DATA  1484u           /* 1514-byte frame - 14 - 16 */
#define NETPROTO_PEER_MAC  { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe }
#define NETPROTO_APPVM_MAC(i) { 0x02, 0x00, 0x00, 0x00, 0x01, (unsigned char)(i) }
#define NETPROTO_HELLO_TICKS 50000u      /* 5 ms of mtime */
#define NETPROTO_QUIET_TICKS 1000000u    /* 100 ms of mtime with no request: the peer has given up */

#define NETPROTO_REPLY_BYTE(b, seq)  ((unsigned char)((b) ^ 0xA5u ^ ((seq) & 0xFFu)))
#endif
