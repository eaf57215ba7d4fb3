/* The board and the RAM layout every image agrees on (README "Machine reference"; DESIGN section 3).
 * Python reads these numbers from here (abi.py parses the #defines), so change them only here. */
#ifndef PLATFORM_H
#define PLATFORM_H

/* Devices (QEMU virt subset). */
#define SYSCON_BASE      0x00100000u   /* sifive_test: 0x5555 off, (code<<16)|0x3333 fail, 0x7777 reset */
#define SYSCON_POWEROFF  0x5555u
#define SYSCON_FAIL      0x3333u
#define SYSCON_RESET     0x7777u       /* board reset: the firmware reloads the images (recovery 'reboot') */
#define WDOG_BASE        0x00102000u   /* per-hart watchdog bank at +0x10*h; absent on QEMU */
#define WDOG_STRIDE      0x10u
#define WDOG_ID_VALUE    0x57444F47u   /* "GODW" in memory order */
#define CLINT_BASE       0x02000000u
#define CLINT_MSIP(h)    (CLINT_BASE + 4u * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000u + 8u * (h))
#define CLINT_MTIME_OFF  0xBFF8u       /* mtime within the CLINT (the workbench reads it too) */
#define CLINT_MTIME      (CLINT_BASE + CLINT_MTIME_OFF)
#define PLIC_BASE        0x0C000000u
#define UART_BASE        0x10000000u
#define VIRTIO_BASE      0x10001000u   /* virtio-mmio slot i at VIRTIO_BASE + VIRTIO_STRIDE*i */
#define VIRTIO_STRIDE    0x1000u
#define VIRTIO_SLOTS     8
#define VIRTIO_IRQ(i)    ((i) + 1u)    /* PLIC source of slot i (QEMU virt numbering) */
#define PLIC_PRIORITY(s) (PLIC_BASE + 4u * (s))
#define PLIC_ENABLE(c)   (PLIC_BASE + 0x2000u + 0x80u * (c))
#define PLIC_THRESHOLD(c) (PLIC_BASE + 0x200000u + 0x1000u * (c))
#define PLIC_CLAIM(c)    (PLIC_BASE + 0x200004u + 0x1000u * (c))
#define PLIC_CTX(h)      (2u * (h))    /* machine-mode context of hart h (QEMU virt numbering) */
#define DISK_SECTOR      512u
#define TIMEBASE_HZ      10000000u     /* mtime ticks per second */

/* RAM layout.  Regions are power-of-two sized and aligned so one NAPOT PMP entry covers each. */
#define RAM_BASE         0x80000000u
#define HV_BASE          0x80000000u   /* hypervisor image: text, data, bss, stacks */
#define HV_SIZE          0x00100000u
#define PRISTINE_BASE    0x80100000u   /* pristine copy of hv text+data, locked read-only by PMP */
#define PRISTINE_SIZE    0x00100000u
#define PHEAP_BASE       0x80200000u   /* preserved heap: state that survives a hv microreboot */
#define PHEAP_SIZE       0x00100000u
#define BOOTINFO_ADDR    0x80300000u   /* boot-info block when a1 does not point to one (QEMU loader) */
#define BOOTINFO_SIZE    0x00001000u
#define MODULES_BASE     0x80400000u   /* boot modules (ELF files, raw), one per 512 KiB */
#define MODULE_STRIDE    0x00080000u
#define MAX_MODULES      8
#define SLOTS_BASE       0x80800000u   /* domain slots: one domain's whole memory each */
#define SLOT_SIZE        0x00200000u
#define MAX_SLOTS        8
#define SLOT_ADDR(s)     (SLOTS_BASE + (u32)(s) * SLOT_SIZE)

/* Inside a slot: shared-info page, config-store ring page, then the guest image. */
#define SLOT_SHINFO_OFF  0x0000u
#define SLOT_STORE_OFF   0x1000u
#define SLOT_IMAGE_OFF   0x2000u
#define PAGE_SIZE        0x1000u

/* Fixed slot roles. */
#define SLOT_PRIVVM      0
#define SLOT_DVM         1             /* the driver VM */
#define SLOT_APPVM0      2             /* AppVM i lives in slot SLOT_APPVM0 + i */
#define MAX_APPVMS       (MAX_SLOTS - SLOT_APPVM0)
#define DVM_HEARTBEAT_TICKS 10000u     /* the driver VM's heartbeat period (1 ms of mtime) */
#define DVM_HEARTBEAT_LIMIT 100000u    /* the PrivVM calls it late after 10 ms */
#define PRIVVM_HEARTBEAT_TICKS 10000u  /* the PrivVM's heartbeat period (1 ms); the hv's monitor
                                          declares it hung when one is older than DVM_HEARTBEAT_LIMIT */
#define COMPONENT_MAX_REBOOTS 3        /* a DVM or PrivVM that fails again after this many
                                          microreboots stays down (no endless reboot loop) */
#define PRIVVM_KEEP_OFF  0x00180000u   /* PrivVM slot: what survives its microreboot (store, toolstack
                                          bookkeeping), past the image (guest.ld limit) */

#define MAX_HARTS        8

/* PMP entries (16 per hart). */
#define PMP_SLOT         0             /* the running domain's own slot */
#define PMP_MAP0         1             /* grant-mapped pages: entries 1..8 */
#define NR_PMP_MAPS      8
#define PMP_DEV0         9             /* assigned device windows: entries 9..12, as TOR pairs */
#define NR_PMP_DEV       4
#define PMP_GUARD        14            /* U-mode deny over the pristine copy, on only while a guest runs */
#define PMP_PRISTINE     15            /* locked: pristine copy, read-only even for M mode */

#endif
