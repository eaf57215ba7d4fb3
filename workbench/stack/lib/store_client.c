/* Config-store client: requests go on the request ring of this domain's store page, answers come
 * back on the response ring, interleaved with watch events (which are queued for store_poll). */
#include "guest.h"
#include "store.h"
#include "ring.h"

static struct store_ring_page *ring;
static u32 port, next_id;
static u32 gen_seen;                 /* ring->server_gen when we last (re)connected */
static u32 rewatch;                  /* the store server rebooted: register our watches again */

#define MAX_WATCHES 16
static struct { char path[STORE_MAX_PATH]; char token[16]; store_watch_cb cb; } watches[MAX_WATCHES];
#define MAX_EVENTS 16
static struct { char path[STORE_MAX_PATH]; char token[16]; } events[MAX_EVENTS];
static u32 nevents;

void store_client_init(void)
{
    ring = (struct store_ring_page *)(uptr)start->store_ring;
    port = start->store_port;
    GASSERT(ring && port);
    gen_seen = ring->server_gen;
}

/* A new PrivVM instance reconnected us (privvm_reboot): what it may have lost goes again. */
static int server_rebooted(void)
{
    return READ_ONCE(ring->server_gen) != gen_seen;
}

/* The new server instance: register the watches again, and drop what the failed one left unread
 * on the response ring (possibly garbage: a header no answer ever completes would block us); the
 * request in flight, if any, goes again (the caller). */
static void server_changed(void)
{
    gen_seen = READ_ONCE(ring->server_gen);
    rewatch = 1;
    fence();
    u32 s = READ_ONCE(ring->rsp_start);
    if ((int)(s - ring->rsp_cons) > 0 && (int)(READ_ONCE(ring->rsp_prod) - s) >= 0) {
        ring->rsp_cons = s;
        evtchn_send(port);                /* room on the ring */
    }
}

static int rsp_or_reboot(void *unused);

static int rsp_ready(void *unused)
{
    u32 used = ring_used(READ_ONCE(ring->rsp_prod), ring->rsp_cons);
    struct store_msg h;
    if (used < sizeof(h))
        return 0;
    ring_peek(ring->rsp, STORE_RING_SIZE, ring->rsp_cons, 0, &h, sizeof(h));
    return used >= sizeof(h) + h.len;
}

/* Take one complete message off the response ring (payload truncated to `size`). */
static void take(struct store_msg *h, char *buf, u32 size)
{
    fence();
    ring_peek(ring->rsp, STORE_RING_SIZE, ring->rsp_cons, 0, h, sizeof(*h));
    u32 n = h->len < size ? h->len : size;
    ring_peek(ring->rsp, STORE_RING_SIZE, ring->rsp_cons, sizeof(*h), buf, n);
    fence();
    ring->rsp_cons += sizeof(*h) + h->len;
    evtchn_send(port);                    /* room on the ring: the server may be waiting for it */
}

/* Queue a watch event for store_poll.  Callbacks re-read what they care about, so an event equal to
 * one already queued adds nothing, and when the queue is full the events queued still make every
 * callback re-read after the change that was dropped. */
static void queue_event(const char *payload, u32 len)
{
    u32 plen = strnlen(payload, len);
    const char *token = plen + 1 < len ? payload + plen + 1 : "";
    for (u32 e = 0; e < nevents; e++)
        if (!strncmp(events[e].path, payload, sizeof(events[0].path) - 1) &&
            !strncmp(events[e].token, token, sizeof(events[0].token) - 1))
            return;
    if (nevents == MAX_EVENTS)
        return;
    strlcpy(events[nevents].path, payload, sizeof(events[0].path));
    strlcpy(events[nevents].token, plen + 1 < len ? payload + plen + 1 : "", sizeof(events[0].token));
    nevents++;
}

