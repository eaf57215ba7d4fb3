# Device events: block completions, frames on the wire, the network peer's clock. One queue in the
# machine State (so snapshots carry it), sorted by cycle, FIFO among equal cycles. The run loop cuts
# rounds at the next event and runs the due ones at round start (run.pxi, device_events), each by the
# device whose bus.pxi row owns its kind.

cdef enum:
    EV_BLK_DONE = 1         # a: unused, b: head of the chain
    EV_NET_TX_DONE = 2      # b: head, c: bytes
    EV_PEER_TICK = 3        # the peer sends its next round of requests
    EV_NET_RX_ARRIVE = 4    # a: peer slot, b: seq: a request frame reaches the NIC
    EV_PEER_RX = 5          # a: slot, b: seq, c: PREC_* flags: a reply frame reaches the peer
    EV_RX_TIMEOUT = 6       # frames waiting for an RX buffer too long are dropped
    EV_PEER_RETRY = 7       # a: slot, b: seq: the peer's reply timeout for that request expires

cdef inline uint64_t latest_hart_cycle(State* s) noexcept nogil:
    cdef uint64_t c = 0
    cdef uint32_t i
    for i in range(s.nharts):
        if s.harts[i].cycle > c:
            c = s.harts[i].cycle
    return c

cdef int evq_push(State* s, uint64_t cycle, uint32_t kind, uint32_t a, uint32_t b, uint32_t c) noexcept nogil:
    """Queue an event; -1 when the queue is full. An event due inside the current round cuts the round
    there (harts already past that point keep their time, as with memory flips)."""
    cdef uint32_t i = s.nevents
    cdef uint64_t cut
    if i >= MAX_DEV_EVENTS:
        return -1
    while i > 0 and s.events[i - 1].cycle > cycle:
        s.events[i] = s.events[i - 1]
        i -= 1
    s.events[i].cycle, s.events[i].kind = cycle, kind
    s.events[i].a, s.events[i].b, s.events[i].c = a, b, c
    s.nevents += 1
    if cycle < s.round_end:
        cut = latest_hart_cycle(s)
        if cut < cycle:
            cut = cycle
        if cut < s.round_end:
            s.round_end = cut
    return 0

cdef void evq_pop(State* s, DevEvent* out) noexcept nogil:
    out[0] = s.events[0]
    s.nevents -= 1
    memmove(&s.events[0], &s.events[1], s.nevents * sizeof(DevEvent))

cdef void evq_drop(State* s, uint32_t kind) noexcept nogil:
    """Remove every queued event of `kind` (a device reset drops its in-flight work)."""
    cdef uint32_t i, k = 0
    for i in range(s.nevents):
        if s.events[i].kind != kind:
            s.events[k] = s.events[i]
            k += 1
    s.nevents = k
