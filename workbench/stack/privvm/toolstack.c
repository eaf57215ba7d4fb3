/* The toolstack: build AppVMs from boot modules (domctl), wire their store channel and ring, give
 * them their configuration, watch their status, tear them down. */
#include "privvm.h"

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

/* Create a paused domain from module `mod` and wire its config-store channel and ring into `a`. */
static int build_domain(struct appvm *a, int mod, u32 hart, u32 index)
{
    struct domctl_create c = { (u32)mod, hart, index, 0 };
    long r = hc_domctl(DOMCTL_create, &c);
    if (r < 0) {
        gprintf("privvm: creating the domain for module %d failed: %d\n", mod, (int)r);
        return (int)r;
    }
    a->domid = c.domid;
    keep_new_client(a);
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
    return 0;
}

static void key_u32(u32 domid, const char *key, u32 v)
{
    char k[STORE_MAX_PATH], val[16];
    appvm_key(k, sizeof(k), domid, key);
    snprintf(val, sizeof(val), "%u", v);
    st_write(0, k, val);
}

/* The driver VM: created first, given every virtio-mmio slot that answers (the hypervisor refuses
 * absent ones), so its drivers can probe the slots the way they would on QEMU. */
u32 dvm_slots;
int create_dvm(u32 reboot)
{
    int mod = module_for(MOD_DVM, SLOT_DVM);
    if (mod < 0)
        return -1;                             /* a system without split I/O */
    memset(&dvm, 0, sizeof(dvm));
    dvm.index = ~0u;
    int r = build_domain(&dvm, mod, ~0u, ~0u);
    if (r < 0) {
        dvm.domid = 0;
        return r;
    }
    dvm_slots = 0;
    for (u32 s = 0; s < VIRTIO_SLOTS; s++) {
        struct domctl_assign_device ad = { dvm.domid, VIRTIO_BASE + s * VIRTIO_STRIDE, VIRTIO_STRIDE, VIRTIO_IRQ(s) };
        if (hc_domctl(DOMCTL_assign_device, &ad) == 0)
            dvm_slots |= 1u << s;
    }
    key_u32(dvm.domid, "io-slots", dvm_slots);
    if (start->io.dvm_restart && !reboot)
        key_u32(dvm.domid, "test-restart", start->io.dvm_restart);
    if (reboot)
        key_u32(dvm.domid, "rebooted", reboot);   /* the new DVM marks when it serves again */
    struct domctl_domid d = { dvm.domid };
    GASSERT(hc_domctl(DOMCTL_unpause, &d) == 0);
    gprintf("privvm: DVM is d%u, virtio slots 0x%02x\n", dvm.domid, dvm_slots);
    keep_save();
    return 0;
}

/* A split device of type "vbd"/"vif" between frontend `fe` and the DVM: both directories (xenbus.h),
 * and the backend's parameters `keys` (name, value pairs).  `moved`: the frontend exists already
 * (a new DVM): leave its state alone, point it at the new backend. */
static void add_device(u32 fe, const char *type, const char *const *keys, u32 nkeys, int moved)
{
    char fdir[STORE_MAX_PATH], bdir[STORE_MAX_PATH], k[STORE_MAX_PATH], v[16];
    snprintf(fdir, sizeof(fdir), "/local/domain/%u/device/%s/0", fe, type);
    snprintf(bdir, sizeof(bdir), "/local/domain/%u/backend/%s/%u", dvm.domid, type, fe);
    for (u32 i = 0; i + 1 < nkeys; i += 2) {
        snprintf(k, sizeof(k), "%s/%s", bdir, keys[i]);
        st_write(0, k, keys[i + 1]);
    }
    snprintf(k, sizeof(k), "%s/frontend", bdir); st_write(0, k, fdir);
    snprintf(v, sizeof(v), "%u", fe);
    snprintf(k, sizeof(k), "%s/frontend-id", bdir); st_write(0, k, v);
    snprintf(k, sizeof(k), "%s/state", bdir); st_write(0, k, "1");
    snprintf(k, sizeof(k), "%s/backend", fdir); st_write(0, k, bdir);
    snprintf(v, sizeof(v), "%u", dvm.domid);
    snprintf(k, sizeof(k), "%s/backend-id", fdir); st_write(0, k, v);
    if (!moved) {
        snprintf(k, sizeof(k), "%s/state", fdir); st_write(0, k, "1");
    }
}

static u32 disk_region(void)
{
    u32 r = start->io.disk_region ? start->io.disk_region : IO_DEFAULT_REGION;
    return r & ~(PAGE_SIZE - 1);
}

/* The devices AppVM a's workload needs (a disk region for `blk`, a network interface for `net`), served
 * by the current DVM; `moved`: the AppVM has them already, from a DVM that was replaced.  -> devices. */
