/* ack_irqs: an interrupt the failed instance claimed from the PLIC but never saw acknowledged stays
 * in service, so its source can never interrupt again; if its event never reached the owner, the
 * owner never acknowledges it.  Complete every routed source's claim and clear stale software
 * interrupts (fix stage), then re-deliver an event for each one that was in flight, so its driver
 * looks at the device again (post stage, once run queues exist). */
#include "rehype.h"

static u32 redeliver;                  /* bit irq: was in flight at the failure */

void rehype_ack_irqs(u32 stage)
{
    struct preserved *p = PRESERVED;
    if (stage == STAGE_FIX) {
        redeliver = 0;
        for (u32 h = 0; h < hv.nharts; h++)
            mmio_write(CLINT_MSIP(h), 0);
        for (u32 irq = 1; irq < NR_PIRQS; irq++) {
            struct pirq *q = &p->pirq[irq];
            if (!q->owner)
                continue;
            if (q->inflight)
                redeliver |= 1u << irq;
            q->inflight = 0;
            mmio_write(PLIC_CLAIM(PLIC_CTX(q->hart < hv.nharts ? q->hart : 0)), irq);   /* complete */
        }
    } else if (stage == STAGE_POST) {
        for (u32 irq = 1; irq < NR_PIRQS; irq++) {
            struct domain *d = (redeliver >> irq & 1) && p->pirq[irq].owner ? domain_get(p->pirq[irq].owner - 1) : NULL;
            u32 port = d ? d->pirq_port[irq] : 0;
            if (port)
                evtchn_set_pending(d, port);
        }
    }
}
