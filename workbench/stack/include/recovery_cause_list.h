/* THE list of causes of a failed recovery (issue 10 item 3): what a campaign's failures are tallied
 * by (the `cause` column).  name; the enhancement that removes it (a name of enhancement_list.h, or
 * none); a short description.  Causes are found from the preserved state, the probes and the run's
 * end (workbench/recovery/), some by the recovering hypervisor itself.
 * Usage: #define RECOVERY_CAUSE(nr, name, enhancement, text) ... then #include this file.  No guard. */
RECOVERY_CAUSE(0,  none,                none,               "recovered")
RECOVERY_CAUSE(1,  recovery_crashed,    none,               "the recovery path crashed")
RECOVERY_CAUSE(2,  recovery_hung,       none,               "the recovery path never finished")
RECOVERY_CAUSE(3,  lock_held,           reset_locks,        "a lock was still held at resume")
RECOVERY_CAUSE(4,  hypercall_stuck,     hypercall_retry,    "a vCPU was cut off inside a hypercall")
RECOVERY_CAUSE(5,  irq_unacked,         ack_irqs,           "a claimed interrupt was never completed")
RECOVERY_CAUSE(6,  multicall_repeated,  multicall_progress, "a completed multicall entry ran again")
RECOVERY_CAUSE(7,  frame_counts,        grant_fixup,        "frame or grant reference counts are wrong")
RECOVERY_CAUSE(8,  sched_inconsistent,  sched_rebuild,      "a run queue or vCPU state is inconsistent")
RECOVERY_CAUSE(9,  timer_lost,          timers_rebuild,     "a timer never fired again")
RECOVERY_CAUSE(10, event_lost,          event_kick,         "a pending event was never delivered")
RECOVERY_CAUSE(11, time_backwards,      time_continuity,    "guest-visible time went backwards")
RECOVERY_CAUSE(12, appvm_wrong,         none,               "an AppVM's result is wrong")
RECOVERY_CAUSE(13, appvm_lost,          none,               "an AppVM did not finish its work")
RECOVERY_CAUSE(14, health_check_failed, none,               "the new AppVM of the health check failed")
RECOVERY_CAUSE(15, other,               none,               "not recovered, cause not identified")
RECOVERY_CAUSE(16, kept_state_corrupt,  none,               "the failed component had corrupted both copies of its kept state")
RECOVERY_CAUSE(17, component_failed,    none,               "the fault spread into the DVM or PrivVM, whose failure no mechanism recovers")
