# Hypervisor entry points: reset (0x80000000), watchdog NMI (0x80000004), the trap vector, and the
# path back into a guest.  Register frames are struct guest_regs: x[0] holds the pc, x[i] register i.
#include "platform.h"
#include "offsets.h"

.macro SAVE_GPRS base          # all but x0, sp(x2), t0(x5), t1(x6)
  .irp r, 1,3,4,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sw x\r, (\r*4)(\base)
  .endr
.endm
.macro CHECK_GPRS base, tmp, fail, regs:vararg  # read back the frame against the live registers
  .irp r, \regs
    lw \tmp, (\r*4)(\base)
    bne \tmp, x\r, \fail
  .endr
.endm
.macro LOAD_GPRS base          # all but x0 and t0(x5), which holds the base
  .irp r, 1,2,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw x\r, (\r*4)(\base)
  .endr
.endm

.section .text.start, "ax"
.globl _start
_start:
  j reset_entry                # 0x80000000: every hart, at reset
  j nmi_entry                  # 0x80000004: watchdog NMI (Smrnmi)

reset_entry:
  csrw mie, zero
  csrci mstatus, 8             # MIE off: a hart NMI'd in a guest (MIE set there) and restarted by a
                               # microreboot must not take interrupts in M mode during the boot
  csrr t0, mhartid
  li t1, MAX_HARTS
  bgeu t0, t1, 2f              # more harts than we have stacks for: park
  la sp, hv_stacks             # sp = hv_stacks + (hartid + 1) * HV_STACK_SIZE
  addi t1, t0, 1
  li t2, HV_STACK_SIZE
  mul t1, t1, t2
  add sp, sp, t1
  la t1, trap_vector
  csrw mtvec, t1
  mv a0, t0
  call hv_entry                # (hartid, a1 = boot argument); never returns
2:
  wfi
  j 2b

.text
# Traps.  mscratch always holds this hart's struct percpu.  Swap it with sp to get a base register,
# then tell a trap from U mode (save into the current vCPU) from one in M mode (a hv fault).
.align 4
.globl trap_vector
trap_vector:
  csrrw sp, mscratch, sp
  sw t0, -8(sp)                # percpu scratch words (or, in a nested trap, just below the guest's sp)
  sw t1, -4(sp)
  li t0, PMP_GUARD_CFG
  csrc pmpcfg3, t0             # guard off: an unlocked entry would let M mode write the pristine copy
  csrr t0, mstatus
  li t1, 0x1800
  and t0, t0, t1
  bnez t0, ktrap_entry
  csrr t1, mepc                # a trap from U mode: its pc first, then say a frame is being saved,
  sw t1, PC_ENTRY_EPC(sp)      # so a failure before the frame is whole leaves it recoverable (ReHype)
  li t1, 1
  sw t1, PC_IN_ENTRY(sp)
  lw t0, PC_FRAME(sp)
  SAVE_GPRS t0
  lw t1, -8(sp)
  sw t1, 20(t0)
  lw t1, -4(sp)
  sw t1, 24(t0)
  csrr t1, mscratch
  sw t1, 8(t0)                 # guest sp
  lw t1, PC_ENTRY_EPC(sp)
  sw t1, 0(t0)                 # guest pc
  # Self-check: a frame saved wrong would fail the guest later, far from the cause.  Found here
  # (still in_entry, every register but sp, t0, t1 the guest's), it is the hypervisor's failure.
  CHECK_GPRS t0, t1, trap_frame_bad, 1,3,4,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
.globl trap_frame_saved
trap_frame_saved:              # the vCPU's frame is whole from here
  sw zero, PC_IN_ENTRY(sp)
  csrw mscratch, sp
  addi a0, sp, -PC_BIAS
  lw sp, PC_STACK(sp)
  call trap_user               # handles the trap, may switch vCPU (changes percpu->frame)
.globl return_to_guest
return_to_guest:
  csrr t0, mscratch
  lw t0, PC_FRAME(t0)
  lw t1, 0(t0)
  csrw mepc, t1
  li t1, 0x1800
  csrc mstatus, t1             # MPP = U
  li t1, PMP_GUARD_CFG
  csrs pmpcfg3, t1             # guard on: the locked pristine entry (R) matches U mode too
  .irp r, 1,2,3,4,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw x\r, (\r*4)(t0)
  .endr
  # Self-check, as at the entry: a register loaded wrong is the hypervisor's failure (the frame,
  # still whole, is what a recovery resumes), found before the guest runs on it
  CHECK_GPRS t0, t1, trap_frame_bad, 1,2,3,4,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  lw t1, 24(t0)
  lw t0, 20(t0)
  mret

