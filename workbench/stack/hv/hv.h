/* Hypervisor-private declarations: per-hart state (static, rebuilt at every boot), domains and vCPUs
 * (in the preserved heap, so a microreboot can keep them), and each subsystem's entry points. */
#ifndef HV_H
#define HV_H
#include "types.h"
#include "platform.h"
#include "bootinfo.h"
#include "shared_info.h"
#include "hverrno.h"
#include "sched.h"
#include "domctl.h"
#include "event_channel.h"
#include "grant_table.h"
#include "physdev.h"
#include "lib.h"
#include "offsets.h"

/* ---- CSRs and MMIO ---- */
#define csr_read(c) ({ u32 __v; __asm__ volatile("csrr %0, " #c : "=r"(__v)); __v; })
#define csr_write(c, v) __asm__ volatile("csrw " #c ", %0" ::"r"((u32)(v)) : "memory")
#define csr_set(c, v) __asm__ volatile("csrs " #c ", %0" ::"r"((u32)(v)) : "memory")
#define csr_clear(c, v) __asm__ volatile("csrc " #c ", %0" ::"r"((u32)(v)) : "memory")
static inline u32 mmio_read(u32 a) { return *(volatile u32 *)(uptr)a; }
static inline void mmio_write(u32 a, u32 v) { *(volatile u32 *)(uptr)a = v; }

#define MSTATUS_MIE  (1u << 3)
#define MSTATUS_MPIE (1u << 7)
#define MSTATUS_MPP  (3u << 11)
#define MIP_MSIP     (1u << 3)
#define MIP_MTIP     (1u << 7)
#define MIP_MEIP     (1u << 11)
#define MCAUSE_INT   0x80000000u
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_LOAD_ACCESS  5
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8

/* ---- timers (timer.c) ---- */
struct domain;
struct timer {
    u64 deadline;                 /* absolute system time (now()) */
    struct timer *next;           /* in the owning hart's list, guarded by its timer_lock */
    void (*fn)(struct timer *);   /* runs on `hart` with no locks held */
    void *data;
    struct domain *dom;           /* owner, held (get_domain) while fn runs; NULL = the hypervisor's */
    u32 hart;
    u32 active;                   /* linked in the list (guarded by timer_lock) */
    u32 period;                   /* recurring: re-armed period ticks after each run; 0 = one-shot */
    u32 in_handler;               /* set on entry to fn (unlinked), cleared once done (a recurring one
                                     re-armed): a panic inside it leaves the timer unlinked, not fired
                                     again (timers_rebuild) */
};

/* ---- domains and vCPUs (domain.c, sched.c) ---- */
struct vcpu {
    struct guest_regs regs;       /* saved on every trap into the hv; MUST stay first (start.S) */
    struct domain *dom;
    u32 hart;                     /* pinned: the only hart that runs it */
    /* guarded by percpu[hart].rq_lock */
    u32 state;                    /* enum vcpu_state (RUNNING is reported from `running`) */
    u32 running;                  /* currently on its hart */
    u32 on_rq;
    struct vcpu *rq_next;
    /* owned by the vCPU's own hart (only it touches them) */
    u32 upcall_pc;                /* 0 = no upcalls registered */
    u32 poll_port;                /* SCHEDOP_poll: port waited for, 0 = not polling */
    struct timer timer;           /* guest one-shot timer -> VIRQ_TIMER */
    struct timer poll_timer;      /* SCHEDOP_poll timeout */
    u64 runtime;                  /* time charged by its hart's accounting timer (owned by its hart) */
    u32 hcall_nr;                 /* hypercall in progress, ~0 = none (hypercall_retry) */
    u32 hc_pc;                    /* ... the pc of its ecall */
    u32 hc_done;                  /* ... it has returned; its result is hc_result */
    u32 hc_result;
    u32 mc_index;                 /* next multicall entry to run (multicall_progress) */
    u32 hc_committed;             /* the hypercall (or batch entry) in progress has made its change
                                     and written its OUT fields: a retry must not make it again */
    u32 hc_retry;                 /* set by recovery: nr + 1 of the hypercall it sent the vCPU back to */
    u32 hc_resume;                /* set by recovery: the retried batch resumes at entry hc_resume - 1 */
    u32 hc_resume_pc;             /* ... when the vCPU issues the multicall at this pc again (an upcall
                                     may run other hypercalls first) */
};

enum evtchn_state { ECS_FREE = 0, ECS_UNBOUND, ECS_INTERDOMAIN, ECS_VIRQ, ECS_PIRQ, ECS_RESERVED };
struct evtchn {
    u32 state;                    /* enum evtchn_state */
    u32 remote_dom;               /* UNBOUND: who may bind; INTERDOMAIN: peer */
    u32 remote_port;              /* INTERDOMAIN: peer's port */
    u32 virq;                     /* VIRQ: which */
};

