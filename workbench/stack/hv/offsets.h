/* Offsets into struct percpu that start.S uses (checked against the struct in setup.c). */
#ifndef HV_OFFSETS_H
#define HV_OFFSETS_H
#define PC_FRAME 8                 /* struct guest_regs *frame */
#define PC_STACK 12                /* u32 stack_top */
#define PC_KSTACK 16               /* u32 kstack_top */
#define PC_KTRAP 20                /* struct guest_regs ktrap (128 bytes) */
#define PC_NMI (20 + 128)          /* struct guest_regs nmi */
/* pmpcfg3 bits of the guard entry's A field (NAPOT): start.S sets them on the way into a guest and
 * clears them on every entry into M mode (platform.h PMP_GUARD, pmp.c) */
#define PMP_GUARD_CFG (0x18 << ((PMP_GUARD - 12) * 8))
#define HV_STACK_SIZE 8192         /* per hart, for traps from guests */
#define K_STACK_SIZE 4096          /* per hart, for M-mode traps and NMIs */
#endif
