/* The toolstack: build AppVMs from boot modules (domctl), wire their store channel and ring, give
 * them their configuration, watch their status, tear them down. */
#include "privvm.h"

static const char *wl_names[] = WORKLOAD_NAMES;

int module_for(u32 kind, u32 slot)
{
    for (u32 i = 0; i < start->nmodules; i++)
        if (start->module[i].kind == kind && start->module[i].slot == slot)
            return (int)i;
    return -1;
}

void appvm_key(char *buf, u32 size, u32 domid, const char *key)
{
    snprintf(buf, size, "/local/domain/%u/%s", domid, key);
}

/* Build AppVM i: domain from its module, store channel and ring, its configuration keys. */
int create_appvm(u32 i, const struct appvm_cfg *cfg)
{
    struct appvm *a = &apps[i];
    memset(a, 0, sizeof(*a));
    a->index = i;
    a->cfg = *cfg;
    int mod = module_for(MOD_APPVM, SLOT_APPVM0 + i);
    if (mod < 0) {
        gprintf("privvm: no boot module for AppVM %u (slot %u)\n", i, SLOT_APPVM0 + i);
        return -1;
    }
    struct domctl_create c = { (u32)mod, a->cfg.hart, i, 0 };
    long r = hc_domctl(DOMCTL_create, &c);
    if (r < 0) {
        gprintf("privvm: creating AppVM %u failed: %d\n", i, (int)r);
        return -1;
    }
    a->domid = c.domid;
    struct evtchn_alloc_unbound u = { a->domid, 0, 0 };
    GASSERT(hc_evtchn(EVTCHNOP_alloc_unbound, &u) == 0);
    long lp = evtchn_bind_interdomain(a->domid, u.port);
    GASSERT(lp > 0);
    a->store_port = lp;
    struct domctl_set_store ss = { a->domid, u.port };
    GASSERT(hc_domctl(DOMCTL_set_store, &ss) == 0);
    struct gnttab_map m = { a->domid, GREF_STORE, 0, 0 };
    GASSERT(hc_gnttab(GNTTABOP_map, &m) == 0);
    a->ring = (struct store_ring_page *)(uptr)m.addr;
    a->ring_handle = m.handle;
    char k[STORE_MAX_PATH], v[24];
    u32 wl = a->cfg.workload < ARRAY_SIZE(wl_names) ? a->cfg.workload : 0;
    appvm_key(k, sizeof(k), a->domid, "workload"); st_write(0, k, wl_names[wl]);
    snprintf(v, sizeof(v), "%u", a->cfg.iterations);
    appvm_key(k, sizeof(k), a->domid, "iterations"); st_write(0, k, v);
    snprintf(v, sizeof(v), "%u", a->cfg.seed);
    appvm_key(k, sizeof(k), a->domid, "seed"); st_write(0, k, v);
    snprintf(v, sizeof(v), "%u", i);
    appvm_key(k, sizeof(k), a->domid, "appvm"); st_write(0, k, v);
    struct gnttab_grant g = { a->domid, (u32)(uptr)shared_page, 1, 0 };
    if (hc_gnttab(GNTTABOP_grant, &g) == 0) {
        snprintf(v, sizeof(v), "%u", g.ref);
        appvm_key(k, sizeof(k), a->domid, "shared-gref"); st_write(0, k, v);
    }
    struct domctl_domid d = { a->domid };
    GASSERT(hc_domctl(DOMCTL_unpause, &d) == 0);
    gprintf("privvm: AppVM %u is d%u (%s, %u iterations, seed %u)\n", i, a->domid, wl_names[wl],
            a->cfg.iterations, a->cfg.seed);
    return 0;
}

static const char *state_name(u32 s)
{
    static const char *n[] = { "paused", "running", "shutdown", "crashed" };
    return s < 4 ? n[s] : "?";
}

/* Refresh every AppVM's status; report newly finished ones.  Returns how many are still alive. */
u32 check_domains(void)
{
    u32 alive = 0;
    for (u32 i = 0; i < napps; i++) {
        struct appvm *a = &apps[i];
        if (a->done)
            continue;
        a->info.domid = a->domid;
        if (hc_domctl(DOMCTL_getinfo, &a->info) < 0)
            continue;
        if (a->info.state == DOMSTATE_SHUTDOWN || a->info.state == DOMSTATE_CRASHED) {
            a->done = 1;
            if (a->info.state == DOMSTATE_CRASHED)
                gprintf("privvm: d%u (AppVM %u) crashed: mcause %u at pc 0x%08x, address 0x%08x\n", a->domid, i,
                        a->info.crash_cause, a->info.crash_pc, a->info.crash_tval);
        } else {
            alive++;
        }
    }
    return alive;
}

