/* The config-store server: requests from each AppVM arrive on the request ring of its store page
 * (grant-mapped here), answers and watch events go back on the response ring, each followed by an
 * event on the store channel. */
#include "privvm.h"

static void put_response(struct appvm *a, u32 type, u32 req_id, const char *payload, u32 len)
{
    struct store_msg h = { type, req_id, len };
    char msg[sizeof(h) + STORE_MAX_PAYLOAD];
    memcpy(msg, &h, sizeof(h));
    memcpy(msg + sizeof(h), payload, len);
    if (!ring_put(a->ring->rsp, STORE_RING_SIZE, &a->ring->rsp_prod, &a->ring->rsp_cons, msg, sizeof(h) + len))
        gprintf("privvm: store ring of d%u full, message dropped\n", a->domid);
}

/* A kept store entry did not copy right: this instance is failing; crash now (the hypervisor
 * reboots it) rather than spoil the other copy too. */
void store_corrupt(const char *what)
{
    gprintf("privvm: kept store %s does not read back right\n", what);
    guest_panic("store_corrupt");
}

/* Watch event for domain `dom` (0 = ourselves: the ping-port watch). */
void store_fire(u32 dom, const char *path, const char *token)
{
    if (dom == 0) {
        const char *pre = "/local/domain/";
        u32 n = strlen(pre), pl = strlen(path);
        if (strncmp(path, pre, n) || pl < 10 || strcmp(path + pl - 10, "/ping-port"))
            return;
        struct appvm *a = app_by_domid(atou(path + n));
        char val[16];
        if (!a || a->ping_port || st_read(path, val, sizeof(val)) <= 0)
            return;
        long p = evtchn_bind_interdomain(a->domid, atou(val));
        if (p > 0)
            a->ping_port = p, a->ping_seen = port_count[p];
        return;
    }
    struct appvm *a = app_by_domid(dom);
    if (!a || !a->ring)                       /* being torn down (or reconnected) */
        return;
    char buf[STORE_MAX_PAYLOAD];
    u32 lp = strnlen(path, STORE_MAX_PATH - 1), lt = strnlen(token, 15);
    memcpy(buf, path, lp);
    buf[lp] = 0;
    memcpy(buf + lp + 1, token, lt);
    buf[lp + 1 + lt] = 0;
    put_response(a, STORE_WATCH_EVENT, 0, buf, lp + lt + 2);
    evtchn_send(a->store_port);
}

static void handle_request(struct appvm *a, struct store_msg *h, char *p)
{
    p[h->len] = 0;
    const char *arg2 = p + strnlen(p, h->len) + 1;
    if (arg2 > p + h->len)
        arg2 = p + h->len;
    char out[STORE_MAX_PAYLOAD];
    int r;
    int mutation = h->type == STORE_WRITE || h->type == STORE_RM;
    if (mutation && keep_seen_mutation(a, h->req_id, p, h->type == STORE_WRITE ? arg2 : NULL)) {
        /* resent after a PrivVM reboot, and applied before it: answer, do not apply again */
        put_response(a, h->type, h->req_id, "OK", 3);
        return;
    }
    switch (h->type) {
    case STORE_READ: r = st_read(p, out, STORE_MAX_VALUE); break;
    case STORE_WRITE: r = st_write(a->domid, p, arg2); break;
    case STORE_RM: r = st_rm(a->domid, p); break;
    case STORE_DIRECTORY: r = st_directory(p, out, sizeof(out)); break;
    case STORE_WATCH: r = st_watch(a->domid, p, arg2); break;
    case STORE_UNWATCH: r = st_unwatch(a->domid, p, arg2); break;
    default: r = -EINVAL; break;
    }
    if (mutation && r >= 0)
        keep_note_mutation(a, h->req_id);
    if (r < 0) {
        const char *e = r == -ENOENT ? "ENOENT" : r == -EPERM ? "EACCES" : r == -ENOSPC ? "ENOSPC" : "EINVAL";
        put_response(a, STORE_ERROR, h->req_id, e, strlen(e) + 1);
    } else if (h->type == STORE_READ) {
        put_response(a, h->type, h->req_id, out, r + 1);
    } else if (h->type == STORE_DIRECTORY) {
        put_response(a, h->type, h->req_id, out, r);
    } else {
        put_response(a, h->type, h->req_id, "OK", 3);
    }
}

/* Serve every complete request on a's ring, as long as there is room for the answers. */
void serve_ring(struct appvm *a)
{
    struct store_ring_page *r = a->ring;
    int served = 0;
    for (;;) {
        u32 used = ring_used(READ_ONCE(r->req_prod), r->req_cons);
        struct store_msg h;
        if (used < sizeof(h))
            break;
        fence();
        ring_peek(r->req, STORE_RING_SIZE, r->req_cons, 0, &h, sizeof(h));
        if (h.len > STORE_MAX_PAYLOAD) {      /* a broken client: drop what it sent */
            r->req_cons = r->req_prod;
            break;
        }
        if (used < sizeof(h) + h.len)
            break;
        if (STORE_RING_SIZE - ring_used(r->rsp_prod, READ_ONCE(r->rsp_cons)) < 2 * sizeof(h) + STORE_MAX_PAYLOAD)
            break;                          /* no room for the answer yet: the client will drain */
        char p[STORE_MAX_PAYLOAD + 1];
        ring_peek(r->req, STORE_RING_SIZE, r->req_cons, sizeof(h), p, h.len);
        fence();
        r->req_cons += sizeof(h) + h.len;
        handle_request(a, &h, p);
        served = 1;
    }
    if (served)
        evtchn_send(a->store_port);
}
