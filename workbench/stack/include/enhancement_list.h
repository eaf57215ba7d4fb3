/* THE list of ReHype's enhancements (DESIGN section 6), in the papers' order (the default ablation
 * ladder: basic ReHype, then each one added in turn).  bit: its flag in boot_info.recovery_flags,
 * which switches it on for a run without a rebuild; name: also its file, hv/recovery/<name>.c.
 * It feeds the hypervisor's enhancement table (hv/recovery/recovery.c) and Python
 * (abi.enhancements(), workbench.ALL_ENHANCEMENTS).
 * Usage: #define ENHANCEMENT(bit, name) ... then #include "enhancement_list.h".  No include guard. */
ENHANCEMENT(0, reset_locks)          /* re-initialise the locks in preserved structures */
ENHANCEMENT(1, hypercall_retry)      /* re-execute the hypercalls that were in progress */
ENHANCEMENT(2, ack_irqs)             /* complete claimed PLIC interrupts, clear stale IPIs, re-deliver */
ENHANCEMENT(3, multicall_progress)   /* never repeat the completed parts of a batch */
ENHANCEMENT(4, grant_fixup)          /* recompute grant mappings, frame counts and PMP slots */
ENHANCEMENT(5, sched_rebuild)        /* run queues and vCPU states from the trusted copies */
ENHANCEMENT(6, timers_rebuild)       /* re-arm vCPU and hypervisor timers, recurring ones included */
ENHANCEMENT(7, event_kick)           /* re-deliver events left pending without an upcall */
ENHANCEMENT(8, time_continuity)      /* guest-visible time never goes back */
