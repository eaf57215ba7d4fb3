/* Offsets that start.S uses into struct percpu (checked against the struct in setup.c), relative to
 * the pointer mscratch and mnscratch hold: &percpu[h] + PC_BIAS.  The bias puts the two scratch
 * words at -8 and -4: a trap inside a trap entry, before mscratch is back to percpu, swaps the
 * guest's sp back into sp, and its two stores then land below the guest's stack pointer (free by
 * the ABI) instead of on the guest's live stack words. */
#ifndef HV_OFFSETS_H
#define HV_OFFSETS_H
#define PC_BIAS 8                  /* mscratch = &percpu[h] + PC_BIAS; scratch[0..1] at -8, -4 */
#define PC_FRAME 0                 /* struct guest_regs *frame */
#define PC_STACK 4                 /* u32 stack_top */
#define PC_KSTACK 8                /* u32 kstack_top */
#define PC_KTRAP 12                /* struct guest_regs ktrap (128 bytes) */
#define PC_NMI (12 + 128)          /* struct guest_regs nmi */
#define PC_IN_ENTRY (12 + 256)     /* u32 in_entry: a trap from U mode is being saved */
#define PC_ENTRY_EPC (12 + 260)    /* u32 entry_epc: its guest pc (mepc), saved first */
/* pmpcfg3 bits of the guard entry's A field (NAPOT): start.S sets them on the way into a guest and
 * clears them on every entry into M mode (platform.h PMP_GUARD, pmp.c) */
#define PMP_GUARD_CFG (0x18 << ((PMP_GUARD - 12) * 8))
#define HV_STACK_SIZE 8192         /* per hart, for traps from guests */
#define K_STACK_SIZE 4096          /* per hart, for M-mode traps and NMIs */
#endif
