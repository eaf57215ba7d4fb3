/* The console: the 16550 UART shared by the hypervisor and, through console_io, every domain.
 * Guest output is line buffered per domain and printed with a "(dN) " prefix, so lines from
 * different harts never interleave. */
#include "hv.h"
#include "console.h"

static struct spinlock console_lock;

void uart_putc(char c)
{
    volatile u8 *uart = (volatile u8 *)(uptr)UART_BASE;
    while (!(uart[5] & 0x20))          /* LSR.THRE */
        ;
    uart[0] = (u8)c;
}

static void puts_raw(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

/* Print from the hypervisor.  During a panic the lock is skipped: its holder may be dead. */
void hv_printf(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    int locked = !hv_panicking;
    if (locked)
        LOCK(&console_lock);
    puts_raw(buf);
    if (locked)
        spin_unlock(&console_lock);
}

static void flush_line(struct domain *d)
{
    char pre[12];
    snprintf(pre, sizeof(pre), "(d%u) ", d->domid);
    puts_raw(pre);
    for (u32 i = 0; i < d->cons_len; i++)
        uart_putc(d->cons_buf[i]);
    uart_putc('\n');
    d->cons_len = 0;
}

/* console_io(CONSOLEIO_write, len, buf) -> bytes written */
long do_console_io(struct vcpu *v, const u32 *a)
{
    struct domain *d = v->dom;
    u32 len = a[1], buf = a[2];
    if (a[0] != CONSOLEIO_write)
        return -EINVAL;
    if (len > CONSOLE_MAX_WRITE)
        return -EINVAL;
    if (!guest_range_ok(d, buf, len))
        return -EFAULT;
    const char *s = (const char *)(uptr)buf;
    LOCK(&console_lock);
    for (u32 i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\n') {
            flush_line(d);
            continue;
        }
        if (c < 0x20 && c != '\t')
            c = '.';
        d->cons_buf[d->cons_len++] = c;
        if (d->cons_len == sizeof(d->cons_buf))
            flush_line(d);
    }
    spin_unlock(&console_lock);
    return (long)len;
}

void console_dump(void)
{
    hv_printf("console: lock %u (holder %u)\n", console_lock.locked, console_lock.holder);
}
