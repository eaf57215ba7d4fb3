/* dvm_reboot, the hypervisor's half: when a domain that owns devices is destroyed, reset each virtio
 * device it was given (status 0) before its windows and interrupts are released, so no device keeps
 * doing DMA into the buffers of a dead driver VM and the next one starts from a quiet device.  The
 * rest of the mechanism is the toolstack's (privvm/recovery/dvm_reboot.c). */
#include "hv.h"

#define VIRTIO_MAGIC_VALUE 0x74726976u
#define VIRTIO_REG_MAGIC   0x000
#define VIRTIO_REG_STATUS  0x070

void dvm_reboot_reset_devices(struct domain *d)
{
    for (u32 i = 0; i < d->ndev && i < MAX_DEVICES; i++)
        for (u32 off = 0; off < d->dev[i].size; off += VIRTIO_STRIDE) {
            u32 base = d->dev[i].base + off;
            if (mmio_read(base + VIRTIO_REG_MAGIC) == VIRTIO_MAGIC_VALUE)
                mmio_write(base + VIRTIO_REG_STATUS, 0);
        }
}
