/* Boot: hart 0 saves the pristine copy, clears static state, reads the boot-info block, builds the
 * preserved heap and creates the PrivVM; every hart then sets up its own PMP, timer and watchdog and
 * enters the scheduler.  Everything here is static state, rebuildable from scratch. */
#include "hv.h"

struct percpu percpu[MAX_HARTS];
const u32 percpu_bytes = sizeof(percpu);   /* start.S: tells a percpu pointer from a stray sp */
struct hv_config hv;
volatile u32 hv_panicking;

/* In .data, not .bss: secondary harts poll it while hart 0 is still clearing .bss. */
volatile u32 boot_release __attribute__((section(".data"))) = 0;
static volatile u32 resume_release;   /* a microreboot: hart 0 has re-integrated the domains */
#define RELEASE_MAGIC 0x474F474Fu

extern char _hv_image_start[], _hv_text_end[], _hv_image_end[], __bss_start[], __bss_end[];
STATIC_ASSERT(sizeof(struct boot_info) == BOOTINFO_V1_SIZE + 16);   /* build.py pack_boot_info: 73 words */
#define AT(f) (offsetof(struct percpu, f) - PC_BIAS)
STATIC_ASSERT(offsetof(struct percpu, scratch) == 0 && PC_BIAS == 8 && AT(frame) == PC_FRAME &&
              AT(stack_top) == PC_STACK && AT(kstack_top) == PC_KSTACK && AT(ktrap) == PC_KTRAP &&
              AT(nmi) == PC_NMI && AT(in_entry) == PC_IN_ENTRY && AT(entry_epc) == PC_ENTRY_EPC &&
              offsetof(struct vcpu, regs) == 0);
#undef AT
extern char hv_stacks[], k_stacks[];
extern void return_to_guest(void);

/* Compiled-in default when no boot-info block is found: one hart, one `hcall` AppVM, modules at
 * their standard addresses (PrivVM first, then the AppVM linked for slot 2). */
static void default_boot_info(struct boot_info *bi)
{
    memset(bi, 0, sizeof(*bi));
    bi->magic = BOOTINFO_MAGIC;
    bi->version = BOOTINFO_VERSION;
    bi->nharts = 1;
    bi->ram_size = 64u << 20;
    bi->nmodules = 2;
    bi->module[0] = (struct boot_module){ MOD_PRIVVM, SLOT_PRIVVM, MODULES_BASE, MODULE_STRIDE };
    bi->module[1] = (struct boot_module){ MOD_APPVM, SLOT_APPVM0, MODULES_BASE + MODULE_STRIDE, MODULE_STRIDE };
    bi->sys.nappvms = 1;
    bi->sys.appvm[0] = (struct appvm_cfg){ 2 /* WL_hcall */, 100, 1, 0xFFFFFFFFu };
}

/* Read a 32-bit word that may not exist (absent device, address past the end of RAM): 0 if the
 * read faults. */
extern u32 probe_read_asm(u32 addr, u32 *guard);   /* start.S */
u32 probe_read(u32 addr)
{
    return probe_read_asm(addr, &this_cpu()->probe_guard);
}

static int valid_boot_info(u32 addr)
{
    if (addr < RAM_BASE || addr > 0xFFFFF000u || (addr & 3) || probe_read(addr) != BOOTINFO_MAGIC)
        return 0;
    const struct boot_info *bi = (const struct boot_info *)(uptr)addr;
    return bi->magic == BOOTINFO_MAGIC && (bi->version == 1 || bi->version == BOOTINFO_VERSION);
}

/* Copy a valid block; a version 1 block has no io_config (defaults apply). */
static void copy_boot_info(u32 addr)
{
    const struct boot_info *bi = (const struct boot_info *)(uptr)addr;
    memset(&hv.bi, 0, sizeof(hv.bi));
    memcpy(&hv.bi, bi, bi->version == 1 ? BOOTINFO_V1_SIZE : sizeof(hv.bi));
}

static const char *read_boot_info(u32 arg)
{
    const char *src = "a1";
    if (valid_boot_info(arg))
        copy_boot_info(arg);
    else if (valid_boot_info(BOOTINFO_ADDR))
        copy_boot_info(BOOTINFO_ADDR), src = "loader block";
    else
        default_boot_info(&hv.bi), src = "built-in default";
    struct boot_info *bi = &hv.bi;
    hv.nharts = bi->nharts >= 1 && bi->nharts <= MAX_HARTS ? bi->nharts : 1;
    hv.slice_ticks = bi->slice_ticks ? bi->slice_ticks : TIMEBASE_HZ / 500;       /* 2 ms */
    hv.watchdog_ticks = bi->watchdog_ticks ? bi->watchdog_ticks : TIMEBASE_HZ / 20; /* 50 ms */
    if (bi->nmodules > MAX_MODULES)
        bi->nmodules = MAX_MODULES;
    if (bi->sys.nappvms > MAX_APPVMS)
        bi->sys.nappvms = MAX_APPVMS;
    return src;
}


/* The pristine copy must match the image and refuse writes even from M mode (locked PMP entry). */
extern u32 probe_write_asm(u32 addr, u32 value, u32 *guard);
static void pristine_check(void)
{
    u32 len = (u32)(_hv_image_end - _hv_image_start);
    u32 text = (u32)(_hv_text_end - _hv_image_start);
    int same = !memcmp((void *)(uptr)PRISTINE_BASE, _hv_image_start, text);
    u32 w = *(volatile u32 *)(uptr)PRISTINE_BASE;
    int locked = probe_write_asm(PRISTINE_BASE, ~w, &this_cpu()->probe_guard);
    hv_printf("hv: pristine copy of %u bytes at 0x%08x: text %s, %s\n", len, PRISTINE_BASE,
              same ? "matches" : "DIFFERS", locked ? "write-protected" : "WRITABLE");
    if (!locked)
        *(volatile u32 *)(uptr)PRISTINE_BASE = w;
}

static void wdog_init(struct percpu *pc)
{
    u32 bank = WDOG_BASE + WDOG_STRIDE * pc->hartid;
    pc->has_wdog = probe_read(bank) == WDOG_ID_VALUE;
    if (!pc->has_wdog)
        return;
    csr_write(0x740, (u32)(uptr)pc + PC_BIAS);       /* mnscratch: NMI entry finds percpu */
    csr_set(0x744, 1u << 3);                         /* mnstatus.NMIE: an NMI that led to a reboot
                                                        left it clear, and hang detection with it */
    mmio_write(bank + 8, hv.watchdog_ticks);
    mmio_write(bank + 12, 1);
    mmio_write(bank + 4, 1);
}

static void percpu_init(u32 h)
{
    struct percpu *pc = &percpu[h];
    pc->hartid = h;
    pc->stack_top = (u32)(uptr)(hv_stacks + HV_STACK_SIZE * (h + 1));
    pc->kstack_top = (u32)(uptr)(k_stacks + K_STACK_SIZE * (h + 1));
}

/* Per-hart bring-up common to all harts, then into the scheduler. */
static void __attribute__((noreturn)) hart_start(u32 h)
{
    struct percpu *pc = &percpu[h];
    pmp_lock_pristine();
    wdog_init(pc);
    sched_init_hart();
    plic_init_hart();
    timer_init_hart();
    if (!recovery_booting())                      /* a microreboot re-links the preserved ones */
        hv_timers_start();
    int recovering = recovery_booting();
    __atomic_store_n(&pc->online, 1, __ATOMIC_RELEASE);
    if (h != 0 && recovering) {                       /* idle until hart 0 has re-integrated the */
        while (!READ_ONCE(resume_release))            /* domains: no timer fires half-way */
            ;
        timer_reprogram();                            /* timers hart 0 linked on this hart meanwhile */
    }
    if (h == 0) {
        u64 deadline = now() + TIMEBASE_HZ / 10;      /* fewer harts than configured: use those */
        for (u32 i = 1; i < hv.nharts; i++)
            while (!__atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE) && now() < deadline)
                ;
        u32 n = 1;
        while (n < hv.nharts && percpu[n].online)
            n++;
        if (n != hv.nharts)
            hv_printf("hv: only %u of %u harts came up\n", n, hv.nharts);
        hv.nharts = n;
        if (recovering) {
            recovery_resume();
            WRITE_ONCE(resume_release, 1);
            enter_first_guest();
        }
        pristine_check();
        hv_printf("hv: %u hart(s) online, watchdog %s\n", hv.nharts, pc->has_wdog ? "present" : "absent");
        long err = 0;
        u32 privmod = ~0u;
        for (u32 i = 0; i < hv.bi.nmodules; i++)
            if (hv.bi.module[i].kind == MOD_PRIVVM)
                privmod = i;
        struct domain *d = privmod == ~0u ? NULL : domain_create(privmod, 0, ~0u, &err);
        if (!d)
            panic("hart_start", "cannot create the PrivVM from its boot module");
        d->privileged = 1;
        d->shinfo->start.privileged = 1;
        memcpy(&d->shinfo->start.sys, &hv.bi.sys, sizeof(hv.bi.sys));
        d->shinfo->start.nmodules = hv.bi.nmodules;
        memcpy(d->shinfo->start.module, hv.bi.module, sizeof(hv.bi.module));
        d->shinfo->start.io = hv.bi.io;
        domain_pause(d, 0);
        if (hv.bi.boot_flags & BOOT_TEST_PANIC)
            (void)mmio_read(0x00F00000);              /* no device there: an access fault in M mode */
    }
    enter_first_guest();
}

