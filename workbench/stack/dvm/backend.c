/* The backend half of the split-driver handshake (xenbus.h), shared by blkback and netback: map
 * the frontend's ring page, bind its event channel, and move our state as the frontend's changes. */
#include "dvm.h"

int backend_connect(struct backend *b)
{
    u32 ref, port;
    if (xb_read_u32(b->fe_dir, "ring-ref", &ref) < 0 || xb_read_u32(b->fe_dir, "event-channel", &port) < 0)
        return -1;
    struct gnttab_map m = { b->fe_domid, ref, 0, 0 };
    if (hc_gnttab(GNTTABOP_map, &m) < 0)
        return -1;
    long p = evtchn_bind_interdomain(b->fe_domid, port);
    if (p < 0) {
        struct gnttab_unmap u = { m.handle };
        hc_gnttab(GNTTABOP_unmap, &u);
        return -1;
    }
    b->port = p;
    b->port_seen = port_count[p] - 1;         /* serve once right away */
    b->ring_handle = m.handle;
    fence();
    b->ring = (void *)(uptr)m.addr;
    return 0;
}

void backend_disconnect(struct backend *b)
{
    if (!b->ring)
        return;
    b->ring = NULL;
    struct gnttab_unmap u = { b->ring_handle };
    hc_gnttab(GNTTABOP_unmap, &u);
    evtchn_close(b->port);
    b->port = 0;
}

static void set_state(struct backend *b, u32 s)
{
    b->state = s;
    xb_set_state(b->dir, s);
}

/* Start serving frontend domain `fe`, found under the backend directory `path`: find where its
 * frontend lives and watch its state.  -1 (and the slot stays free) when that is not published yet. */
int backend_adopt(struct backend *b, const char *path, u32 fe)
{
    b->used = 1;
    b->fe_domid = fe;
    snprintf(b->dir, sizeof(b->dir), "%s/%u", path, fe);
    if (xb_read_str(b->dir, "frontend", b->fe_dir, sizeof(b->fe_dir)) < 0) {
        b->used = 0;
        return -1;
    }
    char w[STORE_MAX_PATH];
    snprintf(w, sizeof(w), "%s/state", b->fe_dir);
    store_watch(w, "be", dvm_store_changed);
    return 0;
}

/* Forget the connection as a restarted driver VM would: the next backend_update republishes
 * InitWait, which tells the frontend to connect again. */
void backend_restart(struct backend *b, void (*reset)(struct backend *))
{
    backend_disconnect(b);
    reset(b);
    b->state = XB_UNKNOWN;
}

/* Called whenever the store may have changed.  `publish` checks and loads the device's parameters
 * (-1: this device cannot be served); `reset` forgets per-connection state. */
void backend_update(struct backend *b, int (*publish)(struct backend *), void (*reset)(struct backend *))
{
    u32 fe = xb_state(b->fe_dir);
    int fresh = b->state == XB_UNKNOWN || b->state == XB_INITIALISING;
    if (fresh || (b->state == XB_CLOSED && (fe == XB_INITIALISING || fe == XB_INITIALISED))) {
        if (publish(b) < 0) {               /* tell the frontend not to wait for us */
            if (b->state != XB_CLOSED) {
                char k[STORE_MAX_PATH];
                snprintf(k, sizeof(k), "%s/error", b->dir);
                store_write(k, "cannot serve this device");
                set_state(b, XB_CLOSED);
            }
            return;
        }
        if (b->state == XB_CLOSED) {            /* an earlier error no longer holds */
            char k[STORE_MAX_PATH];
            snprintf(k, sizeof(k), "%s/error", b->dir);
            store_write(k, "");
        }
        reset(b);
        set_state(b, XB_INITWAIT);
    }
    if (b->state == XB_INITWAIT && fe == XB_INITIALISED) {
        reset(b);
        if (backend_connect(b) == 0) {
            set_state(b, XB_CONNECTED);
            gprintf("dvm: %s connected\n", b->dir);
        }
    } else if (b->state == XB_CONNECTED && fe != XB_INITIALISED && fe != XB_CONNECTED) {
        backend_disconnect(b);
        reset(b);
        set_state(b, XB_CLOSED);
        gprintf("dvm: %s closed\n", b->dir);
    }
}

/* Copy n bytes and read the copy back against the source with other code than memcpy's: data a
 * failing DVM would pass on corrupt (to the disk, an AppVM, the wire) stops it here instead, before
 * it answers, so the request goes again to the next instance (the frontend's shadow copy). */
void copy_verified(void *dst, const void *src, u32 n)
{
    if (copy_checked(dst, src, n))
        guest_panic("copy_verified: the copy does not match its source");
}
