/* Workloads that misbehave on purpose, for the isolation and robustness tests.
 * `pmp`: computes a little, then writes where it must not (seed % 3: 0 the PrivVM's slot, 1 the
 *   hypervisor's data, 2 the pristine copy): the hypervisor must kill only this domain.
 * `devpmp`: the same against the devices: writes 0 (reset) to the status register of every
 *   virtio-mmio slot, starting at slot 7 (where the disk is); the first write must kill it.  `badcall`: every hypercall with invalid arguments must return the expected
 *   error code; the record's checksum sums them, status is ok only if all matched. */
#include "appvm.h"
#include "physdev.h"

void wl_pmp(const struct wl_params *p)
{
    u32 x = p->seed | 1;
    for (u32 it = 0; it < p->iterations; it++) {
        x = xorshift(x);
        wl_progress = it + 1;
    }
    wl_result.iterations = p->iterations;
    static const char *what[] = { "the PrivVM's slot", "the hypervisor", "the pristine copy" };
    static const u32 where[] = { SLOT_ADDR(SLOT_PRIVVM) + SLOT_IMAGE_OFF, HV_BASE + 0x1000, PRISTINE_BASE + 0x100 };
    u32 t = p->seed % 3;
    gprintf("appvm %u: writing into %s at 0x%08x\n", p->appvm, what[t], where[t]);
    *(volatile u32 *)(uptr)where[t] = x;
    gprintf("appvm %u: the write went through: isolation is broken\n", p->appvm);
    wl_result.status = WL_FAIL;
}

void wl_devpmp(const struct wl_params *p)
{
    wl_result.iterations = p->iterations;
    for (int s = VIRTIO_SLOTS - 1; s >= 0; s--) {
        u32 a = VIRTIO_BASE + (u32)s * VIRTIO_STRIDE + 0x70;
        gprintf("appvm %u: resetting the virtio device at 0x%08x\n", p->appvm, a);
        *(volatile u32 *)(uptr)a = 0;
        wl_progress = VIRTIO_SLOTS - (u32)s;
    }
    gprintf("appvm %u: the write went through: isolation is broken\n", p->appvm);
    wl_result.status = WL_FAIL;
}

static u32 nchecks, nbad, sum;

static void expect(const char *what, long got, long want)
{
    nchecks++;
    sum = mix(sum, (u32)got);
    if (got != want) {
        nbad++;
        gprintf("badcall: %s returned %d, expected %d\n", what, (int)got, (int)want);
    }
    wl_progress = nchecks;
}

static char buf[16] = "0123456789abcde";

