/* The frontend half of the split-driver handshake (xenbus.h), shared by blkfront and netfront. */
#ifndef FRONTEND_H
#define FRONTEND_H
#include "appvm.h"
#include "xenbus.h"

struct frontend {
    const char *type;                /* "vbd" or "vif" */
    char dir[STORE_MAX_PATH];        /* ours: /local/domain/<me>/device/<type>/0 */
    char be_dir[STORE_MAX_PATH];     /* the backend's directory */
    u32 be_domid;
    void *ring;                      /* our ring page (granted to the backend) */
    long ring_ref;                   /* -1 = not granted */
    u32 port;                        /* our end of the channel, 0 = none */
    u32 connected;                   /* handshake done with the current backend */
    u32 reconnects;                  /* how often the backend went away and came back */
    volatile u32 changed;            /* the backend's state key changed (watch) */
    void (*regrant)(struct frontend *);  /* (re)grant the data pages to be_domid, reset rings */
};
int frontend_init(struct frontend *f, const char *type, void *ring, void (*regrant)(struct frontend *));
int frontend_connect(struct frontend *f);    /* full handshake; -> 0, or -1 if no backend */
int frontend_check(struct frontend *f);      /* after store events: -> 1 if it reconnected */
void frontend_close(struct frontend *f);
void frontend_end_grant(long *ref);          /* end a grant (if any), mark it gone */
#endif