# A trap frame failed its read-back: a breakpoint in M mode, so ktrap panics with this pc.
.type trap_frame_bad, @function
trap_frame_bad:
  ebreak
  j trap_frame_bad
.size trap_frame_bad, . - trap_frame_bad

ktrap_entry:                   # trap in M mode: save the hv's registers for the panic dump
  # A trap inside a trap entry, before it put percpu back in mscratch (a fail-stop there), swapped
  # the two again: sp is then not a percpu and mscratch is. Swap back, so the panic is reached
  # at once instead of faulting in a loop until the watchdog fires.
  la t0, percpu
  sub t0, sp, t0
  addi t0, t0, -PC_BIAS
  la t1, percpu_bytes
  lw t1, 0(t1)
  bltu t0, t1, 1f
  csrrw sp, mscratch, sp
1:
  addi t0, sp, PC_KTRAP
  SAVE_GPRS t0
  lw t1, -8(sp)
  sw t1, 20(t0)
  lw t1, -4(sp)
  sw t1, 24(t0)
  csrr t1, mscratch
  sw t1, 8(t0)
  csrr t1, mepc
  sw t1, 0(t0)
  csrw mscratch, sp
  addi a0, sp, -PC_BIAS
  lw sp, PC_KSTACK(sp)
  call ktrap                   # returns only for a guarded probe (mepc already moved)
  csrr t0, mscratch
  addi t0, t0, PC_KTRAP
  lw t1, 0(t0)
  csrw mepc, t1
  LOAD_GPRS t0
  lw t0, 20(t0)
  mret

# Watchdog NMI: mnscratch (0x740) holds percpu; mnepc is 0x741.  Goes to the panic path.
nmi_entry:
  csrrw sp, 0x740, sp
  sw t0, (PC_NMI + 20)(sp)
  addi t0, sp, PC_NMI
  SAVE_GPRS t0
  sw t1, 24(t0)
  li t1, PMP_GUARD_CFG
  csrc pmpcfg3, t1             # guard off (the NMI may have come from a guest)
  csrr t1, 0x740
  sw t1, 8(t0)
  csrr t1, 0x741
  sw t1, 0(t0)
  addi a0, sp, -PC_BIAS
  lw sp, PC_KSTACK(sp)
  call nmi_trap
1:
  j 1b

# ReHype (recovery.c).  Both run without a stack: the new instance clears .bss, stacks included.
# void rehype_wait(u32 *release): a parked hart spins until the release word is set, then resets.
.globl rehype_wait
rehype_wait:
  csrw mie, zero
1:
  lw t0, 0(a0)
  beqz t0, 1b
  fence
  li a1, BOOTINFO_ADDR
  j _start
# void rehype_restart(u32 *release): the recovering hart releases the parked harts and resets too.
.globl rehype_restart
rehype_restart:
  fence
  li t0, 1
  sw t0, 0(a0)
  li a1, BOOTINFO_ADDR
  j _start

# u32 probe_read_asm(u32 addr, u32 *guard): read a device register; if the read faults, ktrap
# restores the registers (a0 = 0) and resumes at the guard label.
.globl probe_read_asm
probe_read_asm:
  la t0, 1f
  sw t0, 0(a1)
  mv t1, a0
  li a0, 0
  lw a0, 0(t1)
1:
  sw zero, 0(a1)
  ret

# u32 probe_write_asm(u32 addr, u32 value, u32 *guard): 1 if the store faulted, else 0.
.globl probe_write_asm
probe_write_asm:
  la t0, 1f
  sw t0, 0(a2)
  mv t1, a0
  li a0, 0
  sw a1, 0(t1)
  sw zero, 0(a2)
  ret
1:
  sw zero, 0(a2)
  li a0, 1
  ret

.section .stacks, "aw", @nobits
.align 4
.globl hv_stacks
hv_stacks:
  .space HV_STACK_SIZE * MAX_HARTS
.globl k_stacks
k_stacks:
  .space K_STACK_SIZE * MAX_HARTS
