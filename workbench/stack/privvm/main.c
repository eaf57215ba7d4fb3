/* The PrivVM's main loop.  The PrivVM creates the AppVMs of the system configuration
 * (toolstack.c), serves the configuration store to them (store_server.c), answers their
 * event-channel pings, watches domain exits (VIRQ_DOM_EXC), and when every AppVM has finished prints
 * a status view and powers the system off. */
#include "privvm.h"
#include "console.h"

struct appvm apps[MAX_APPVMS];
u32 napps, dom_exc_port, dom_exc_seen;
static u32 timer_port, timer_seen;

struct appvm dvm;

struct appvm *client(u32 k)
{
    if (k < napps)
        return &apps[k];
    return k == napps && dvm.domid ? &dvm : NULL;
}

struct appvm *app_by_domid(u32 domid)
{
    for (u32 k = 0; k <= napps; k++)
        if (client(k) && client(k)->domid == domid)
            return client(k);
    return NULL;
}

/* Anything for the loop to do?  Runs with upcalls masked (guest_wait). */
int work_pending(void *unused)
{
    if (port_count[dom_exc_port] != dom_exc_seen || port_count[timer_port] != timer_seen)
        return 1;
    for (u32 i = 0; i <= napps; i++) {
        struct appvm *a = client(i);
        if (!a || !a->ring)
            continue;
        if (port_count[a->store_port] != a->store_seen || READ_ONCE(a->ring->req_prod) != a->ring->req_cons)
            return 1;
        if (a->ping_port && port_count[a->ping_port] != a->ping_seen)
            return 1;
    }
    return 0;
}

/* The PrivVM's own heartbeat (the hypervisor monitors it) and its check of the DVM's, every
 * PRIVVM_HEARTBEAT_TICKS: a timer keeps them going while there is nothing else to do. */
static void tick(void)
{
    if (port_count[timer_port] == timer_seen)
        return;
    timer_seen = port_count[timer_port];
    hc_heartbeat();
    hc_set_timer(guest_now() + PRIVVM_HEARTBEAT_TICKS);
    dvm_monitor();
}

/* Printing many lines (the store dump) takes long on a slow console (QEMU's, in wall-clock time):
 * heartbeat with every line, or the hypervisor would call us hung. */
static int hb_printf(const char *fmt, ...)
{
    char buf[CONSOLE_MAX_WRITE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    hc_heartbeat();
    gprintf("%s", buf);
    return n;
}

/* Outcome of the health check, read by the workbench (faults/) through DWARF. */
enum health_state { HEALTH_NOT_RUN = 0, HEALTH_OK = 1, HEALTH_FAILED = 2 };
enum health_state health_check_result;

/* The health check of DESIGN section 5: the infrastructure can still build and run a new VM.  As the
 * papers create a BlkBench AppVM after recovery, it runs `blk` when there is a driver VM (AppVM 0's
 * disk region), else a short `compute`. */
int __attribute__((noinline)) health_check(void)
{
    struct appvm_cfg cfg = { dvm.domid ? WL_blk : WL_compute, dvm.domid ? 8 : 5, 1, 0xFFFFFFFFu };
    u32 old = apps[0].domid;
    if (destroy_appvm(&apps[0]) < 0 || create_appvm(0, &cfg) < 0)
        return -1;
    gprintf("privvm: health check: destroyed d%u, created d%u\n", old, apps[0].domid);
    start_appvm(&apps[0]);
    u32 alive = 1;
    while (alive) {
        guest_wait(work_pending, NULL);
        tick();
        for (u32 i = 0; i <= napps; i++)          /* AppVM 0 and, for its devices, the DVM */
            if (client(i) && client(i)->ring && (i == 0 || i == napps)) {
                client(i)->store_seen = port_count[client(i)->store_port];
                serve_ring(client(i));
            }
        dom_exc_seen = port_count[dom_exc_port];
        alive = check_domains();
    }
    char k[STORE_MAX_PATH], res[STORE_MAX_VALUE];
    appvm_key(k, sizeof(k), apps[0].domid, "result");
    return st_read(k, res, sizeof(res)) > 0 && !strncmp(res, "ok ", 3) ? 0 : -1;
}

int main(void)
{
    napps = start->sys.nappvms;
    gprintf("privvm: toolstack up on d%u, %u hart(s), %u AppVM(s) to create\n", my_domid, start->nharts, napps);
    long p = evtchn_bind_virq(VIRQ_DOM_EXC);
    GASSERT(p > 0);
    dom_exc_port = p;
    timer_port = guest_timer_port();
    timer_seen = port_count[timer_port] - 1;   /* first heartbeat right away */
    if (start->reboots) {                      /* a microreboot: the domains exist, reconnect them */
        if (privvm_reboot_resume() < 0)
            hc_shutdown(SHUTDOWN_crash);
    } else {
        domctl_selftest();
        privvm_keep_init();
        st_write(0, "/tool/name", "mrwb-toolstack");
        st_watch(0, "/local/domain", "ping");
        create_dvm(0);                         /* first: the AppVMs' devices need their backends */
        for (u32 i = 0; i < napps; i++)
            if (create_appvm(i, &start->sys.appvm[i]) < 0)
                apps[i].done = 1;
        for (u32 i = 0; i < napps; i++)        /* start them together */
            if (!apps[i].done)
                start_appvm(&apps[i]);
    }
    u32 alive = check_domains();
    keep_save();
    while (alive) {
        guest_wait(work_pending, NULL);
        tick();
        for (u32 i = 0; i <= napps; i++) {
            struct appvm *a = client(i);
            if (!a || !a->ring)
                continue;
            a->store_seen = port_count[a->store_port];
            serve_ring(a);
            if (a->ping_port && port_count[a->ping_port] != a->ping_seen) {
                a->ping_seen = port_count[a->ping_port];
                evtchn_send(a->ping_port);          /* pong */
            }
        }
        if (port_count[dom_exc_port] != dom_exc_seen) {
            dom_exc_seen = port_count[dom_exc_port];
            alive = check_domains();
        }
        keep_save();
    }
    hc_heartbeat();
    status_view();
    hc_heartbeat();
    gprintf("privvm: config store contents:\n");
    st_dump(hb_printf);
    /* after a reboot (the flag) or any microreboot: of the hypervisor (the new instance counts it),
     * of this PrivVM (the hypervisor counts it) or of the DVM (this toolstack did it); decided last,
     * so a microreboot during the reports above is checked too */
    if (((start->sys.flags & SYS_HEALTH_CHECK) || READ_ONCE(start->hv_recoveries) || start->reboots
         || dvm_reboots) && napps) {
        health_check_result = health_check() == 0 ? HEALTH_OK : HEALTH_FAILED;
        gprintf("privvm: health check %s\n", health_check_result == HEALTH_OK ? "ok" : "FAILED");
    }
    gprintf("privvm: all AppVMs finished, powering off\n");
    hc_shutdown(SHUTDOWN_poweroff);
    return 0;
}