void wl_badcall(const struct wl_params *p)
{
    const long HV = HV_BASE, OTHER = SLOT_ADDR(SLOT_PRIVVM) + SLOT_IMAGE_OFF;
    sum = 0x811C9DC5u;
    expect("unknown hypercall", hcall6(99, 0, 0, 0, 0, 0, 0), -ENOSYS);
    expect("hypercall ~0", hcall6(-1, 0, 0, 0, 0, 0, 0), -ENOSYS);
    expect("console hv buffer", hv_console_io(CONSOLEIO_write, 8, HV, 0, 0, 0), -EFAULT);
    expect("console other domain", hv_console_io(CONSOLEIO_write, 8, OTHER, 0, 0, 0), -EFAULT);
    expect("console huge", hv_console_io(CONSOLEIO_write, 100000, (long)buf, 0, 0, 0), -EINVAL);
    expect("console wrap", hv_console_io(CONSOLEIO_write, 200, -100, 0, 0, 0), -EFAULT);
    expect("console bad cmd", hv_console_io(7, 1, (long)buf, 0, 0, 0), -EINVAL);
    expect("sched bad cmd", hv_sched_op(99, 0, 0, 0, 0, 0), -EINVAL);
    expect("poll port 0", hv_sched_op(SCHEDOP_poll, 0, 0, 0, 0, 0), -EINVAL);
    expect("poll port 999", hv_sched_op(SCHEDOP_poll, 999, 0, 0, 0, 0), -EINVAL);
    expect("shutdown bad reason", hv_sched_op(SCHEDOP_shutdown, 77, 0, 0, 0, 0), -EINVAL);
    expect("evtchn bad cmd", hc_evtchn(99, buf), -EINVAL);
    expect("evtchn hv pointer", hc_evtchn(EVTCHNOP_send, (void *)HV), -EFAULT);
    expect("evtchn misaligned", hc_evtchn(EVTCHNOP_send, buf + 1), -EFAULT);
    struct evtchn_port ep = { 0 };
    expect("send port 0", hc_evtchn(EVTCHNOP_send, &ep), -EINVAL);
    ep.port = 1000;
    expect("send port 1000", hc_evtchn(EVTCHNOP_send, &ep), -EINVAL);
    ep.port = NR_EVTCHN - 1;
    expect("send free port", hc_evtchn(EVTCHNOP_send, &ep), -EINVAL);
    expect("close free port", hc_evtchn(EVTCHNOP_close, &ep), -EINVAL);
    ep.port = 0;
    expect("unmask port 0", hc_evtchn(EVTCHNOP_unmask, &ep), -EINVAL);
    struct evtchn_alloc_unbound au = { 0, 0, 0 };
    expect("alloc in other domain", hc_evtchn(EVTCHNOP_alloc_unbound, &au), -EPERM);
    au = (struct evtchn_alloc_unbound){ DOMID_SELF, 1000, 0 };
    expect("alloc for bad remote", hc_evtchn(EVTCHNOP_alloc_unbound, &au), -EINVAL);
    struct evtchn_bind_interdomain bi = { 77, 1, 0 };
    expect("bind to no domain", hc_evtchn(EVTCHNOP_bind_interdomain, &bi), -ESRCH);
    bi = (struct evtchn_bind_interdomain){ 0, 1, 0 };
    expect("bind to foreign port", hc_evtchn(EVTCHNOP_bind_interdomain, &bi), -EINVAL);
    struct evtchn_bind_virq bv = { 99, 0 };
    expect("bind bad virq", hc_evtchn(EVTCHNOP_bind_virq, &bv), -EINVAL);
    bv.virq = VIRQ_DOM_EXC;
    expect("bind dom_exc unprivileged", hc_evtchn(EVTCHNOP_bind_virq, &bv), -EPERM);
    struct gnttab_grant gg = { 0, (u32)HV, 0, 0 };
    expect("grant hv page", hc_gnttab(GNTTABOP_grant, &gg), -EINVAL);
    gg.addr = start->slot_base + 0x2004;
    expect("grant unaligned", hc_gnttab(GNTTABOP_grant, &gg), -EINVAL);
    gg = (struct gnttab_grant){ 99, start->slot_base + 0x3000, 0, 0 };
    expect("grant to no domain", hc_gnttab(GNTTABOP_grant, &gg), -EINVAL);
    struct gnttab_map gm = { 0, 5, 0, 0 };
    expect("map ungranted", hc_gnttab(GNTTABOP_map, &gm), -EINVAL);
    gm.dom = 77;
    expect("map no domain", hc_gnttab(GNTTABOP_map, &gm), -ESRCH);
    u32 h = 99;
    expect("unmap bad handle", hc_gnttab(GNTTABOP_unmap, &h), -EINVAL);
    h = GREF_STORE;
    expect("end store grant", hc_gnttab(GNTTABOP_end, &h), -EINVAL);
    struct gnttab_copy gc = { { (u32)HV, DOMID_SELF, 0 }, { (u32)(uptr)buf, DOMID_SELF, 0 }, 4, 0 };
    expect("copy from hv", hc_gnttab(GNTTABOP_copy, &gc), -EINVAL);
    gc = (struct gnttab_copy){ { (u32)(uptr)buf, DOMID_SELF, 0 }, { 3, 0, 0 }, 4, 0 };
    expect("copy to ungranted ref", hc_gnttab(GNTTABOP_copy, &gc), -EINVAL);
    gc = (struct gnttab_copy){ { (u32)(uptr)buf, DOMID_SELF, 0 }, { (u32)(uptr)buf, DOMID_SELF, 0 }, 5000, 0 };
    expect("copy too long", hc_gnttab(GNTTABOP_copy, &gc), -EINVAL);
    expect("grant bad cmd", hc_gnttab(42, buf), -EINVAL);
    expect("multicall hv pointer", hv_multicall(HV, 1, 0, 0, 0, 0), -EFAULT);
    expect("multicall too many", hv_multicall((long)buf, 1000, 0, 0, 0, 0), -EINVAL);
    struct multicall_entry mc[3] = { { HC_multicall, { 0 }, 0 }, { 99, { 0 }, 0 }, { HC_iret, { 0 }, 0 } };
    expect("multicall of bad ops", hv_multicall((long)mc, 3, 0, 0, 0, 0), 0);
    expect("nested multicall", mc[0].result, -EINVAL);
    expect("unknown op in batch", mc[1].result, -ENOSYS);
    expect("iret in batch", mc[2].result, -EINVAL);
    struct domctl_getinfo gi = { 0 };
    expect("domctl unprivileged", hc_domctl(DOMCTL_getinfo, &gi), -EPERM);
    expect("set_callbacks hv", hv_set_callbacks(HV, 0, 0, 0, 0, 0), -EINVAL);
    expect("set_callbacks misaligned", hv_set_callbacks(start->slot_base + 0x2002, 0, 0, 0, 0, 0), -EINVAL);
    expect("physdev bad cmd", hv_physdev_op(9, (long)buf, 0, 0, 0, 0), -EINVAL);
    expect("physdev eoi hv pointer", hv_physdev_op(PHYSDEVOP_eoi, HV, 0, 0, 0, 0), -EFAULT);
    expect("eoi of an irq not ours", hc_physdev_eoi(8), -EPERM);
    expect("eoi of irq 0", hc_physdev_eoi(0), -EPERM);
    expect("bind pirq not ours", evtchn_bind_pirq(8), -EPERM);
    expect("bind pirq 999", evtchn_bind_pirq(999), -EPERM);
    expect("timer far future", hc_set_timer(~0ull >> 1), 0);
    expect("timer cancel", hc_set_timer(0), 0);
    expect("still alive", hv_version(0, 0, 0, 0, 0, 0), HV_VERSION);
    wl_result.iterations = nchecks;
    wl_result.checksum = sum;
    wl_result.status = nbad ? WL_FAIL : WL_OK;
}
