# The network peer at the other end of the NIC's wire (the NetBench client). Every interval it sends
# each configured AppVM its next sequence-numbered request; it checks every reply's payload and
# records, per request, when it was sent, when the first reply came, and whether replies were wrong,
# duplicated or out of order. Frames take net_wire_latency each way; a request that finds no receive
# buffer waits on the wire up to rx_wait_limit cycles, then is lost. As a real client, the peer sends
# a request again when no reply came within cfg.timeout cycles, up to cfg.tries transmissions in all,
# then gives it up; a reply to any transmission answers it (later ones count as duplicates). It keeps
# the longest service gap: the longest stretch with a request outstanding and no first reply.
#
# Wire protocol: Ethernet II, ethertype 0x88B5, no padding. Peer MAC 02:00:00:00:00:fe, AppVM i
# 02:00:00:00:01:i. Payload, little endian: magic, appvm, seq, len, then len bytes. Request magic
# "MRRQ" (0x5152524D), bytes from peer_fill(seed, appvm, seq); reply magic "MRRP" (0x5052524D), bytes
# request[k] ^ 0xA5 ^ (seq & 0xFF).

cdef enum:
    ETH_TYPE_MRWB = 0x88B5
    PEER_REQ_MAGIC = 0x5152524D
    PEER_REP_MAGIC = 0x5052524D
    PEER_HDR = 14 + 16
    PEER_PAYLOAD_MAX = VNET_FRAME_MAX - PEER_HDR
    PREC_OK = 1             # the first reply's payload was right
    PREC_BAD = 2            # some reply's payload was wrong
    PREC_OOO = 4            # the first reply came after a reply to a later request
    # Peer.ctr indices (names in its bus.pxi row)
    PEER_SENT = 0
    PEER_REPLIES = 1        # reply frames for a known request (duplicates included)
    PEER_OK = 2             # requests whose first reply was right
    PEER_BAD = 3            # replies with a wrong payload
    PEER_DUPLICATES = 4
    PEER_OUT_OF_ORDER = 5
    PEER_LOST = 6           # requests dropped before a receive buffer took them
    PEER_FOREIGN = 7        # frames not addressed to the peer or not of our ethertype
    PEER_MALFORMED = 8      # our ethertype, but bad magic, unknown AppVM or a seq never sent
    PEER_BAD_SRC = 9        # reply whose source MAC is not its AppVM's
    PEER_EVQ_FULL = 10      # frames lost because the event queue was full
    PEER_HELLOS = 11        # "MRHI" frames: a net AppVM announcing itself (include/netproto.h)
    PEER_RETRANS = 12       # transmissions after a request's first
    PEER_GAVE_UP = 13       # requests given up: cfg.tries transmissions and no reply
    PREC_GAVE_UP = 8        # PeerRec.flags: the request was given up
    PEER_HELLO_MAGIC = 0x4948524D

