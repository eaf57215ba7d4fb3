/* Split-driver connection states, written by each end under its own directory in the config store
 * ("state" key, decimal), numbered as Xen's XenbusState so the handshake reads familiar:
 *
 *   backend  Initialising -> InitWait            (published its parameters, waits for the frontend)
 *   frontend Initialising -> Initialised         (granted its ring page, allocated its event channel,
 *                                                  wrote ring-ref / event-channel)
 *   backend  InitWait     -> Connected           (mapped the ring, bound the channel)
 *   frontend Initialised  -> Connected           (may now send requests)
 *   either   -> Closing -> Closed                (tear down)
 *
 * A frontend that sees the backend go back below Connected (a restarted driver VM republishes
 * InitWait) starts over at Initialised with a fresh ring and channel, then resubmits what was in
 * flight.  The toolstack creates the two directories:
 *   /local/domain/<fe>/device/<type>/0/{backend, backend-id, state}
 *   /local/domain/<be>/backend/<type>/<fe>/{frontend, frontend-id, state, ...type parameters}
 * with <type> "vbd" (block, blkif.h) or "vif" (network, netif.h). */
#ifndef XENBUS_ABI_H
#define XENBUS_ABI_H
enum xenbus_state { XB_UNKNOWN = 0, XB_INITIALISING = 1, XB_INITWAIT = 2, XB_INITIALISED = 3,
                    XB_CONNECTED = 4, XB_CLOSING = 5, XB_CLOSED = 6 };
#endif
