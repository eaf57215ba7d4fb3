/* Freestanding support shared by all images: strings, formatted print, spinlocks. */
#ifndef LIB_H
#define LIB_H
#include "types.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_end(ap) __builtin_va_end(ap)
#define va_arg(ap, t) __builtin_va_arg(ap, t)

void *memset(void *d, int c, u32 n);
void *memcpy(void *d, const void *s, u32 n);
int memcmp(const void *a, const void *b, u32 n);
int copy_checked(void *dst, const void *src, u32 n);   /* memcpy, read back: nonzero if the copy is wrong */
u32 strlen(const char *s);
u32 strnlen(const char *s, u32 max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, u32 n);
void strlcpy(char *d, const char *s, u32 size);
u32 atou(const char *s);   /* decimal, or hex with 0x; stops at the first non-digit */

int vsnprintf(char *buf, u32 size, const char *fmt, va_list ap);
int snprintf(char *buf, u32 size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Spinlock on an AMO swap.  `holder` (hart id + 1, 0 = free) lets dumps and recovery see who holds it. */
struct spinlock {
    u32 locked;
    u32 holder;
};
static inline void spin_lock_as(struct spinlock *l, u32 who)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (READ_ONCE(l->locked))
            ;
    l->holder = who;
}
static inline int spin_trylock_as(struct spinlock *l, u32 who)
{
    if (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        return 0;
    l->holder = who;
    return 1;
}
static inline void spin_unlock(struct spinlock *l)
{
    l->holder = 0;
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
static inline void spin_init(struct spinlock *l) { l->locked = 0; l->holder = 0; }

#endif
