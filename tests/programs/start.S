# Entry of the device test program: hart 0 runs devtest_main on the stack above bss; others sleep.
.section .text.start, "ax"
.globl _start
_start:
    bnez a0, 2f
    la sp, __stack_top
    call devtest_main
1:  j 1b
2:  wfi
    j 2b
