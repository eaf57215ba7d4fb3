/* Offsets into struct percpu that start.S uses (checked against the struct in setup.c). */
#ifndef HV_OFFSETS_H
#define HV_OFFSETS_H
#define PC_FRAME 8                 /* struct guest_regs *frame */
#define PC_STACK 12                /* u32 stack_top */
#define PC_KSTACK 16               /* u32 kstack_top */
#define PC_KTRAP 20                /* struct guest_regs ktrap (128 bytes) */
#define PC_NMI (20 + 128)          /* struct guest_regs nmi */
#define HV_STACK_SIZE 8192         /* per hart, for traps from guests */
#define K_STACK_SIZE 4096          /* per hart, for M-mode traps and NMIs */
#endif
