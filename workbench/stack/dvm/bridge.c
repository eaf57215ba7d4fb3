/* The bridge between the AppVMs' virtual interfaces and the wire (the NIC): a frame for a vif's MAC
 * (or broadcast) goes to that vif; anything an AppVM sends that is not for another vif goes out on
 * the wire.  No learning: every vif's MAC is known from the store. */
#include "dvm.h"

void bridge_from_wire(const u8 *frame, u32 len)
{
    if (len >= 14)
        netback_deliver(frame, frame, len);             /* for nobody here: dropped */
}

int bridge_from_vif(const u8 *frame, u32 len, u32 tag)
{
    static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    if (memcmp(frame, bcast, 6) && netback_deliver(frame, frame, len))
        return 1;                                       /* to another AppVM on this host */
    return vnet_send(frame, len, tag);
}
