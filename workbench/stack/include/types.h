/* Fixed-width types and tiny helpers shared by every stack image (hv, guests). Freestanding: no libc. */
#ifndef TYPES_H
#define TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed short s16;
typedef signed int s32;
typedef signed long long s64;
typedef unsigned long uptr;

#ifndef NULL
#define NULL ((void *)0)
#endif
#define offsetof(t, f) __builtin_offsetof(t, f)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STATIC_ASSERT(c) _Static_assert(c, #c)
#define barrier() __asm__ volatile("" ::: "memory")
#define fence() __asm__ volatile("fence rw, rw" ::: "memory")
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#endif
