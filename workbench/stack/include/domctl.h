/* ABI of domctl(cmd, arg): domain control, PrivVM only (-EPERM otherwise). */
#ifndef DOMCTL_ABI_H
#define DOMCTL_ABI_H
#include "types.h"

#define MAX_DOMAINS MAX_SLOTS

enum domctl_cmd { DOMCTL_create = 0, DOMCTL_destroy = 1, DOMCTL_pause = 2, DOMCTL_unpause = 3,
                  DOMCTL_getinfo = 4, DOMCTL_set_store = 5, DOMCTL_assign_device = 6 };

enum dom_state { DOMSTATE_PAUSED = 0, DOMSTATE_RUNNING = 1, DOMSTATE_SHUTDOWN = 2,
                 DOMSTATE_CRASHED = 3 };

struct domctl_create {
    u32 module;       /* IN: boot module index (its ELF is linked for `slot`) */
    u32 hart;         /* IN: pin the vCPU to this hart; ~0 = hypervisor's choice */
    u32 appvm_index;  /* IN: copied into the guest's start info */
    u32 domid;        /* OUT: the new domain, created paused */
};
struct domctl_domid {  /* destroy, pause, unpause */
    u32 domid;        /* IN */
};
struct domctl_set_store {
    u32 domid;        /* IN */
    u32 port;         /* IN: the guest's end of its config-store event channel */
};
/* Give a device to a driver domain: its MMIO window becomes reachable through the domain's PMP
 * device entries, and its PLIC source is routed to it (EVTCHNOP_bind_pirq, PHYSDEVOP_eoi).
 * -ENODEV if nothing answers at `base`; -EBUSY if another domain owns the window or the IRQ. */
struct domctl_assign_device {
    u32 domid;        /* IN */
    u32 base;         /* IN: MMIO window, page aligned, inside the virtio-mmio area */
    u32 size;         /* IN: bytes, a multiple of the page size */
    u32 irq;          /* IN: PLIC source, 1..NR_PIRQS-1; 0 = no interrupt */
};
#define MAX_DEVICES 8     /* assigned windows per domain */
struct domctl_getinfo {
    u32 domid;        /* IN */
    u32 state;        /* OUT: enum dom_state */
    u32 vcpu_state;   /* OUT: enum vcpu_state (running, runnable, blocked, down) */
    u32 slot;         /* OUT */
    u32 hart;         /* OUT */
    u32 shutdown_reason; /* OUT */
    u32 crash_cause;  /* OUT: mcause of the fault that killed it */
    u32 crash_pc;     /* OUT */
    u32 crash_tval;   /* OUT */
    u32 heartbeat_age;/* OUT: mtime ticks since the last heartbeat (~0 = never) */
    u32 store_port;   /* OUT: the domain's end of its config-store channel (0 = none) */
};
enum vcpu_state { VCPU_RUNNABLE = 0, VCPU_RUNNING = 1, VCPU_BLOCKED = 2, VCPU_DOWN = 3 };
#endif
