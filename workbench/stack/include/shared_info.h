/* Per-domain shared-info page (first page of the domain's slot): event bits, upcall flag and mask,
 * the frame an upcall interrupted, guest-visible time, and the start info the guest boots with.
 * Written by both sides: only with word atomics (AMO) on the event words. */
#ifndef SHARED_INFO_H
#define SHARED_INFO_H
#include "types.h"
#include "bootinfo.h"

#define NR_EVTCHN   64                 /* ports per domain; port 0 is never used */
#define EVTCHN_WORDS (NR_EVTCHN / 32)

/* The guest register frame: x[0] holds the pc (x0 needs no saving). */
struct guest_regs {
    u32 x[32];
};
#define REG_PC 0

struct vcpu_info {
    u32 upcall_pending;                /* set by hv when an unmasked port becomes pending */
    u32 upcall_mask;                   /* set by guest (or hv on upcall entry): no upcalls now */
    u32 pending_sel;                   /* bit w: evtchn_pending[w] may have new bits */
    u32 pad;
    struct guest_regs saved;           /* frame interrupted by the current upcall; HV_iret restores */
};

struct start_info {
    u32 magic;                         /* START_MAGIC */
    u32 domid;
    u32 slot;
    u32 slot_base, slot_size;
    u32 privileged;                    /* 1 for the PrivVM */
    u32 nharts;
    u32 store_port;                    /* event channel to the config store; 0 = none yet */
    u32 store_ring;                    /* address of the store ring page (in this slot) */
    u32 appvm_index;                   /* index in the system configuration, or ~0 */
    struct sys_config sys;             /* PrivVM only: the AppVMs to create */
    u32 nmodules;                      /* PrivVM only: the boot modules it may create domains from */
    struct boot_module module[MAX_MODULES];
    struct io_config io;               /* PrivVM only: split I/O configuration */
    u32 hv_recoveries;                 /* hypervisor microreboots so far (a new instance counts them in
                                          the PrivVM's: its toolstack then runs the health check) */
};
#define START_MAGIC 0x54525453u        /* "STRT" */

struct shared_info {
    struct vcpu_info vcpu[1];          /* one vCPU per domain for now */
    u32 evtchn_pending[EVTCHN_WORDS];
    u32 evtchn_mask[EVTCHN_WORDS];
    u32 time_version;                  /* odd while hv updates time */
    u32 time_lo, time_hi;              /* hv system time (NOW()) at the last entry into the guest */
    u32 pad;
    struct start_info start;
};

#endif
