/* The demo program: every hart computes a CRC-32 of its own buffer, takes a turn at the console under
 * an AMO spinlock, and hart 0 powers the machine off when all are done. Shows the machine model's
 * harts, atomics, UART and syscon before the virtualization stack exists. */
#include <stdint.h>

#define UART ((volatile uint8_t *)0x10000000)
#define SYSCON ((volatile uint32_t *)0x00100000)
#define NHARTS_MAX 8

static volatile uint32_t lock, done;
static uint32_t crc_result[NHARTS_MAX];
static uint8_t buf[NHARTS_MAX][4096];

static void putc_(char c) { *UART = (uint8_t)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(uint32_t v) { for (int i = 28; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }

static void acquire(void) { while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE)) ; }
static void release(void) { __atomic_store_n(&lock, 0, __ATOMIC_RELEASE); }

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

void demo_main(uint32_t hart, uint32_t nharts)
{
    for (uint32_t i = 0; i < sizeof buf[0]; i++) buf[hart][i] = (uint8_t)(i * 31 + hart);
    uint32_t rounds = 64, c = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        c = (c * 33) ^ (crc32(buf[hart], sizeof buf[0]) + r);
        buf[hart][r] ^= (uint8_t)c;   /* each round hashes different data */
    }
    crc_result[hart] = c;
    acquire();
    puts_("hart "); putc_((char)('0' + hart)); puts_(": crc mix = 0x"); puthex(c); puts_("\n");
    release();
    __atomic_fetch_add(&done, 1, __ATOMIC_ACQ_REL);
    if (hart == 0) {
        while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) != nharts) ;
        puts_("all harts done\n");
        *SYSCON = 0x5555;
    }
    for (;;) __asm__ volatile("wfi");
}
