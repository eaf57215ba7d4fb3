/* Small helpers every split driver uses (frontends in the AppVMs, backends in the driver VM):
 * reading and writing the keys of a store directory, the connection state (xenbus.h), and thin
 * wrappers over the grant, event-channel and physdev hypercalls. */
#include "guest.h"
#include "xenbus.h"
#include "physdev.h"
#include "store.h"

int xb_read_str(const char *dir, const char *key, char *buf, u32 size)
{
    char path[STORE_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return store_read(path, buf, size) < 0 ? -1 : 0;
}

int xb_read_u32(const char *dir, const char *key, u32 *val)
{
    char v[24];
    if (xb_read_str(dir, key, v, sizeof(v)) < 0 || !v[0])
        return -1;
    *val = atou(v);
    return 0;
}

int xb_write_u32(const char *dir, const char *key, u32 val)
{
    char path[STORE_MAX_PATH], v[16];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(v, sizeof(v), "%u", val);
    return store_write(path, v);
}

u32 xb_state(const char *dir)
{
    u32 s;
    return xb_read_u32(dir, "state", &s) < 0 ? XB_UNKNOWN : s;
}

int xb_set_state(const char *dir, u32 state)
{
    return xb_write_u32(dir, "state", state);
}

long hc_physdev_eoi(u32 irq)
{
    struct physdev_eoi e = { irq };
    return hv_physdev_op(PHYSDEVOP_eoi, (long)&e, 0, 0, 0, 0);
}

long evtchn_bind_pirq(u32 pirq)
{
    struct evtchn_bind_pirq b = { pirq, 0 };
    long r = hc_evtchn(EVTCHNOP_bind_pirq, &b);
    return r < 0 ? r : (long)b.port;
}

long evtchn_close(u32 port)
{
    struct evtchn_port p = { port };
    return hc_evtchn(EVTCHNOP_close, &p);
}

long gnttab_grant_page(u32 domid, void *page, int readonly)
{
    struct gnttab_grant g = { domid, (u32)(uptr)page, readonly ? 1 : 0, 0 };
    long r = hc_gnttab(GNTTABOP_grant, &g);
    return r < 0 ? r : (long)g.ref;
}

long gnttab_copy_to(u32 domid, u32 ref, u32 off, const void *src, u32 len)
{
    struct gnttab_copy c = { { (u32)(uptr)src, DOMID_SELF, 0 }, { ref, domid, off }, len, 0 };
    return hc_gnttab(GNTTABOP_copy, &c);
}

long gnttab_copy_from(u32 domid, u32 ref, u32 off, void *dst, u32 len)
{
    struct gnttab_copy c = { { ref, domid, off }, { (u32)(uptr)dst, DOMID_SELF, 0 }, len, 0 };
    return hc_gnttab(GNTTABOP_copy, &c);
}
