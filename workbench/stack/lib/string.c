/* Byte and string routines; the compiler also calls memset/memcpy for struct copies. */
#include "lib.h"

void *memset(void *d, int c, u32 n)
{
    u8 *p = d;
    if ((((uptr)p | n) & 3) == 0) {        /* word stores when aligned: faster on the simulator */
        u32 w = (u8)c * 0x01010101u;
        for (u32 i = 0; i < n; i += 4)
            *(u32 *)(p + i) = w;
        return d;
    }
    while (n--)
        *p++ = (u8)c;
    return d;
}

/* Not inlined into copy_checked below: every copy runs this one loop, and the read-back is other code */
__attribute__((noinline)) void *memcpy(void *d, const void *s, u32 n)
{
    u8 *dp = d;
    const u8 *sp = s;
    if ((((uptr)dp | (uptr)sp | n) & 3) == 0) {
        for (u32 i = 0; i < n; i += 4)
            *(u32 *)(dp + i) = *(const u32 *)(sp + i);
        return d;
    }
    while (n--)
        *dp++ = *sp++;
    return d;
}

/* Copy n bytes, then read the copy back against the source with other code than memcpy's; nonzero
 * when they differ.  For copies whose corruption would surface far away (a guest's register frame, a
 * block on its way to the disk): the caller fails there and then, so its recovery starts from here. */
int copy_checked(void *dst, const void *src, u32 n)
{
    memcpy(dst, src, n);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* fence rw, rw here; also builds for the host tests */
    if (!(((uptr)dst | (uptr)src | n) & 3)) {
        const volatile u32 *d = dst, *s = src;
        for (u32 i = 0; i < n / 4; i++)
            if (d[i] != s[i])
                return 1;
        return 0;
    }
    const volatile u8 *d = dst, *s = src;
    for (u32 i = 0; i < n; i++)
        if (d[i] != s[i])
            return 1;
    return 0;
}

int memcmp(const void *a, const void *b, u32 n)
{
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

u32 strlen(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

u32 strnlen(const char *s, u32 max)
{
    u32 n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, u32 n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (u8)*a - (u8)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

void strlcpy(char *d, const char *s, u32 size)
{
    u32 i = 0;
    if (!size)
        return;
    for (; i + 1 < size && s[i]; i++)
        d[i] = s[i];
    d[i] = 0;
}

u32 atou(const char *s)
{
    u32 v = 0;
    if (s[0] == '0' && s[1] == 'x') {
        for (s += 2;; s++) {
            u32 c = (u8)*s, d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else break;
            v = v * 16 + d;
        }
        return v;
    }
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (u32)(*s - '0');
    return v;
}