/* The per-domain status view: state, vCPU, heartbeat age, and the result the AppVM stored. */
void status_view(void)
{
    static const char *vs[] = { "runnable", "running", "blocked", "down" };
    gprintf("privvm: status view\n");
    gprintf("  dom app workload  state     vcpu      hb-age-us  result\n");
    for (u32 i = 0; i < napps; i++) {
        struct appvm *a = &apps[i];
        a->info.domid = a->domid;
        hc_domctl(DOMCTL_getinfo, &a->info);
        char k[STORE_MAX_PATH], res[STORE_MAX_VALUE];
        appvm_key(k, sizeof(k), a->domid, "result");
        if (st_read(k, res, sizeof(res)) < 0)
            strlcpy(res, "-", sizeof(res));
        u32 wl = a->cfg.workload < ARRAY_SIZE(wl_names) ? a->cfg.workload : 0;
        u32 age = a->info.heartbeat_age == ~0u ? ~0u : a->info.heartbeat_age / (TIMEBASE_HZ / 1000000);
        gprintf("  d%-2u %3u %-9s %-9s %-9s %9d  %s\n", a->domid, i, wl_names[wl], state_name(a->info.state),
                a->info.vcpu_state < 4 ? vs[a->info.vcpu_state] : "?", age == ~0u ? -1 : (int)age, res);
    }
}

void start_appvm(struct appvm *a)
{
    char k[STORE_MAX_PATH];
    appvm_key(k, sizeof(k), a->domid, "control");
    st_write(0, k, "go");
}

/* Undo create_appvm for a finished AppVM: our mapping and channels, then the domain itself. */
int destroy_appvm(struct appvm *a)
{
    struct gnttab_unmap u = { a->ring_handle };
    GASSERT(hc_gnttab(GNTTABOP_unmap, &u) == 0);
    a->ring = NULL;
    struct evtchn_port p = { a->store_port };
    hc_evtchn(EVTCHNOP_close, &p);
    if (a->ping_port) {
        p.port = a->ping_port;
        hc_evtchn(EVTCHNOP_close, &p);
    }
    char k[STORE_MAX_PATH];
    snprintf(k, sizeof(k), "/local/domain/%u", a->domid);
    st_rm(0, k);
    struct domctl_domid d = { a->domid };
    long r;
    while ((r = hc_domctl(DOMCTL_destroy, &d)) == -EBUSY)   /* its hart has not switched away yet */
        hc_yield();
    return (int)r;
}

/* The toolstack's own check that domctl rejects bad arguments (AppVMs cannot call it at all). */
void domctl_selftest(void)
{
    struct domctl_create c = { 99, ~0u, 0, 0 };
    struct domctl_domid d = { 77 };
    struct domctl_getinfo gi = { 0 };
    u32 privmod = (u32)module_for(MOD_PRIVVM, SLOT_PRIVVM);
    struct { const char *what; long got, want; } t[] = {
        { "bad cmd", hc_domctl(42, &d), -EINVAL },
        { "bad pointer", hc_domctl(DOMCTL_getinfo, (void *)(uptr)HV_BASE), -EFAULT },
        { "misaligned", hc_domctl(DOMCTL_getinfo, (u8 *)&gi + 2), -EFAULT },
        { "no such domain", hc_domctl(DOMCTL_pause, &d), -ESRCH },
        { "bad module", hc_domctl(DOMCTL_create, &c), -EINVAL },
        { "slot in use", (c.module = privmod, hc_domctl(DOMCTL_create, &c)), -EBUSY },
        { "bad hart", (c.hart = 99, hc_domctl(DOMCTL_create, &c)), -EINVAL },
        { "destroy self", (d.domid = my_domid, hc_domctl(DOMCTL_destroy, &d)), -EPERM },
        { "pause self", hc_domctl(DOMCTL_pause, &d), -EINVAL },
        { "getinfo self", hc_domctl(DOMCTL_getinfo, &gi), 0 },
    };
    u32 bad = 0;
    for (u32 i = 0; i < ARRAY_SIZE(t); i++)
        if (t[i].got != t[i].want) {
            gprintf("privvm: domctl %s returned %d, expected %d\n", t[i].what, (int)t[i].got, (int)t[i].want);
            bad++;
        }
    gprintf("privvm: domctl argument checks: %u of %u ok\n", (u32)ARRAY_SIZE(t) - bad, (u32)ARRAY_SIZE(t));
}