struct grant_entry {
    u32 in_use;
    u32 grantee;
    u32 addr;                     /* page in the granter's slot */
    u32 readonly;
    u32 mapcount;                 /* maps held by the grantee */
};
struct grant_map {                /* a page this domain mapped; one PMP map entry each */
    u32 in_use;
    u32 dom, ref;
    u32 addr;
    u32 readonly;
    struct domain *granter;       /* holds a reference on it (so a dying granter outlives the map) */
};

#define DOMAIN_MAGIC 0x4E4D4F44u  /* "DOMN" */
struct domain {
    u32 magic;
    /* immutable after creation */
    u32 domid;
    u32 slot, base, size;
    u32 privileged;
    u32 module;
    struct shared_info *shinfo;
    struct vcpu *vcpu;
    /* atomic */
    u32 refcnt;                   /* creation + grant maps of its pages + deliveries in flight; freed at 0 */
    /* guarded by PRESERVED->dom_lock */
    u32 dying;                    /* destroyed: domain_get no longer finds it; freed with the last reference */
    /* guarded by lock */
    struct spinlock lock;
    u32 state;                    /* enum dom_state */
    u32 shutdown_reason;
    u32 crash_cause, crash_pc, crash_tval;
    /* written lock-free by the domain's own hart */
    u64 heartbeat;                /* now() of the last heartbeat, 0 = never */
    /* written only by the heartbeat monitor (its timer, on hart 0) */
    u32 hb_missed;                /* monitor checks that found the heartbeat older than the limit */
    /* guarded by evtchn_lock */
    struct spinlock evtchn_lock;
    struct evtchn evtchn[NR_EVTCHN];
    u32 virq_port[NR_VIRQ];
    u32 pirq_port[NR_PIRQS];      /* port bound to each physical IRQ the domain owns, 0 = none */
    /* guarded by grant_lock */
    struct spinlock grant_lock;
    struct grant_entry grant[NR_GRANTS];
    struct grant_map map[NR_PMP_MAPS];
    /* guarded by lock */
    u32 ndev;                     /* assigned device windows (physdev.c) */
    struct dev_window { u32 base, size, irq; } dev[MAX_DEVICES];
    /* guarded by the console lock */
    u32 cons_len;
    char cons_buf[120];
};

/* Root of the preserved heap (at PHEAP_BASE): where a new hv instance finds the surviving state. */
#define NR_FRAMES (MAX_SLOTS * SLOT_SIZE / PAGE_SIZE)
#define PRESERVED_MAGIC 0x56525350u   /* "PSRV" */
struct preserved {
    u32 magic;
    u32 generation;               /* hv instances booted over this heap */
    struct spinlock dom_lock;     /* guards dom[] and next_domid */
    struct domain *dom[MAX_DOMAINS];
    u32 next_domid;
    struct spinlock heap_lock;    /* guards the heap blocks */
    u32 heap_start, heap_end;
    struct spinlock irq_lock;     /* guards pirq[] */
    struct pirq {                 /* a PLIC source routed to a driver domain (physdev.c) */
        u32 owner;                /* domid + 1, 0 = not assigned */
        u32 hart;                 /* whose PLIC context has it enabled (the owner's vCPU's hart) */
        u32 inflight;             /* claimed from the PLIC, not yet acknowledged by the owner */
        u32 count;                /* interrupts delivered */
    } pirq[NR_PIRQS];
    /* Frame table (grant_table.c): one entry per page of the domain slots, the guest-shareable memory.
     * Entry f is guarded by the grant_lock of the domain whose slot holds the page (its owner). */
    struct frame {
        u32 owner;                /* domid + 1 of the domain that granted the page, 0 = not shared */
        u32 count;                /* references: grant entries naming the page + maps of it */
        u32 type_count;           /* maps of it (one PMP map entry each, in some grantee) */
    } frame[NR_FRAMES];
    /* The hypervisor's own recurring timers (timer.c), kept here so their in_handler flags survive
     * a reboot; linked in the per-hart lists under that hart's timer_lock. */
    struct timer acct_timer[MAX_HARTS];   /* scheduler accounting: charges the running vCPU */
    struct timer hb_timer;                /* heartbeat monitor of the PrivVM and the DVM (hart 0) */
    u32 hb_checks;                        /* monitor runs (written by the monitor only) */
    /* ReHype (hv/recovery/recovery.c): written by the failing instance, read by the new one; the
     * only way information crosses a microreboot besides the structures above. */
    struct rehype_state {
        u32 recovering;           /* a microreboot is under way: the next boot adopts this heap */
        u32 release;              /* nonzero: parked harts may re-enter at the reset entry */
        u32 parked;               /* bit h: hart h saved its vCPU's context and waits for release */
        u32 attempts;             /* microreboots started since the last one that completed */
        u32 count;                /* microreboots completed */
        u32 panic_hart;
        u32 phase;                /* last recovery phase reached (recovery.c rehype_phase_*) */
        u64 time_at_panic;        /* the failed instance's now() when recovery started */
        struct vcpu *curr[MAX_HARTS];   /* the vCPU each hart ran (the trusted copy), NULL = idle */
        u32 found;                /* bit c: hazard c (recovery_cause_list.h) seen in the heap adopted */
        u32 left;                 /* bit c: hazard c still there after the enhancements switched on */
        char detail[64];          /* the first hazard left, in words (a lock, a domain, an irq) */
    } rehype;
};
#define PRESERVED ((struct preserved *)PHEAP_BASE)

