# Guest entry: the hypervisor starts the vCPU here with a0 = domid, a1 = shared-info page.
# upcall_entry is where the hypervisor diverts the vCPU to deliver events; HV_iret returns.
.section .text.start, "ax"
.globl _start
_start:
  la sp, guest_stack_top
  call guest_entry
1:
  j 1b

.text
.globl upcall_entry
.align 2
upcall_entry:
  andi sp, sp, -16            # below the interrupted code's stack, ABI aligned
  addi sp, sp, -16
  call do_upcall
  li a7, 9                    # HC_iret (hypercall_list.h); restores every register
  ecall
2:
  j 2b

.bss
.align 4
.globl guest_stack
guest_stack:
  .space 16384
.globl guest_stack_top
guest_stack_top:
