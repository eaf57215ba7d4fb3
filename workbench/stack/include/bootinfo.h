/* Boot-info block: how the workbench (or a QEMU loader file) tells the hypervisor what to boot.
 * Every field is a u32, so Python packs it with struct.pack("<...I"). The hypervisor looks for it at
 * a1 (our machine), then at BOOTINFO_ADDR (QEMU's loader), else uses a built-in default. */
#ifndef BOOTINFO_H
#define BOOTINFO_H
#include "types.h"
#include "platform.h"

#define BOOTINFO_MAGIC   0x4257524Du   /* "MRWB" in memory order */
#define BOOTINFO_VERSION 2      /* 2 added struct io_config; version 1 blocks are still accepted */

enum module_kind { MOD_NONE = 0, MOD_PRIVVM = 1, MOD_APPVM = 2, MOD_DVM = 3 };

struct boot_module {
    u32 kind;      /* enum module_kind */
    u32 slot;      /* slot the image is linked for */
    u32 addr;      /* physical address of the ELF file */
    u32 size;      /* bytes */
};

/* One AppVM of the system configuration; the PrivVM's toolstack creates it. */
struct appvm_cfg {
    u32 workload;    /* enum workload_id (workload.h) */
    u32 iterations;  /* workload size */
    u32 seed;        /* workload seed: results depend only on (workload, iterations, seed) */
    u32 hart;        /* pin to this hart; 0xFFFFFFFF = round robin */
};

struct sys_config {
    u32 nappvms;
    u32 flags;       /* SYS_* */
    struct appvm_cfg appvm[MAX_APPVMS];
};

/* Split I/O (version 2): the driver VM's view of the disk and the network peer. */
struct io_config {
    u32 disk_region;  /* bytes of disk per AppVM: AppVM i owns [i*disk_region, (i+1)*disk_region);
                         0 = IO_DEFAULT_REGION */
    u32 net_count;    /* requests the peer sends each `net` AppVM (= its iterations); 0 = the
                         AppVM's own iterations */
    u32 dvm_restart;  /* test hook: the DVM restarts its devices and backends once, after answering
                         this many block requests (0 = never) */
    u32 component_recovery;  /* recovery of the other components: bits 0..7 the DVM's, 8..15 the
                                PrivVM's (enum recovery_kind; RECOVERY_halt = none) */
};
#define COMPONENT_RECOVERY_DVM(io)    ((io)->component_recovery & 0xFF)
#define COMPONENT_RECOVERY_PRIVVM(io) (((io)->component_recovery >> 8) & 0xFF)
#define IO_DEFAULT_REGION (1u << 20)

#define SYS_HEALTH_CHECK (1u << 0)  /* after the AppVMs: destroy AppVM 0, create a fresh one, run it */

/* boot_info.recovery: RECOVERY_<name> per line of recovery_list.h */
enum recovery_kind {
#define RECOVERY(nr, name, implemented) RECOVERY_##name = nr,
#include "recovery_list.h"
#undef RECOVERY
    RECOVERY_COUNT
};
enum panic_action { PANIC_HALT = 0, PANIC_POWEROFF_FAIL = 1 };

struct boot_info {
    u32 magic;            /* BOOTINFO_MAGIC */
    u32 version;          /* BOOTINFO_VERSION */
    u32 nharts;           /* harts the hypervisor uses (others park) */
    u32 ram_size;         /* bytes of RAM from RAM_BASE */
    u32 recovery;         /* enum recovery_kind */
    u32 recovery_flags;   /* one bit per enhancement (hv/recovery/) */
    u32 panic_action;     /* enum panic_action: after the panic dump (and failed recovery) */
    u32 slice_ticks;      /* scheduler time slice, mtime ticks; 0 = default */
    u32 watchdog_ticks;   /* watchdog timeout, mtime ticks; 0 = default */
    u32 boot_flags;       /* BOOT_* */
    u32 nmodules;
    struct boot_module module[MAX_MODULES];
    struct sys_config sys;
    struct io_config io;  /* version >= 2 */
};
#define BOOTINFO_V1_SIZE 276

#define BOOT_RECOVERY    (1u << 0)   /* this boot is a microreboot: reuse the preserved heap */
#define BOOT_DUMP_AT_EXIT (1u << 1)  /* run every hv state dump before powering off */
#define BOOT_TEST_PANIC  (1u << 2)   /* test of the panic path: hart 0 faults right after boot */

#endif
