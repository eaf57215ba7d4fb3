# virtio-blk (virtio 1.2 spec, 5.2) on the disk array: one request queue, 512-byte sectors, requests
# IN / OUT / FLUSH / GET_ID. A request is validated when the driver notifies and served in order: it
# completes blk_latency + blk_sector_cycles per sector after the previous one (or after the notify),
# and the data moves at completion, so a device reset before then loses it, as on hardware.

cdef enum:
    VBLK_T_IN = 0
    VBLK_T_OUT = 1
    VBLK_T_FLUSH = 4
    VBLK_T_GET_ID = 8
    VBLK_S_OK = 0
    VBLK_S_IOERR = 1
    VBLK_S_UNSUPP = 2
    DISK_BLOCK_SHIFT = 12           # dirty tracking granule of the disk
    # Virtio.ctr indices of the block device (names in its bus.pxi row)
    VBLK_READS = 0
    VBLK_WRITES = 1
    VBLK_FLUSHES = 2
    VBLK_GET_IDS = 3
    VBLK_SECTORS_READ = 4
    VBLK_SECTORS_WRITTEN = 5
    VBLK_IOERR = 6
    VBLK_UNSUPP = 7

cdef int blk_parse(Mach* m, uint32_t head, Seg* segs, int* n, uint32_t* rlen, uint32_t* wlen,
                   uint32_t* kind, uint64_t* sector) noexcept nogil:
    """Validate the chain at `head` as a block request: 0 or a VERR_* code; the header's type and sector."""
    cdef uint8_t hdr[16]
    cdef int e = vq_walk(m, &m.s.vdev[VDEV_BLK].q[0], head, segs, n, rlen, wlen)
    if e:
        return e
    if rlen[0] < 16 or wlen[0] < 1:
        return VERR_FORMAT              # header (type, reserved, sector) readable, status byte writable
    segs_read(m, segs, n[0], 0, hdr, 16)
    memcpy(kind, hdr, 4)
    memcpy(sector, hdr + 8, 8)
    return 0

cdef void blk_notify(Mach* m, uint64_t now) noexcept nogil:
    """Take every newly available request and schedule its completion."""
    cdef Virtio* d = &m.s.vdev[VDEV_BLK]
    cdef Seg segs[VIRTIO_QUEUE_MAX]
    cdef int n, r
    cdef uint32_t head = 0, rlen, wlen, kind
    cdef uint64_t sector, nsec, start
    while True:
        r = vq_next(m, d, 0, &head)
        if r == 0:
            return
        if r < 0:
            virtio_fail(m, VDEV_BLK, -r)
            return
        r = blk_parse(m, head, segs, &n, &rlen, &wlen, &kind, &sector)
        if r:
            virtio_fail(m, VDEV_BLK, r)
            return
        nsec = (wlen - 1) >> 9 if kind == VBLK_T_IN else ((rlen - 16) >> 9 if kind == VBLK_T_OUT else 0)
        start = now if d.busy_until < now else d.busy_until
        d.busy_until = start + m.s.devcfg.blk_latency + nsec * m.s.devcfg.blk_sector_cycles
        if evq_push(m.s, d.busy_until, EV_BLK_DONE, 0, head, 0) < 0:
            virtio_fail(m, VDEV_BLK, VERR_OVERFLOW)
            return

cdef void blk_done(Mach* m, DevEvent* ev) noexcept nogil:
    """A request's time has come: move its data, write its status, return it to the driver."""
    cdef Virtio* d = &m.s.vdev[VDEV_BLK]
    cdef Seg segs[VIRTIO_QUEUE_MAX]
    cdef int n, r
    cdef uint32_t rlen, wlen, kind, used = 1, len
    cdef uint64_t sector, pos
    cdef uint8_t status = VBLK_S_OK
    cdef uint8_t ident[20]
    if not vdev_running(d, 0):
        return
    r = blk_parse(m, ev.b, segs, &n, &rlen, &wlen, &kind, &sector)   # the driver may have changed it
    if r:
        virtio_fail(m, VDEV_BLK, r)
        return
    if kind == VBLK_T_IN or kind == VBLK_T_OUT:
        len = wlen - 1 if kind == VBLK_T_IN else rlen - 16
        if (len & 511) or sector > (m.disk_size >> 9) or (len >> 9) > (m.disk_size >> 9) - sector:
            status = VBLK_S_IOERR
            d.ctr[VBLK_IOERR] += 1
        elif kind == VBLK_T_IN:
            pos = sector << 9
            segs_write(m, segs, n, 0, m.disk + pos, len)
            used = len + 1
            d.ctr[VBLK_READS] += 1
            d.ctr[VBLK_SECTORS_READ] += len >> 9
            d.q[0].bytes += len
        else:
            pos = sector << 9
            segs_read(m, segs, n, 16, m.disk + pos, len)
            if len:
                stamp_range(m.dblock_epoch, pos, len, DISK_BLOCK_SHIFT, m.epoch)
            d.ctr[VBLK_WRITES] += 1
            d.ctr[VBLK_SECTORS_WRITTEN] += len >> 9
            d.q[0].bytes += len
    elif kind == VBLK_T_FLUSH:
        d.ctr[VBLK_FLUSHES] += 1
    elif kind == VBLK_T_GET_ID:
        memset(ident, 0, 20)
        memcpy(ident, b"mrwb-disk0", 10)
        len = wlen - 1 if wlen - 1 < 20 else 20
        segs_write(m, segs, n, 0, ident, len)
        used = len + 1
        d.ctr[VBLK_GET_IDS] += 1
    else:
        status = VBLK_S_UNSUPP
        d.ctr[VBLK_UNSUPP] += 1
    segs_write(m, segs, n, wlen - 1, &status, 1)
    vq_push_used(m, VDEV_BLK, 0, ev.b, used)

cdef void blk_event(Mach* m, DevEvent* ev) noexcept nogil:
    blk_done(m, ev)                     # its one event kind: EV_BLK_DONE

cdef void blk_config(Mach* m, uint8_t* cfg) noexcept nogil:
    """struct virtio_blk_config: capacity (sectors), size_max, seg_max, geometry, blk_size."""
    cdef uint64_t capacity = m.disk_size >> 9
    cdef uint32_t seg_max = VIRTIO_QUEUE_MAX - 2, blk_size = 512
    memcpy(cfg, &capacity, 8)
    memcpy(cfg + 12, &seg_max, 4)
    memcpy(cfg + 20, &blk_size, 4)