/* First C code on every hart (start.S), with a0 = hart id and a1 = the boot argument. */
void __attribute__((noreturn)) hv_entry(u32 h, u32 arg)
{
    csr_write(mscratch, (u32)(uptr)&percpu[h] + PC_BIAS);
    if (h != 0) {
        while (READ_ONCE(boot_release) != RELEASE_MAGIC)
            ;
        fence();
        if (h >= hv.nharts)
            park_hart();
        percpu_init(h);
        hart_start(h);
    }
    /* Hart 0: the pristine copy first, while .data still holds its initial values (a microreboot
     * booted from it, and the copy is locked read-only by now). */
    int recovering = recovery_booting();
    u32 image = (u32)(_hv_image_end - _hv_image_start);
    if (image <= PRISTINE_SIZE && !recovering)
        memcpy((void *)(uptr)PRISTINE_BASE, _hv_image_start, image);
    memset(__bss_start, 0, (u32)(__bss_end - __bss_start));
    time_init();
    percpu_init(0);
    const char *src = read_boot_info(arg);
    hv_printf("\nhv: Microreboot Workbench hypervisor, boot info from %s, %u hart(s), %u AppVM(s)%s\n",
              src, hv.nharts, hv.bi.sys.nappvms, recovering ? ", recovery boot" : "");
    if (image > PRISTINE_SIZE)
        panic("hv_entry", "image larger than the pristine area");
    if (recovering)
        recovery_early();                         /* keeps the preserved heap: no heap_init */
    else
        heap_init();
    fence();
    WRITE_ONCE(boot_release, RELEASE_MAGIC);
    hart_start(0);
}

void __attribute__((noreturn)) park_hart(void)
{
    if (READ_ONCE(hv_panicking) && hv.bi.recovery == RECOVERY_rehype)
        recovery_park();                            /* ReHype waits to re-enter; others stop here */
    csr_write(mie, 0);
    for (;;)
        __asm__ volatile("wfi");
}

/* A trap taken in M mode: a guarded probe resumes; anything else is a hypervisor failure. */
void ktrap(struct percpu *pc)
{
    u32 cause = csr_read(mcause);
    if (pc->probe_guard && (cause == 5 || cause == 7 || cause == 1)) {
        pc->ktrap.x[REG_PC] = pc->probe_guard;
        pc->probe_guard = 0;
        return;
    }
    pc->mcause = cause;
    pc->mepc = csr_read(mepc);
    pc->mtval = csr_read(mtval);
    pc->trap_kind = 1;                               /* PANIC_TRAP */
    panic("ktrap", "machine-mode exception");
}

void __attribute__((noreturn)) nmi_trap(struct percpu *pc)
{
    pc->mcause = csr_read(0x742);
    pc->mepc = csr_read(0x741);
    pc->mtval = 0;
    pc->nmi_from_guest = ((csr_read(0x744) >> 11) & 3) == 0;   /* mnstatus.MNPP: from U mode */
    pc->nmi_taken = 1;
    pc->trap_kind = 2;                               /* PANIC_NMI */
    panic("nmi_trap", "watchdog NMI");
}
