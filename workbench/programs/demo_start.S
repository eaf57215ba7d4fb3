# Reset entry of the demo program: a 4 KiB stack per hart, then demo_main(hartid, nharts).
.section .text.start
.globl _start
_start:
    la sp, __stack_top
    slli t0, a0, 12
    sub sp, sp, t0
    li a1, 0
    la t1, nharts
    lw a1, 0(t1)
    call demo_main
1:  j 1b
.data
.globl nharts
nharts: .word 1