/* ---- per hart (static) ---- */
struct percpu {
    u32 scratch[2];               /* start.S: t0, t1 during trap entry */
    struct guest_regs *frame;     /* start.S: where user registers go (current vCPU, or idle_frame) */
    u32 stack_top;                /* start.S: hv stack for traps from U mode */
    u32 kstack_top;               /* start.S: stack for traps from M mode and NMIs */
    struct guest_regs ktrap;      /* start.S: registers at a machine-mode trap */
    struct guest_regs nmi;        /* start.S: registers at an NMI */
    u32 in_entry;                 /* start.S: set while a trap from U mode saves the vCPU's frame */
    u32 entry_epc;                /* start.S: that trap's guest pc (mepc), saved before the frame */
    u32 hartid;
    u32 online;
    struct vcpu *curr;            /* running vCPU, NULL = idle */
    /* guarded by rq_lock */
    struct spinlock rq_lock;
    struct vcpu *rq_head, *rq_tail;
    /* owned by this hart */
    u64 slice_end;
    u64 tick_deadline;            /* next periodic tick: fixed, so rescheduling never postpones it */
    u32 yielded;                  /* the current vCPU asked to yield */
    /* guarded by timer_lock */
    struct spinlock timer_lock;
    struct timer *timers;
    /* owned by this hart */
    u32 probe_guard;              /* nonzero: an M-mode access fault resumes here (device probing) */
    u32 has_wdog;
    u32 mcause, mepc, mtval;      /* of the trap being handled */
    u32 trap_kind;                /* panic.c enum panic_kind: set by ktrap/nmi_trap for panic() */
    u32 nmi_taken;                /* nmi_trap ran: `nmi` holds where the NMI interrupted this hart */
    u32 nmi_from_guest;           /* nmi_trap: the NMI interrupted U mode (registers only in `nmi`) */
};

extern struct percpu percpu[MAX_HARTS];
static inline struct percpu *this_cpu(void) { return (struct percpu *)(uptr)(csr_read(mscratch) - PC_BIAS); }
static inline u32 this_hart(void) { return csr_read(mhartid); }
#define LOCK(l) spin_lock_as((l), this_hart() + 1)

/* ---- global configuration (setup.c; static, rebuilt from the boot-info block) ---- */
struct hv_config {
    struct boot_info bi;
    u32 nharts;
    u32 slice_ticks, watchdog_ticks;
};
extern struct hv_config hv;
extern volatile u32 hv_panicking;

/* ---- entry points ---- */
void panic(const char *fn, const char *msg) __attribute__((noreturn));
#define ASSERT(c) do { if (!(c)) panic(__func__, "assertion failed: " #c); } while (0)
#define BUG_ON(c) do { if (c) panic(__func__, "BUG_ON: " #c); } while (0)
/* A copy between the hypervisor and a guest's own memory (hypercall arguments and results, the
 * upcall frame), read back against its source (copy_checked) and tried once more: only the guest's
 * single vCPU, which is in the hypervisor, writes there, so a second failure is the hypervisor's own,
 * and it fails here rather than mislead the guest far from the cause. */
#define guest_copy(dst, src, n)                                                     \
    do {                                                                            \
        if (copy_checked((dst), (src), (n)) && copy_checked((dst), (src), (n)))     \
            panic(__func__, "a copy to or from a guest read back wrong");           \
    } while (0)
void hv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void uart_putc(char c);
void park_hart(void) __attribute__((noreturn));

/* heap.c */
void heap_init(void);
void *heap_alloc(u32 size);
void heap_free(void *p);
void heap_dump(void);

