/* ABI of sched_op and set_timer_op.
 * sched_op(cmd, arg1, arg2): yield | block | poll(port, timeout_ticks; 0 = no timeout)
 *                            | shutdown(reason) | crash.
 * set_timer_op(deadline_lo, deadline_hi): one-shot VIRQ_TIMER at absolute mtime; 0 cancels. */
#ifndef SCHED_ABI_H
#define SCHED_ABI_H

enum sched_cmd { SCHEDOP_yield = 0, SCHEDOP_block = 1, SCHEDOP_poll = 2, SCHEDOP_shutdown = 3,
                 SCHEDOP_crash = 4 };
enum shutdown_reason { SHUTDOWN_poweroff = 0, SHUTDOWN_reboot = 1, SHUTDOWN_crash = 2 };

/* Virtual IRQs a domain can bind to an event channel. */
enum virq { VIRQ_TIMER = 0, VIRQ_DOM_EXC = 1, VIRQ_CONSOLE = 2, NR_VIRQ = 4 };

#endif