cdef inline uint64_t splitmix64(uint64_t* x) noexcept nogil:
    cdef uint64_t z
    x[0] += 0x9E3779B97F4A7C15u
    z = x[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu
    return z ^ (z >> 31)

cdef void peer_fill(uint64_t seed, uint32_t appvm, uint32_t seq, uint8_t* out, uint32_t n) noexcept nogil:
    """Request payload: splitmix64 from seed ^ appvm << 32 ^ seq, 8 little-endian bytes per step."""
    cdef uint64_t x = seed ^ ((<uint64_t>appvm) << 32) ^ seq, z = 0
    cdef uint32_t k
    for k in range(n):
        if (k & 7) == 0:
            z = splitmix64(&x)
        out[k] = <uint8_t>(z >> (8 * (k & 7)))

cdef inline void mac_of(uint8_t* out, uint32_t last, uint32_t fifth) noexcept nogil:
    out[0], out[1], out[2], out[3], out[4], out[5] = 2, 0, 0, 0, fifth, last

cdef uint32_t peer_request(Mach* m, uint32_t slot, uint32_t seq, uint8_t* frame) noexcept nogil:
    """Build request `seq` for slot's AppVM into frame; returns its length."""
    cdef PeerConfig* c = &m.s.peer.cfg
    cdef uint32_t w[4]
    mac_of(frame, c.appvm[slot], 1)
    mac_of(frame + 6, 0xFE, 0)
    frame[12], frame[13] = ETH_TYPE_MRWB >> 8, ETH_TYPE_MRWB & 0xFF
    w[0], w[1], w[2], w[3] = PEER_REQ_MAGIC, c.appvm[slot], seq, c.payload_len
    memcpy(frame + 14, w, 16)
    peer_fill(c.seed, c.appvm[slot], seq, frame + PEER_HDR, c.payload_len)
    return PEER_HDR + c.payload_len

cdef void peer_start(Mach* m) noexcept nogil:
    """(Re)start the peer from its configuration: nothing sent yet, first round at cfg.start."""
    cdef Peer* p = &m.s.peer
    cdef PeerConfig cfg = p.cfg
    memset(p, 0, sizeof(Peer))
    p.cfg = cfg
    evq_drop(m.s, EV_PEER_TICK)
    evq_drop(m.s, EV_NET_RX_ARRIVE)
    evq_drop(m.s, EV_PEER_RX)
    evq_drop(m.s, EV_RX_TIMEOUT)
    evq_drop(m.s, EV_PEER_RETRY)
    if m.peer_rec != NULL:
        memset(m.peer_rec, 0, m.peer_cap * sizeof(PeerRec))
    if cfg.nslots and cfg.count:
        evq_push(m.s, cfg.start, EV_PEER_TICK, 0, 0, 0)

cdef inline void peer_served(Peer* p, uint64_t now, bint answered) noexcept nogil:
    """A request stops being outstanding: the gap so far counts; only an answer ends the gap."""
    if now - p.progress > p.longest_gap:
        p.longest_gap = now - p.progress
    if answered:
        p.progress = now
    p.outstanding -= 1

cdef void peer_transmit(Mach* m, uint32_t slot, uint32_t seq, uint64_t now) noexcept nogil:
    """Put request `seq` on the wire (again) and arm its reply timeout when it may be sent again."""
    cdef Peer* p = &m.s.peer
    m.peer_rec[slot * p.cfg.count + seq].tx += 1
    if evq_push(m.s, now + m.s.devcfg.net_wire_latency, EV_NET_RX_ARRIVE, slot, seq, 0) < 0:
        p.ctr[PEER_EVQ_FULL] += 1
        p.ctr[PEER_LOST] += 1
    # armed after the last try too: that timeout gives the request up
    if evq_push(m.s, now + p.cfg.timeout, EV_PEER_RETRY, slot, seq, 0) < 0:
        p.ctr[PEER_EVQ_FULL] += 1

cdef void peer_tick(Mach* m, uint64_t now) noexcept nogil:
    cdef Peer* p = &m.s.peer
    cdef uint32_t slot, seq
    cdef int more = 0
    for slot in range(p.cfg.nslots):
        seq = p.next_seq[slot]
        if seq >= p.cfg.count:
            continue
        m.peer_rec[slot * p.cfg.count + seq].sent_cycle = now
        p.next_seq[slot] = seq + 1
        p.ctr[PEER_SENT] += 1
        if p.outstanding == 0:
            p.progress = now            # a gap can start only once something is outstanding
        p.outstanding += 1
        peer_transmit(m, slot, seq, now)
        more |= seq + 1 < p.cfg.count
    if more and evq_push(m.s, now + p.cfg.interval, EV_PEER_TICK, 0, 0, 0) < 0:
        p.ctr[PEER_EVQ_FULL] += 1

cdef int peer_deliver(Mach* m, uint32_t slot, uint32_t seq) noexcept nogil:
    cdef uint8_t frame[VNET_FRAME_MAX]
    return net_rx(m, frame, peer_request(m, slot, seq, frame))

cdef void peer_arrive(Mach* m, DevEvent* ev) noexcept nogil:
    """A request reaches the NIC: into a receive buffer if one is free and no frame waits before it."""
    cdef Peer* p = &m.s.peer
    cdef int r = 0
    if p.nwait == 0:
        r = peer_deliver(m, ev.a, ev.b)
        if r:
            if r < 0:
                p.ctr[PEER_LOST] += 1
            return
    if p.nwait >= RX_WAIT_MAX:
        p.ctr[PEER_LOST] += 1
        return
    p.wait[p.nwait].slot, p.wait[p.nwait].seq = ev.a, ev.b
    p.wait[p.nwait].deadline = ev.cycle + m.s.devcfg.rx_wait_limit
    p.nwait += 1
    if evq_push(m.s, ev.cycle + m.s.devcfg.rx_wait_limit, EV_RX_TIMEOUT, 0, 0, 0) < 0:
        p.ctr[PEER_EVQ_FULL] += 1

cdef inline void peer_unwait(Peer* p) noexcept nogil:
    p.nwait -= 1
    memmove(&p.wait[0], &p.wait[1], p.nwait * sizeof(RxWait))

cdef void peer_rx_flush(Mach* m, uint64_t now) noexcept nogil:
    """Receive buffers may have appeared: deliver waiting frames in order; drop expired ones."""
    cdef Peer* p = &m.s.peer
    cdef int r
    while p.nwait:
        if p.wait[0].deadline > now:
            r = peer_deliver(m, p.wait[0].slot, p.wait[0].seq)
            if r == 0:
                return
        else:
            r = -1
        if r < 0:
            p.ctr[PEER_LOST] += 1
        peer_unwait(p)

cdef void peer_timeout(Mach* m, uint64_t now) noexcept nogil:
    cdef Peer* p = &m.s.peer
    while p.nwait and p.wait[0].deadline <= now:
        p.ctr[PEER_LOST] += 1
        peer_unwait(p)

cdef void peer_take_frame(Mach* m, const uint8_t* f, uint32_t n, uint64_t now) noexcept nogil:
    """A frame the NIC transmitted: check it now, record its arrival net_wire_latency later."""
    cdef Peer* p = &m.s.peer
    cdef uint8_t mac[6]
    cdef uint8_t want[PEER_PAYLOAD_MAX]
    cdef uint32_t w[4]
    cdef uint32_t slot, k, flags
    cdef uint8_t x
    mac_of(mac, 0xFE, 0)
    if n < 14 or memcmp(f, mac, 6) != 0 or f[12] != (ETH_TYPE_MRWB >> 8) or f[13] != (ETH_TYPE_MRWB & 0xFF):
        p.ctr[PEER_FOREIGN] += 1
        return
    if n < PEER_HDR:
        p.ctr[PEER_MALFORMED] += 1
        return
    memcpy(w, f + 14, 16)
    if w[0] == PEER_HELLO_MAGIC:
        p.ctr[PEER_HELLOS] += 1
        return
    for slot in range(p.cfg.nslots):
        if p.cfg.appvm[slot] == w[1]:
            break
    else:
        slot = PEER_SLOTS
    if w[0] != PEER_REP_MAGIC or slot >= p.cfg.nslots or w[2] >= p.next_seq[slot]:
        p.ctr[PEER_MALFORMED] += 1
        return
    mac_of(mac, w[1], 1)
    if memcmp(f + 6, mac, 6) != 0:
        p.ctr[PEER_BAD_SRC] += 1
    flags = PREC_OK
    if w[3] != p.cfg.payload_len or n < PEER_HDR + w[3]:
        flags = PREC_BAD
    else:
        peer_fill(p.cfg.seed, w[1], w[2], want, w[3])
        x = 0xA5 ^ <uint8_t>(w[2] & 0xFF)
        for k in range(w[3]):
            if f[PEER_HDR + k] != (want[k] ^ x):
                flags = PREC_BAD
                break
    if evq_push(m.s, now + m.s.devcfg.net_wire_latency, EV_PEER_RX, slot, w[2], flags) < 0:
        p.ctr[PEER_EVQ_FULL] += 1

cdef void peer_reply(Mach* m, DevEvent* ev) noexcept nogil:
    """A checked reply reaches the peer."""
    cdef Peer* p = &m.s.peer
    cdef PeerRec* r = &m.peer_rec[ev.a * p.cfg.count + ev.b]
    r.replies += 1
    p.ctr[PEER_REPLIES] += 1
    if ev.c & PREC_BAD:
        r.flags |= PREC_BAD
        p.ctr[PEER_BAD] += 1
    if r.replies > 1:
        p.ctr[PEER_DUPLICATES] += 1
        return
    r.reply_cycle = ev.cycle
    if not (r.flags & PREC_GAVE_UP):
        peer_served(p, ev.cycle, True)
    if ev.c & PREC_OK:
        r.flags |= PREC_OK
        p.ctr[PEER_OK] += 1
    if ev.b + 1 < p.max_replied[ev.a]:
        r.flags |= PREC_OOO
        p.ctr[PEER_OUT_OF_ORDER] += 1
    else:
        p.max_replied[ev.a] = ev.b + 1

cdef void peer_retry(Mach* m, DevEvent* ev) noexcept nogil:
    """A request's reply timeout: send it again, or give it up after cfg.tries transmissions."""
    cdef Peer* p = &m.s.peer
    cdef PeerRec* r = &m.peer_rec[ev.a * p.cfg.count + ev.b]
    if r.replies:
        return
    if r.tx < p.cfg.tries:
        p.ctr[PEER_RETRANS] += 1
        peer_transmit(m, ev.a, ev.b, ev.cycle)
        return
    r.flags |= PREC_GAVE_UP
    p.ctr[PEER_GAVE_UP] += 1
    peer_served(p, ev.cycle, False)

cdef void peer_event(Mach* m, DevEvent* ev) noexcept nogil:
    if ev.kind == EV_PEER_TICK:
        peer_tick(m, ev.cycle)
    elif ev.kind == EV_NET_RX_ARRIVE:
        peer_arrive(m, ev)
    elif ev.kind == EV_PEER_RX:
        peer_reply(m, ev)
    elif ev.kind == EV_RX_TIMEOUT:
        peer_timeout(m, ev.cycle)
    elif ev.kind == EV_PEER_RETRY:
        peer_retry(m, ev)