/* timer.c */
#define TIME_SCALE_ONE (1u << 16)     /* mul/inv are 16.16 fixed point */
struct hv_time {
    u64 base;                     /* system time at `stamp` */
    u64 stamp;                    /* mtime when this instance took `base` */
    u32 mul;                      /* system ticks per mtime tick */
    u32 inv;                      /* mtime ticks per system tick (1/mul) */
};
extern struct hv_time hv_time;
void time_init(void);
void time_continue(u64 t);
u64 now(void);                    /* system time (NOW()), in TIMEBASE_HZ ticks */
void timer_init_hart(void);
void hv_timers_start(void);
void timer_set(struct timer *t, u64 deadline);
void timer_cancel(struct timer *t);
void timer_interrupt(void);
void timer_reprogram(void);
void wdog_reload(void);
long do_set_timer_op(struct vcpu *v, const u32 *a);
void timer_dump(void);

/* sched.c */
void sched_init_hart(void);
void sched_init_vcpu(struct vcpu *v, u32 hart);
void vcpu_wake(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_down(struct vcpu *v);
void schedule(void);
int sched_should_switch(struct percpu *pc);
long do_sched_op(struct vcpu *v, const u32 *a);
void sched_dump(void);

/* domain.c */
struct domain *domain_get(u32 domid);
struct domain *domain_at(u32 index);
int domid_issued(u32 domid);
void get_domain(struct domain *d);
void put_domain(struct domain *d);
struct domain *domain_create(u32 module, u32 hart, u32 appvm_index, long *err);
long domain_destroy(struct domain *d);
void domain_crash(struct domain *d, u32 cause, u32 pc, u32 tval);
u32 load_elf(struct domain *d, const struct boot_module *m);   /* -> entry point, or 0 */
void privvm_start_info(struct domain *d);   /* the PrivVM's start info: configuration and modules */
/* component.c: failures of the DVM and the PrivVM, reported (and recovered) here */
void dvm_crashed(struct domain *d);
void privvm_failed(struct domain *d, int hung);
int privvm_store_stalled(struct domain *priv);   /* a store request left waiting a whole period */
void privvm_store_watch_reset(void);
/* recovery/privvm_reboot.c, recovery/dvm_reboot.c */
void privvm_reboot_start(struct domain *d);
void dvm_reboot_reset_devices(struct domain *d);
void domain_shutdown(struct domain *d, u32 reason);
void domain_pause(struct domain *d, int pause);
int guest_range_ok(struct domain *d, u32 addr, u32 len);
void domain_dump(void);

/* event_channel.c */
void evtchn_init_domain(struct domain *d);
void evtchn_send_virq(struct domain *d, u32 virq);
void evtchn_set_pending(struct domain *d, u32 port);
void evtchn_close_all(struct domain *d);
void upcall_maybe_deliver(struct vcpu *v);
long evtchn_alloc_unbound_in(struct domain *d, u32 remote);
long do_event_channel_op(struct vcpu *v, const u32 *a);
long do_iret(struct vcpu *v, const u32 *a);
long do_set_callbacks(struct vcpu *v, const u32 *a);
void evtchn_dump(void);

/* grant_table.c */
void gnttab_init_domain(struct domain *d);
long gnttab_grant_in(struct domain *d, u32 grantee, u32 addr, u32 readonly);
void gnttab_release_all(struct domain *d);
void gnttab_free_domain(struct domain *d);
void frame_dump(void);
long do_grant_table_op(struct vcpu *v, const u32 *a);
void gnttab_dump(void);

/* physdev.c */
void plic_init_hart(void);
void plic_interrupt(void);
u32 probe_read(u32 addr);                       /* setup.c: 0 if the read faults */
long physdev_assign(struct domain *d, const struct domctl_assign_device *a);
int physdev_owns(struct domain *d, u32 pirq);
void physdev_bound(struct domain *d, u32 pirq);
void physdev_release(struct domain *d);
void physdev_restore_routing(void);
void physdev_pmp(struct domain *d, u8 *cfg, void (*addr_write)(u32, u32));
long do_physdev_op(struct vcpu *v, const u32 *a);
void physdev_dump(void);

/* pmp.c */
void pmp_lock_pristine(void);
void pmp_load_domain(struct domain *d);
int pmp_grants(struct domain *d, u32 cause, u32 addr);
void pmp_dump(void);

/* trap.c */
void enter_first_guest(void) __attribute__((noreturn));

/* hypercall.c, multicall.c, console.c, domctl.c */
long hypercall_dispatch(struct vcpu *v, u32 nr, const u32 *args, int in_multicall);
long do_multicall(struct vcpu *v, const u32 *a);
long do_console_io(struct vcpu *v, const u32 *a);
long do_domctl(struct vcpu *v, const u32 *a);
void console_dump(void);

/* dump.c: one table of named lock-free dumps */
void hv_dump(const char *name);

/* recovery/recovery.c */
void recovery_on_panic(void);
int recovery_booting(void);                     /* this boot adopts the preserved heap (ReHype) */
void recovery_park(void) __attribute__((noreturn));
void recovery_early(void);                      /* hart 0, before the other harts start */
void recovery_resume(void);                     /* hart 0, every hart online: re-integrate */

#endif
