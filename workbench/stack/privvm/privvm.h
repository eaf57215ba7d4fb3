/* The PrivVM's internal interface: the AppVMs it manages, the config-store server (store_server.c)
 * and the toolstack operations (toolstack.c); main.c runs the event loop. */
#ifndef PRIVVM_H
#define PRIVVM_H
#include "guest.h"
#include "store.h"
#include "ring.h"
#include "store_tree.h"
#include "workload.h"

struct appvm {
    u32 domid, index;
    struct appvm_cfg cfg;
    u32 store_port;                   /* our end of its store channel */
    struct store_ring_page *ring;     /* its store ring, grant-mapped */
    u32 ring_handle;                  /* of that mapping */
    u32 store_seen;
    u32 ping_port, ping_seen;         /* our end of its ping channel (0 = none yet) */
    u32 done;                         /* shut down or crashed */
    struct domctl_getinfo info;       /* last status */
};
extern struct appvm apps[MAX_APPVMS];   /* AppVM i of the configuration; read by the workbench */
extern struct appvm dvm;                /* the driver VM (domid 0 = there is none); same bookkeeping */
extern u32 dvm_slots;                   /* virtio slots assigned to it (bit i = slot i) */
extern u32 napps, dom_exc_port, dom_exc_seen;
struct appvm *app_by_domid(u32 domid);      /* an AppVM or the DVM */
struct appvm *client(u32 k);                /* k < napps: AppVM k; k == napps: the DVM; else NULL */
int work_pending(void *unused);

/* store_server.c: answer requests on an AppVM's store ring; store_fire (store_tree.h) sends events */
void serve_ring(struct appvm *a);

/* toolstack.c */
int module_for(u32 kind, u32 slot);
void appvm_key(char *buf, u32 size, u32 domid, const char *key);   /* "/local/domain/<domid>/<key>" */
int create_dvm(u32 reboot);                             /* -> 0, -1: no DVM module, or -errno;
                                                           reboot: n-th dvm_reboot (0: at boot) */
u32 add_devices(struct appvm *a, int moved);            /* its split devices on the current DVM */
int create_appvm(u32 i, const struct appvm_cfg *cfg);   /* domain, store channel and ring, keys */
void start_appvm(struct appvm *a);                      /* write its control key: "go" */
int destroy_appvm(struct appvm *a);
u32 check_domains(void);                                /* -> AppVMs still alive */
void status_view(void);
void domctl_selftest(void);
/* recovery/dvm_reboot.c */
void dvm_monitor(void);                                 /* on every tick: is the DVM's heartbeat late? */
extern u32 dvm_reboots;                                 /* DVM microreboots so far */
void dvm_failed(void);                                  /* crashed or hung: dvm_reboot, or leave it */
/* recovery/privvm_reboot.c: what survives a PrivVM microreboot */
void privvm_keep_init(void);                            /* fresh boot: empty store, kept region */
void keep_save(void);                                   /* bookkeeping changed */
u32 *keep_shared_page(void);                            /* the page every AppVM gets a grant of */
int privvm_reboot_resume(void);                         /* new instance: -> 0, or -1 (nothing kept) */
int keep_seen_mutation(struct appvm *a, u32 req_id, const char *path, const char *val);
void keep_note_mutation(struct appvm *a, u32 req_id);
void keep_new_client(struct appvm *a);
#endif
