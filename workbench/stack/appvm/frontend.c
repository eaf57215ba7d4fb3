/* Frontend side of the split-driver handshake: find the backend the toolstack named, grant our ring
 * page and allocate an event channel for it, and follow its state.  When the backend leaves
 * Connected (a driver VM that was restarted republishes InitWait), frontend_check reconnects with a
 * fresh ring and channel; the caller then resubmits what was in flight. */
#include "frontend.h"

static struct frontend *watched[2];

static void be_changed(const char *path, const char *token)
{
    for (u32 i = 0; i < ARRAY_SIZE(watched); i++)
        if (watched[i] && !strcmp(token, watched[i]->type))
            watched[i]->changed = 1;
}

void frontend_end_grant(long *ref)
{
    if (*ref >= 0) {
        u32 r = (u32)*ref;
        hc_gnttab(GNTTABOP_end, &r);              /* fails only while still mapped: then it leaks */
    }
    *ref = -1;
}

int frontend_init(struct frontend *f, const char *type, void *ring, void (*regrant)(struct frontend *))
{
    memset(f, 0, sizeof(*f));
    f->type = type;
    f->ring = ring;
    f->ring_ref = -1;
    f->regrant = regrant;
    snprintf(f->dir, sizeof(f->dir), "/local/domain/%u/device/%s/0", my_domid, type);
    if (xb_read_str(f->dir, "backend", f->be_dir, sizeof(f->be_dir)) < 0 || !f->be_dir[0])
        return -1;
    for (u32 i = 0; i < ARRAY_SIZE(watched); i++)
        if (!watched[i]) {
            watched[i] = f;
            break;
        }
    char w[STORE_MAX_PATH];
    snprintf(w, sizeof(w), "%s/state", f->be_dir);
    store_watch(w, type, be_changed);
    return frontend_connect(f);
}

static int store_event(void *unused) { return store_pending(); }

/* Wait until the backend's state is `want` (or, with want == XB_CLOSED, gone); -> 0, or -1 if
 * the backend gave up on this device (it wrote an "error" key and went Closed). */
static int wait_backend(struct frontend *f, u32 want)
{
    char err[STORE_MAX_VALUE];
    for (;;) {
        u32 s = xb_state(f->be_dir);
        if (s == want || (want == XB_CLOSED && s == XB_UNKNOWN))
            return 0;
        if (s == XB_CLOSED && xb_read_str(f->be_dir, "error", err, sizeof(err)) == 0 && err[0]) {
            gprintf("appvm: %s backend: %s\n", f->type, err);
            return -1;
        }
        guest_wait(store_event, NULL);
        store_poll();
    }
}

int frontend_connect(struct frontend *f)
{
    f->connected = 0;
    xb_set_state(f->dir, XB_INITIALISING);
    if (wait_backend(f, XB_INITWAIT) < 0)
        return -1;
    if (xb_read_u32(f->dir, "backend-id", &f->be_domid) < 0)
        return -1;
    if (f->port)
        evtchn_close(f->port);
    long p = evtchn_alloc_unbound(f->be_domid);
    GASSERT(p > 0);
    f->port = p;
    frontend_end_grant(&f->ring_ref);
    memset(f->ring, 0, PAGE_SIZE);
    f->ring_ref = gnttab_grant_page(f->be_domid, f->ring, 0);
    GASSERT(f->ring_ref >= 0);
    f->regrant(f);
    xb_write_u32(f->dir, "ring-ref", (u32)f->ring_ref);
    xb_write_u32(f->dir, "event-channel", f->port);
    f->changed = 0;
    xb_set_state(f->dir, XB_INITIALISED);
    if (wait_backend(f, XB_CONNECTED) < 0)
        return -1;
    xb_set_state(f->dir, XB_CONNECTED);
    f->connected = 1;
    return 0;
}

int frontend_check(struct frontend *f)
{
    if (!f->changed)
        return 0;
    f->changed = 0;
    if (xb_state(f->be_dir) == XB_CONNECTED)
        return 0;
    char be[STORE_MAX_PATH];                  /* a new driver VM: the toolstack moved our backend */
    if (xb_read_str(f->dir, "backend", be, sizeof(be)) == 0 && be[0] && strcmp(be, f->be_dir)) {
        strlcpy(f->be_dir, be, sizeof(f->be_dir));
        char w[STORE_MAX_PATH];
        snprintf(w, sizeof(w), "%s/state", f->be_dir);
        store_watch(w, f->type, be_changed);
        gprintf("appvm: %s backend moved to %s\n", f->type, f->be_dir);
    }
    gprintf("appvm: %s backend left Connected: reconnecting\n", f->type);
    f->reconnects++;
    if (frontend_connect(f) < 0)
        guest_panic("frontend: the backend came back unable to serve us");
    return 1;
}

void frontend_close(struct frontend *f)
{
    if (!f->connected)
        return;
    xb_set_state(f->dir, XB_CLOSING);
    wait_backend(f, XB_CLOSED);
    frontend_end_grant(&f->ring_ref);
    evtchn_close(f->port);
    f->port = 0;
    f->connected = 0;
    xb_set_state(f->dir, XB_CLOSED);
}
