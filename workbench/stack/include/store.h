/* Config-store wire protocol (xenstore's role): each domain's store ring page (slot + SLOT_STORE_OFF)
 * holds a request ring (guest -> PrivVM) and a response ring (PrivVM -> guest); either side notifies
 * the other over the store event channel.  Message = header + payload (NUL-separated strings). */
#ifndef STORE_ABI_H
#define STORE_ABI_H
#include "types.h"

#define STORE_RING_SIZE 1024
#define STORE_MAX_PATH  64
#define STORE_MAX_VALUE 64
#define STORE_MAX_PAYLOAD (STORE_MAX_PATH + STORE_MAX_VALUE + 8)

enum store_type {
    STORE_READ = 1,        /* path           -> value | ERROR */
    STORE_WRITE = 2,       /* path, value    -> "OK" | ERROR (creates parents) */
    STORE_RM = 3,          /* path           -> "OK" | ERROR */
    STORE_WATCH = 4,       /* path, token    -> "OK"; then WATCH_EVENT(path, token) on every change
                              below path, and once right away */
    STORE_UNWATCH = 5,     /* path, token    -> "OK" */
    STORE_DIRECTORY = 6,   /* path           -> child names, NUL separated */
    STORE_WATCH_EVENT = 7, /* hv never sends; PrivVM -> guest, req_id 0 */
    STORE_ERROR = 8,       /* payload: errno name */
};

struct store_msg {
    u32 type;
    u32 req_id;
    u32 len;               /* payload bytes */
};

struct store_ring_page {
    u32 req_prod, req_cons;
    u32 rsp_prod, rsp_cons;
    u8 req[STORE_RING_SIZE];
    u8 rsp[STORE_RING_SIZE];
    u32 server_gen;        /* bumped by a PrivVM that reconnected after a microreboot: the client
                              resends its request in flight and registers its watches again */
    u32 client_waiting;    /* req_id the client waits an answer for (0 = none): the hypervisor's
                              monitor calls a PrivVM that leaves one unanswered a period hung */
    u32 rsp_start;         /* set with server_gen: where the new instance's responses begin; what a
                              failed instance left before it (maybe garbage) the client discards */
};
#endif
