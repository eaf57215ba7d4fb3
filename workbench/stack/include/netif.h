/* Network split-driver rings: one shared page, granted by the frontend and mapped by the backend,
 * holding a transmit ring (frontend -> wire) and a receive ring (wire -> frontend).  Same index
 * rules as blkif.h.  Frames move by grant copy: a tx request names a granted page holding the frame,
 * an rx request names an empty granted page for the backend to fill.
 *
 * Backend parameters: mac ("02:00:00:00:01:0i" for AppVM i; the bridge delivers frames for it).
 * Frontend: ring-ref, event-channel. */
#ifndef NETIF_ABI_H
#define NETIF_ABI_H
#include "types.h"

#define NETIF_RING_SIZE 8
#define NETIF_MTU_FRAME 1514           /* Ethernet II frame without FCS */

struct netif_tx_request { u32 id; u32 gref; u32 len; };
struct netif_tx_response { u32 id; s32 status; };     /* 0 sent, <0 dropped */
struct netif_rx_request { u32 id; u32 gref; };
struct netif_rx_response { u32 id; s32 len; };        /* frame bytes, <0 error */

struct netif_ring {
    u32 tx_req_prod, tx_rsp_prod;
    u32 rx_req_prod, rx_rsp_prod;
    struct netif_tx_request tx_req[NETIF_RING_SIZE];
    struct netif_tx_response tx_rsp[NETIF_RING_SIZE];
    struct netif_rx_request rx_req[NETIF_RING_SIZE];
    struct netif_rx_response rx_rsp[NETIF_RING_SIZE];
};
#endif
