/* The driver VM's internal interface: the virtio drivers (virtio_blk.c, virtio_net.c), the backends
 * serving the AppVMs (blkback.c, netback.c), the bridge between the AppVMs' interfaces and the wire
 * (bridge.c), and the main loop (main.c). */
#ifndef DVM_H
#define DVM_H
#include "guest.h"
#include "store.h"
#include "xenbus.h"
#include "blkif.h"
#include "netif.h"
#include "virtio.h"

#define MAX_FRONTENDS MAX_APPVMS

/* virtio_blk.c: up to VBLK_SLOTS requests in flight, each with its caller's bounce buffer. */
#define VBLK_SLOTS 4
int vblk_init(u32 slot_mask);                  /* -> slot found, or -1 */
extern u32 vblk_irq, vblk_sectors;             /* PLIC source; capacity in sectors */
int vblk_submit(u32 op, u32 sector, u32 nsectors, void *buf, u32 tag);   /* -> 0, or -1 if full */
int vblk_complete(u32 *tag, s32 *status);      /* -> 1 if a request finished */
void vblk_interrupt(void);                     /* acknowledge the device */

/* virtio_net.c: frames without the virtio-net header. */
int vnet_init(u32 slot_mask);                  /* -> slot found, or -1 */
extern u32 vnet_irq;
extern u8 vnet_mac[6];
#define VNET_TX_SLOTS 8
int vnet_send(const void *frame, u32 len, u32 tag);   /* -> 0, or -1 if no transmit slot is free */
int vnet_tx_done(u32 *tag);                    /* -> 1: the frame sent with *tag left the NIC */
int vnet_recv(u8 **frame, u32 *len);           /* -> buffer id (>= 0) or -1; give it back: */
void vnet_recv_done(int id);
void vnet_interrupt(void);

/* One split-driver connection to a frontend (blkback.c and netback.c share the handshake). */
struct backend {
    u32 used;
    u32 fe_domid;
    char dir[STORE_MAX_PATH];        /* our directory: /local/domain/<dvm>/backend/<type>/<fe> */
    char fe_dir[STORE_MAX_PATH];     /* the frontend's directory */
    u32 state;                       /* what we last wrote (enum xenbus_state) */
    void *ring;                      /* grant-mapped ring page, NULL while not connected */
    u32 ring_handle;
    u32 port;                        /* our end of the frontend's event channel */
    u32 port_seen;                   /* port_count[port] when last served */
};
int backend_connect(struct backend *b);       /* Initialised frontend: map its ring, bind its port */
void backend_disconnect(struct backend *b);
void backend_update(struct backend *b, int (*publish)(struct backend *), void (*reset)(struct backend *));
int backend_adopt(struct backend *b, const char *path, u32 fe);
void copy_verified(void *dst, const void *src, u32 n);   /* memcpy, read back: a wrong copy crashes us */

void backend_restart(struct backend *b, void (*reset)(struct backend *));

/* blkback.c */
void blkback_scan(void);                       /* store changed: new frontends, state changes */
int blkback_work(void);                        /* serve rings and device completions; -> did work */
int blkback_pending(void);                     /* for the main loop's wait condition */
void blkback_restart(void);                    /* drop every connection and request (device reset) */
/* netback.c */
void netback_scan(void);
int netback_work(void);
int netback_pending(void);
void netback_restart(void);
int netback_deliver(const u8 *mac, const u8 *frame, u32 len);   /* bridge -> vif; -> delivered */
/* bridge.c */
void bridge_from_wire(const u8 *frame, u32 len);
int bridge_from_vif(const u8 *frame, u32 len, u32 tag);  /* -> 1 delivered here, 0 queued on the
                                                   wire (vnet_tx_done reports tag), -1 wire busy */

/* recovery/dvm_reboot.c */
void dvm_reboot_init(const char *dir);
void dvm_reboot_check_serving(void);
/* main.c */
void dvm_store_changed(const char *path, const char *token);   /* watch callback: rescan */
extern u32 dvm_stats[8];                       /* counters, read by the workbench */
enum { ST_BLK_REQS, ST_BLK_ERRS, ST_NET_TX, ST_NET_RX, ST_NET_DROPS, ST_IRQS, ST_HEARTBEATS };
#endif
