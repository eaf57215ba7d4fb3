# virtio-net (virtio 1.2 spec, 5.1): receive queue 0, transmit queue 1, a MAC in config space, the
# 12-byte virtio_net_hdr of VERSION_1 devices before every frame, no offloads, no mergeable buffers.
# Its wire leads to the network peer (net_peer.pxi): transmitted frames go to the peer, the peer's
# frames arrive in the receive queue.

cdef enum:
    VNET_HDR_LEN = 12
    VNET_FRAME_MAX = 1514
    # Virtio.ctr indices of the network device (names in its bus.pxi row)
    VNET_TX_FRAMES = 0
    VNET_TX_BYTES = 1
    VNET_RX_FRAMES = 2
    VNET_RX_BYTES = 3
    VNET_RX_SMALL = 4           # frames dropped: the RX buffer at the head of the queue was too small
    VNET_TX_OVERSIZE = 5        # frames longer than 1514 bytes: not sent

cdef void net_tx(Mach* m, uint64_t now) noexcept nogil:
    """Take every available transmit chain: the frame goes on the wire now, the chain returns to the
    driver net_tx_latency later."""
    cdef Virtio* d = &m.s.vdev[VDEV_NET]
    cdef Seg segs[VIRTIO_QUEUE_MAX]
    cdef uint8_t frame[VNET_FRAME_MAX]
    cdef int n, r
    cdef uint32_t head = 0, rlen, wlen, flen
    while True:
        r = vq_next(m, d, 1, &head)
        if r == 0:
            return
        if r < 0:
            virtio_fail(m, VDEV_NET, -r)
            return
        r = vq_walk(m, &d.q[1], head, segs, &n, &rlen, &wlen)
        if r == 0 and wlen:
            r = VERR_DIRECTION
        if r == 0 and rlen < VNET_HDR_LEN:
            r = VERR_FORMAT
        if r:
            virtio_fail(m, VDEV_NET, r)
            return
        flen = rlen - VNET_HDR_LEN
        if flen > VNET_FRAME_MAX:
            d.ctr[VNET_TX_OVERSIZE] += 1
        else:
            segs_read(m, segs, n, VNET_HDR_LEN, frame, flen)
            d.ctr[VNET_TX_FRAMES] += 1
            d.ctr[VNET_TX_BYTES] += flen
            d.q[1].bytes += flen
            peer_take_frame(m, frame, flen, now)
        if evq_push(m.s, now + m.s.devcfg.net_tx_latency, EV_NET_TX_DONE, 0, head, flen) < 0:
            virtio_fail(m, VDEV_NET, VERR_OVERFLOW)
            return

cdef void net_tx_done(Mach* m, DevEvent* ev) noexcept nogil:
    if vdev_running(&m.s.vdev[VDEV_NET], 1):
        vq_push_used(m, VDEV_NET, 1, ev.b, 0)

cdef int net_rx(Mach* m, const uint8_t* frame, uint32_t flen) noexcept nogil:
    """Put a frame from the wire into the next receive buffer: 1 done, 0 no buffer (the frame waits),
    -1 the frame is dropped (buffer too small)."""
    cdef Virtio* d = &m.s.vdev[VDEV_NET]
    cdef Seg segs[VIRTIO_QUEUE_MAX]
    cdef uint8_t hdr[VNET_HDR_LEN]
    cdef int n, r
    cdef uint32_t head = 0, rlen, wlen
    if not vdev_running(d, 0):
        return 0
    r = vq_next(m, d, 0, &head)
    if r <= 0:
        if r < 0:
            virtio_fail(m, VDEV_NET, -r)
        return 0
    r = vq_walk(m, &d.q[0], head, segs, &n, &rlen, &wlen)
    if r == 0 and rlen:
        r = VERR_DIRECTION
    if r:
        virtio_fail(m, VDEV_NET, r)
        return 0
    if wlen < VNET_HDR_LEN + flen:
        d.q[0].last_avail = (d.q[0].last_avail - 1) & 0xFFFF     # leave the buffer where it is
        d.q[0].inflight -= 1
        d.ctr[VNET_RX_SMALL] += 1
        return -1
    memset(hdr, 0, VNET_HDR_LEN)
    hdr[10] = 1                          # num_buffers
    segs_write(m, segs, n, 0, hdr, VNET_HDR_LEN)
    segs_write(m, segs, n, VNET_HDR_LEN, frame, flen)
    d.ctr[VNET_RX_FRAMES] += 1
    d.ctr[VNET_RX_BYTES] += flen
    d.q[0].bytes += flen
    vq_push_used(m, VDEV_NET, 0, head, VNET_HDR_LEN + flen)
    return 1

cdef void net_event(Mach* m, DevEvent* ev) noexcept nogil:
    net_tx_done(m, ev)                  # its one event kind: EV_NET_TX_DONE

cdef void net_config(Mach* m, uint8_t* cfg) noexcept nogil:
    """struct virtio_net_config: mac, status (LINK_UP), max_virtqueue_pairs, mtu."""
    cdef uint16_t status = 1, pairs = 1, mtu = 1500
    memcpy(cfg, m.s.devcfg.mac, 6)
    memcpy(cfg + 6, &status, 2)
    memcpy(cfg + 8, &pairs, 2)
    memcpy(cfg + 10, &mtu, 2)
