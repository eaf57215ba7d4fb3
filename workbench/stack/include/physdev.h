/* ABI of physdev_op(cmd, arg): physical interrupts of devices assigned to a driver domain.
 * A device interrupt is claimed from the PLIC by the hypervisor and delivered to the owning domain
 * as an event on the port it bound with EVTCHNOP_bind_pirq; the PLIC claim is completed only when
 * the domain acknowledges with PHYSDEVOP_eoi, so the line stays quiet until the driver has
 * serviced (and acknowledged) the device.  Devices are assigned by the toolstack: domctl
 * DOMCTL_assign_device. */
#ifndef PHYSDEV_ABI_H
#define PHYSDEV_ABI_H
#include "types.h"

#define NR_PIRQS 32          /* PLIC sources 1..31 can be routed (0 is "no interrupt") */

enum physdev_cmd { PHYSDEVOP_eoi = 0 };

struct physdev_eoi {
    u32 irq;                 /* IN: PLIC source the caller owns and was notified of */
};
#endif
