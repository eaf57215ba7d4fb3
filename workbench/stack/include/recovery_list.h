/* THE list of recovery mechanisms (DESIGN section 6): number, name, implemented (1) or planned (0).
 * It feeds enum recovery_kind (bootinfo.h: boot_info.recovery), the hypervisor's table
 * (hv/recovery/recovery.c) and Python (abi.recovery_mechanisms() reads these lines; SystemConfig
 * accepts the implemented ones and raises NotImplementedError for the planned).
 * Usage: #define RECOVERY(nr, name, implemented) ... then #include "recovery_list.h".
 * No include guard on purpose. */
RECOVERY(0, halt,          1)   /* no recovery: the panicking hart halts the system (the baseline) */
RECOVERY(1, reboot,        1)   /* reboot the whole machine: every VM starts again */
RECOVERY(2, rehype,        1)   /* microreboot the hypervisor, keeping the VMs (ReHype) */
RECOVERY(3, dvm_reboot,    0)   /* microreboot the driver VM, the frontends reconnect */
RECOVERY(4, privvm_reboot, 0)   /* microreboot the PrivVM and its configuration store */