u32 add_devices(struct appvm *a, int moved)
{
    u32 wl = a->cfg.workload < WL_COUNT ? a->cfg.workload : WL_none, i = a->index;
    if (dvm.domid && wl == WL_blk) {
        char st[16], n[16];
        snprintf(st, sizeof(st), "%u", i * (disk_region() / DISK_SECTOR));
        snprintf(n, sizeof(n), "%u", disk_region() / DISK_SECTOR);
        const char *keys[] = { "start", st, "sectors", n };
        add_device(a->domid, "vbd", keys, ARRAY_SIZE(keys), moved);
        return 1;
    }
    if (dvm.domid && wl == WL_net) {
        char v[24];
        snprintf(v, sizeof(v), "02:00:00:00:01:%02x", i);
        const char *keys[] = { "mac", v };
        add_device(a->domid, "vif", keys, ARRAY_SIZE(keys), moved);
        return 1;
    }
    return 0;
}

/* Build AppVM i: domain from its module, store channel and ring, its configuration keys, and the
 * devices its workload needs (a disk region for `blk`, a network interface for `net`). */
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
    if (build_domain(a, mod, a->cfg.hart, i) < 0)
        return -1;
    char k[STORE_MAX_PATH];
    u32 wl = a->cfg.workload < WL_COUNT ? a->cfg.workload : WL_none;
    if (wl == WL_net && start->io.net_count)
        a->cfg.iterations = start->io.net_count;
    appvm_key(k, sizeof(k), a->domid, "workload"); st_write(0, k, workloads[wl].name);
    key_u32(a->domid, "iterations", a->cfg.iterations);
    key_u32(a->domid, "seed", a->cfg.seed);
    key_u32(a->domid, "appvm", i);
    struct gnttab_grant g = { a->domid, (u32)(uptr)keep_shared_page(), 1, 0 };
    if (hc_gnttab(GNTTABOP_grant, &g) == 0)
        key_u32(a->domid, "shared-gref", g.ref);
    add_devices(a, 0);
    struct domctl_domid d = { a->domid };
    GASSERT(hc_domctl(DOMCTL_unpause, &d) == 0);
    gprintf("privvm: AppVM %u is d%u (%s, %u iterations, seed %u)\n", i, a->domid, workloads[wl].name,
            a->cfg.iterations, a->cfg.seed);
    keep_save();
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
    if (dvm.domid && !dvm.done) {             /* the DVM does not count: report its end, recover */
        dvm.info.domid = dvm.domid;
        if (hc_domctl(DOMCTL_getinfo, &dvm.info) == 0 && dvm.info.state >= DOMSTATE_SHUTDOWN) {
            gprintf("privvm: DVM d%u %s: mcause %u at pc 0x%08x, address 0x%08x\n", dvm.domid,
                    state_name(dvm.info.state), dvm.info.crash_cause, dvm.info.crash_pc, dvm.info.crash_tval);
            dvm_failed();
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
        u32 wl = a->cfg.workload < WL_COUNT ? a->cfg.workload : WL_none;
        u32 age = a->info.heartbeat_age == ~0u ? ~0u : a->info.heartbeat_age / (TIMEBASE_HZ / 1000000);
        gprintf("  d%-2u %3u %-9s %-9s %-9s %9d  %s\n", a->domid, i, workloads[wl].name, state_name(a->info.state),
                a->info.vcpu_state < 4 ? vs[a->info.vcpu_state] : "?", age == ~0u ? -1 : (int)age, res);
    }
    if (dvm.domid) {                          /* the driver VM is alive if its heartbeat is recent */
        dvm.info.domid = dvm.domid;
        hc_domctl(DOMCTL_getinfo, &dvm.info);
        u32 age = dvm.info.heartbeat_age;
        gprintf("  d%-2u DVM %-9s %-9s %-9s %9d  heartbeat %s\n", dvm.domid, "io", state_name(dvm.info.state),
                dvm.info.vcpu_state < 4 ? vs[dvm.info.vcpu_state] : "?",
                age == ~0u ? -1 : (int)(age / (TIMEBASE_HZ / 1000000)),
                age == ~0u ? "never" : age < DVM_HEARTBEAT_LIMIT ? "ok" : "late");
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
    st_unwatch_dom(a->domid);                 /* its watches go with it, before what they watch */
    snprintf(k, sizeof(k), "/local/domain/%u", a->domid);
    st_rm(0, k);
    if (dvm.domid) {                          /* its devices' backend directories, if any */
        snprintf(k, sizeof(k), "/local/domain/%u/backend/vbd/%u", dvm.domid, a->domid);
        st_rm(0, k);
        snprintf(k, sizeof(k), "/local/domain/%u/backend/vif/%u", dvm.domid, a->domid);
        st_rm(0, k);
    }
    struct domctl_domid d = { a->domid };
    long r;
    while ((r = hc_domctl(DOMCTL_destroy, &d)) == -EBUSY)   /* its hart has not switched away yet */
        hc_yield();
    keep_save();
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