/* Send a request and wait for its answer; returns the answer's type, payload in buf. */
static u32 request(u32 type, const char *a, const char *b, char *buf, u32 size)
{
    char msg[sizeof(struct store_msg) + STORE_MAX_PAYLOAD];
    u32 la = strnlen(a, STORE_MAX_PATH - 1), lb = b ? strnlen(b, STORE_MAX_VALUE - 1) : 0;
    struct store_msg h = { type, ++next_id, la + 1 + (b ? lb + 1 : 0) };
    memcpy(msg, &h, sizeof(h));
    memcpy(msg + sizeof(h), a, la);
    msg[sizeof(h) + la] = 0;
    if (b) {
        memcpy(msg + sizeof(h) + la + 1, b, lb);
        msg[sizeof(h) + la + 1 + lb] = 0;
    }
    while (!ring_put(ring->req, STORE_RING_SIZE, &ring->req_prod, &ring->req_cons, msg, sizeof(h) + h.len))
        wait_port(port, port_count[port]);
    evtchn_send(port);
    WRITE_ONCE(ring->client_waiting, h.req_id);
    for (;;) {
        guest_wait(rsp_or_reboot, NULL);
        if (server_rebooted()) {          /* resend: the server may never have seen it (or its answer
                                             is lost); it applies a mutation only once (req_id) */
            server_changed();
            while (!ring_put(ring->req, STORE_RING_SIZE, &ring->req_prod, &ring->req_cons, msg, sizeof(h) + h.len))
                wait_port(port, port_count[port]);
            evtchn_send(port);
            continue;
        }
        if (!rsp_ready(NULL))
            continue;
        struct store_msg r;
        char tmp[STORE_MAX_PAYLOAD];
        take(&r, tmp, sizeof(tmp));
        if (r.type == STORE_WATCH_EVENT) {
            queue_event(tmp, r.len < sizeof(tmp) ? r.len : sizeof(tmp));
            continue;
        }
        if (r.req_id != h.req_id)
            continue;
        WRITE_ONCE(ring->client_waiting, 0);
        u32 n = r.len < size ? r.len : size;
        memcpy(buf, tmp, n);
        if (size)
            buf[n < size ? n : size - 1] = 0;
        return r.type;
    }
}

static int rsp_or_reboot(void *unused)
{
    return rsp_ready(NULL) || server_rebooted();
}

int store_read(const char *path, char *buf, u32 size)
{
    u32 t = request(STORE_READ, path, NULL, buf, size);
    return t == STORE_ERROR ? -1 : (int)strlen(buf);
}

int store_write(const char *path, const char *value)
{
    char buf[16];
    return request(STORE_WRITE, path, value, buf, sizeof(buf)) == STORE_ERROR ? -1 : 0;
}

/* Child names of `path`, NUL separated, into buf; -> bytes, or -1. */
int store_directory(const char *path, char *buf, u32 size)
{
    u32 t = request(STORE_DIRECTORY, path, NULL, buf, size);
    if (t == STORE_ERROR)
        return -1;
    u32 n = 0;                            /* request() NUL-terminates at the payload's end */
    while (n + 1 < size && (buf[n] || buf[n + 1]))
        n++;
    return buf[0] ? (int)n + 1 : 0;
}

/* Is a store message waiting (a watch event for store_poll)?  Safe in a guest_wait condition. */
int store_pending(void)
{
    return nevents || READ_ONCE(ring->rsp_prod) != ring->rsp_cons || rewatch || server_rebooted();
}

int store_watch(const char *path, const char *token, store_watch_cb cb)
{
    for (u32 i = 0; i < MAX_WATCHES; i++)
        if (!watches[i].cb) {
            strlcpy(watches[i].path, path, sizeof(watches[i].path));
            strlcpy(watches[i].token, token, sizeof(watches[i].token));
            watches[i].cb = cb;
            char buf[16];
            return request(STORE_WATCH, path, token, buf, sizeof(buf)) == STORE_ERROR ? -1 : 0;
        }
    return -1;
}

/* Drain watch events from the ring and run their callbacks (outside upcall context). */
void store_poll(void)
{
    if (server_rebooted())
        server_changed();
    while (rewatch) {                     /* each registration fires once: callbacks re-read */
        rewatch = 0;
        for (u32 i = 0; i < MAX_WATCHES; i++)
            if (watches[i].cb) {
                char buf[16];
                request(STORE_WATCH, watches[i].path, watches[i].token, buf, sizeof(buf));
            }
    }
    while (rsp_ready(NULL)) {
        struct store_msg r;
        char tmp[STORE_MAX_PAYLOAD];
        take(&r, tmp, sizeof(tmp));
        if (r.type == STORE_WATCH_EVENT)
            queue_event(tmp, r.len < sizeof(tmp) ? r.len : sizeof(tmp));
    }
    for (u32 e = 0; e < nevents; e++)
        for (u32 i = 0; i < MAX_WATCHES; i++)
            if (watches[i].cb && !strcmp(watches[i].token, events[e].token))
                watches[i].cb(events[e].path, events[e].token);
    nevents = 0;
}
