/* Minimal vsnprintf: %d %u %x %p %s %c %%, with width, '-' and '0' flags and the 'l' modifier (ignored:
 * long is 32 bits).  Always NUL-terminates; returns the length it wanted to write. */
#include "lib.h"

struct out { char *buf; u32 size, len; };

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_num(struct out *o, u32 v, u32 base, int neg, int width, char pad, int left)
{
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    int fill = width - n;
    for (; !left && fill > 0; fill--)
        put(o, pad);
    while (n)
        put(o, tmp[--n]);
    for (; fill > 0; fill--)
        put(o, ' ');
}

int vsnprintf(char *buf, u32 size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, left = 0;
        if (*fmt == '-')
            left = 1, fmt++;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            fmt++;
        switch (*fmt) {
        case 'd': {
            s32 v = va_arg(ap, s32);
            put_num(&o, v < 0 ? (u32)-v : (u32)v, 10, v < 0, width, pad, left);
            break;
        }
        case 'u': put_num(&o, va_arg(ap, u32), 10, 0, width, pad, left); break;
        case 'x': put_num(&o, va_arg(ap, u32), 16, 0, width, pad, left); break;
        case 'p': put(&o, '0'); put(&o, 'x'); put_num(&o, va_arg(ap, u32), 16, 0, 8, '0', 0); break;
        case 'c': put(&o, (char)va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int fill = width - (int)strlen(s);
            for (; !left && fill > 0; fill--)
                put(&o, ' ');
            while (*s)
                put(&o, *s++);
            for (; fill > 0; fill--)
                put(&o, ' ');
            break;
        }
        case '%': put(&o, '%'); break;
        case 0: fmt--; break;
        default: put(&o, '%'); put(&o, *fmt); break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, u32 size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
