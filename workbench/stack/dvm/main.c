/* The driver VM: owns the virtio block and network devices (assigned by the toolstack, interrupts
 * routed here as events), serves the AppVMs' frontends through blkback and netback, bridges their
 * interfaces to the wire, and sends the PrivVM a heartbeat every DVM_HEARTBEAT_TICKS.  One event
 * loop, no threads: every wake-up runs all the work there is. */
#include "dvm.h"

u32 dvm_stats[8];                    /* enum ST_*: read by the workbench at this symbol */
static volatile u32 rescan = 1;      /* the store changed below a watched path */
static u32 blk_port, net_port, timer_port, blk_seen, net_seen, timer_seen;


void dvm_store_changed(const char *path, const char *token) { rescan = 1; }

/* Bring up whichever devices are there; also what a restart does (a reset drops in-flight work). */
static void devices_init(u32 mask)
{
    int bs = vblk_init(mask), ns = vnet_init(mask);
    if (bs >= 0)
        gprintf("dvm: virtio-blk in slot %d (irq %u), %u sectors\n", bs, vblk_irq, vblk_sectors);
    else
        gprintf("dvm: no virtio-blk device\n");
    if (ns >= 0)
        gprintf("dvm: virtio-net in slot %d (irq %u), mac %02x:%02x:%02x:%02x:%02x:%02x\n", ns, vnet_irq,
                vnet_mac[0], vnet_mac[1], vnet_mac[2], vnet_mac[3], vnet_mac[4], vnet_mac[5]);
    else
        gprintf("dvm: no virtio-net device\n");
}

/* The test hook of io_config.dvm_restart: what a driver-VM microreboot does to the I/O path, without
 * the reboot.  Devices are reset and set up again, interrupts left claimed are acknowledged, and
 * every backend starts over at InitWait; the frontends must reconnect and resubmit. */
static void restart_io(u32 mask)
{
    gprintf("dvm: restarting devices and backends (test hook)\n");
    blkback_restart();
    netback_restart();
    devices_init(mask);
    if (blk_port)
        hc_physdev_eoi(vblk_irq);                 /* -EINVAL if none was in flight: harmless */
    if (net_port)
        hc_physdev_eoi(vnet_irq);
    rescan = 1;
}

static int work_pending(void *unused)
{
    return rescan || store_pending() || port_count[timer_port] != timer_seen ||
           (blk_port && port_count[blk_port] != blk_seen) || (net_port && port_count[net_port] != net_seen) ||
           blkback_pending() || netback_pending();
}

/* A device interrupt: acknowledge the device (its line drops), then the PLIC source (EOI). */
static void device_irq(u32 port, u32 *seen, u32 irq, void (*ack)(void))
{
    if (!port || port_count[port] == *seen)
        return;
    *seen = port_count[port];
    ack();
    hc_physdev_eoi(irq);
    dvm_stats[ST_IRQS]++;
}

static u32 bind_irq(u32 irq)
{
    long p = evtchn_bind_pirq(irq);
    if (p < 0)
        gprintf("dvm: cannot bind irq %u: %d\n", irq, (int)p);
    return p < 0 ? 0 : (u32)p;
}

int main(void)
{
    store_client_init();
    char dir[STORE_MAX_PATH];
    snprintf(dir, sizeof(dir), "/local/domain/%u", my_domid);
    u32 mask = 0xFF;                                 /* the virtio slots assigned to us */
    xb_read_u32(dir, "io-slots", &mask);
    u32 restart_after = 0;
    xb_read_u32(dir, "test-restart", &restart_after);
    dvm_reboot_init(dir);
    devices_init(mask);
    if (vblk_irq)
        blk_port = bind_irq(vblk_irq);
    if (vnet_irq)
        net_port = bind_irq(vnet_irq);
    timer_port = guest_timer_port();
    timer_seen = port_count[timer_port] - 1;         /* first heartbeat right away */
    char w[STORE_MAX_PATH];
    snprintf(w, sizeof(w), "%s/backend", dir);
    store_watch(w, "be", dvm_store_changed);
    xb_write_u32(dir, "io-ready", 1);
    for (;;) {
        guest_wait(work_pending, NULL);
        if (port_count[timer_port] != timer_seen) {
            timer_seen = port_count[timer_port];
            hc_heartbeat();
            dvm_stats[ST_HEARTBEATS]++;
            hc_set_timer(guest_now() + DVM_HEARTBEAT_TICKS);
        }
        device_irq(blk_port, &blk_seen, vblk_irq, vblk_interrupt);
        device_irq(net_port, &net_seen, vnet_irq, vnet_interrupt);
        u8 *f;
        u32 len;
        int id;
        while (net_port && (id = vnet_recv(&f, &len)) >= 0) {
            bridge_from_wire(f, len);
            vnet_recv_done(id);
        }
        while (blkback_work() | netback_work())
            ;
        dvm_reboot_check_serving();
        if (restart_after && dvm_stats[ST_BLK_REQS] >= restart_after) {
            restart_after = 0;
            restart_io(mask);
        }
        /* Store changes last: a frontend that queued a request and then asked to close gets its
         * request served before the connection goes. */
        if (store_pending())
            store_poll();
        if (rescan) {
            rescan = 0;
            blkback_scan();
            netback_scan();
        }
    }
}
