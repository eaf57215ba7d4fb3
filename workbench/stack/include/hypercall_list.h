/* THE list of hypercalls: number, name.  It feeds the hypervisor's dispatch table (hv/hypercall.c),
 * the guest stubs (hypercall.h) and Python (abi.py parses the HCALL lines).
 * Usage: #define HCALL(nr, name) ... then #include "hypercall_list.h".  No include guard on purpose. */
HCALL(0,  console_io)        /* console.h: write a line to the hypervisor console */
HCALL(1,  sched_op)          /* sched.h: yield, block, poll, shutdown, crash */
HCALL(2,  set_timer_op)      /* sched.h: one-shot timer, absolute deadline (lo, hi); 0 cancels */
HCALL(3,  event_channel_op)  /* event_channel.h */
HCALL(4,  grant_table_op)    /* grant_table.h */
HCALL(5,  multicall)         /* multicall.h: batch of hypercalls */
HCALL(6,  domctl)            /* domctl.h: PrivVM only */
HCALL(7,  heartbeat)         /* record that the guest is alive */
HCALL(8,  set_callbacks)     /* register the upcall entry point */
HCALL(9,  iret)              /* return from an upcall: restore the saved frame, unmask */
HCALL(10, version)           /* HV_VERSION; also a cheap way to get pending upcalls delivered */
HCALL(11, physdev_op)        /* physdev.h: physical IRQ EOI for the driver VM */
