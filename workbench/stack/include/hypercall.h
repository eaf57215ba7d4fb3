/* Guest side of the hypercall ABI: ecall with the number in a7, arguments in a0..a5, result in a0.
 * One stub per entry of hypercall_list.h, named hv_<name>(a0..a5). */
#ifndef HYPERCALL_H
#define HYPERCALL_H
#include "types.h"

enum hypercall_nr {
#define HCALL(nr, name) HC_##name = nr,
#include "hypercall_list.h"
#undef HCALL
    NR_HYPERCALLS
};

#define HV_VERSION 0x00010000

static inline long hcall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    register long r_a0 __asm__("a0") = a0;
    register long r_a1 __asm__("a1") = a1;
    register long r_a2 __asm__("a2") = a2;
    register long r_a3 __asm__("a3") = a3;
    register long r_a4 __asm__("a4") = a4;
    register long r_a5 __asm__("a5") = a5;
    register long r_a7 __asm__("a7") = nr;
    __asm__ volatile("ecall"
                     : "+r"(r_a0)
                     : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a5), "r"(r_a7)
                     : "memory");
    return r_a0;
}

#define HCALL(nr, name)                                                                         \
    static inline long hv_##name(long a0, long a1, long a2, long a3, long a4, long a5)          \
    { return hcall6(nr, a0, a1, a2, a3, a4, a5); }
#include "hypercall_list.h"
#undef HCALL

#endif
