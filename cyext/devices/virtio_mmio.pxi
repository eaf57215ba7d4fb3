# virtio-mmio version 2 transport (virtio 1.2 spec, 4.2.2) and split virtqueues (2.7), shared by the
# block and network devices. Eight slots (bus.pxi: base, stride, which slot holds which device) with PLIC
# source slot + 1, as QEMU's `virt`; the empty slots answer (magic, version 2, device id 0), as QEMU does.
# A row's `unit` is its first slot. Every guest-supplied address and length is checked;
# a malformed ring or chain sets DEVICE_NEEDS_RESET and stops the device until the driver resets it.

cdef enum:
    VIRTIO_MAGIC = 0x74726976       # "virt"
    VIRTIO_VENDOR = 0x554D4551      # "QEMU"
    VIRTIO_QUEUE_MAX = 64
    VIRTIO_CHAIN_MAX_BYTES = 1 << 20
    VDEV_BLK = 0
    VDEV_NET = 1
    VS_ACK = 1
    VS_DRIVER = 2
    VS_DRIVER_OK = 4
    VS_FEATURES_OK = 8
    VS_NEEDS_RESET = 0x40
    VS_FAILED = 0x80
    VRING_DESC_F_NEXT = 1
    VRING_DESC_F_WRITE = 2
    VRING_DESC_F_INDIRECT = 4
    VRING_AVAIL_F_NO_INTERRUPT = 1

# Why a device stopped (Virtio.error); names in core.pyx VIRTIO_ERRORS.
cdef enum:
    VERR_RING = 1           # queue size, ring address or alignment invalid
    VERR_INDEX = 2          # avail idx more than a queue ahead, or a head/next index beyond the queue
    VERR_DESC_ADDR = 3      # a descriptor's buffer is not inside RAM
    VERR_LOOP = 4           # chain longer than the queue: a loop
    VERR_DIRECTION = 5      # readable after writable, or the wrong direction for the request
    VERR_INDIRECT = 6       # indirect descriptor (not negotiated)
    VERR_TOO_LONG = 7       # chain carries more than 1 MiB
    VERR_FORMAT = 8         # request header or status byte missing
    VERR_OVERFLOW = 9       # more chains in flight than the queue has entries

cdef extern from *:
    """
    #define MRWB_VIRTIO_F_VERSION_1 (1ull << 32)
    #define MRWB_RAM_BASE64 0x80000000ull
    """
    const uint64_t VIRTIO_F_VERSION_1 "MRWB_VIRTIO_F_VERSION_1"
    const uint64_t RAM_BASE64 "MRWB_RAM_BASE64"

cdef struct Seg:            # one descriptor of a validated chain
    uint32_t off            # RAM offset
    uint32_t len
    uint32_t write

cdef inline uint32_t virtio_irq(uint32_t slot) noexcept nogil:
    return slot + 1                     # PLIC source of a slot (QEMU virt numbering, platform.h VIRTIO_IRQ)

cdef inline uint32_t vdev_slot(int dev) noexcept nogil:
    return SLOT_BLK if dev == VDEV_BLK else SLOT_NET

cdef inline uint32_t vdev_irq(int dev) noexcept nogil:
    return virtio_irq(vdev_slot(dev))

cdef inline uint32_t vdev_nqueues(int dev) noexcept nogil:
    return 1 if dev == VDEV_BLK else 2

cdef inline uint64_t vdev_features(int dev) noexcept nogil:
    if dev == VDEV_BLK:
        return VIRTIO_F_VERSION_1 | (1 << 9)           # VIRTIO_BLK_F_FLUSH
    return VIRTIO_F_VERSION_1 | (1 << 5)               # VIRTIO_NET_F_MAC

cdef inline void dma_read(Mach* m, uint32_t off, uint32_t n) noexcept nogil:
    """A device reads RAM bytes [off, off+n): a watched byte among them counts as read."""
    if watched(m, off, n):
        watch_read(m, off, n, now_bound(m))

cdef inline uint16_t rd16(Mach* m, uint32_t off) noexcept nogil:
    dma_read(m, off, 2)
    return (<uint16_t*>(m.ram + off))[0]

cdef inline uint32_t rd32(Mach* m, uint32_t off) noexcept nogil:
    dma_read(m, off, 4)
    return (<uint32_t*>(m.ram + off))[0]

# -- DMA --------------------------------------------------------------------------------------------

cdef inline int64_t guest_off(Mach* m, uint64_t addr, uint64_t n, uint32_t align) noexcept nogil:
    """RAM offset of guest range [addr, addr+n), or -1 if it is not inside RAM or misaligned."""
    if addr < RAM_BASE64 or (addr & (align - 1)):
        return -1
    if addr - RAM_BASE64 > m.ram_size or n > m.ram_size - (addr - RAM_BASE64):
        return -1
    return <int64_t>(addr - RAM_BASE64)

cdef inline void dma_put(Mach* m, uint32_t off, const void* src, uint32_t n) noexcept nogil:
    memcpy(m.ram + off, src, n)
    if n:
        ram_written(m, off, n, -1)

cdef void segs_read(Mach* m, Seg* segs, int n, uint32_t skip, uint8_t* dst, uint32_t len) noexcept nogil:
    """Copy `len` bytes of the chain's device-readable part, from byte `skip` on, into dst."""
    cdef int i
    cdef uint32_t k
    for i in range(n):
        if len == 0:
            return
        if segs[i].write:
            continue
        if skip >= segs[i].len:
            skip -= segs[i].len
            continue
        k = segs[i].len - skip
        if k > len:
            k = len
        dma_read(m, segs[i].off + skip, k)
        memcpy(dst, m.ram + segs[i].off + skip, k)
        dst += k
        len -= k
        skip = 0

cdef void segs_write(Mach* m, Seg* segs, int n, uint32_t skip, const uint8_t* src, uint32_t len) noexcept nogil:
    """Copy `len` bytes from src into the chain's device-writable part, from byte `skip` on."""
    cdef int i
    cdef uint32_t k
    for i in range(n):
        if len == 0:
            return
        if not segs[i].write:
            continue
        if skip >= segs[i].len:
            skip -= segs[i].len
            continue
        k = segs[i].len - skip
        if k > len:
            k = len
        dma_put(m, segs[i].off + skip, src, k)
        src += k
        len -= k
        skip = 0

# -- split virtqueues -----------------------------------------------------------------------------

cdef int vq_check(Mach* m, VirtQueue* q) noexcept nogil:
    """0 if the queue's size and three rings are usable, else VERR_RING."""
    if q.num == 0 or q.num > VIRTIO_QUEUE_MAX or q.addr_hi:
        return VERR_RING
    if guest_off(m, q.desc, 16 * q.num, 16) < 0 or guest_off(m, q.avail, 6 + 2 * q.num, 2) < 0 \
            or guest_off(m, q.used, 6 + 8 * q.num, 4) < 0:
        return VERR_RING
    return 0

cdef int vq_walk(Mach* m, VirtQueue* q, uint32_t head, Seg* segs, int* nseg, uint32_t* rlen,
                 uint32_t* wlen) noexcept nogil:
    """Follow and validate the chain at `head` (queue already checked): 0 or a VERR_* code."""
    cdef uint32_t idx = head, flags, dlen, dtab = q.desc - RAM_BASE, d
    cdef uint64_t addr, total = 0
    cdef int n = 0, seen_write = 0
    cdef int64_t off
    rlen[0] = 0
    wlen[0] = 0
    while True:
        if <uint32_t>n >= q.num:
            return VERR_LOOP
        d = dtab + 16 * idx
        dma_read(m, d, 8)
        addr = (<uint64_t*>(m.ram + d))[0]
        dlen = rd32(m, d + 8)
        flags = rd16(m, d + 12)
        if flags & VRING_DESC_F_INDIRECT:
            return VERR_INDIRECT
        off = guest_off(m, addr, dlen, 1)
        if off < 0:
            return VERR_DESC_ADDR
        total += dlen
        if total > VIRTIO_CHAIN_MAX_BYTES:
            return VERR_TOO_LONG
        if flags & VRING_DESC_F_WRITE:
            seen_write = 1
            wlen[0] += dlen
        elif seen_write:
            return VERR_DIRECTION
        else:
            rlen[0] += dlen
        segs[n].off, segs[n].len, segs[n].write = <uint32_t>off, dlen, (flags & VRING_DESC_F_WRITE) != 0
        n += 1
        if not (flags & VRING_DESC_F_NEXT):
            break
        idx = rd16(m, d + 14)
        if idx >= q.num:
            return VERR_INDEX
    nseg[0] = n
    return 0

cdef int vq_next(Mach* m, Virtio* d, uint32_t qi, uint32_t* head) noexcept nogil:
    """Take the next available chain: 1 and its head, 0 when none, or -VERR_*."""
    cdef VirtQueue* q = &d.q[qi]
    cdef uint32_t aoff, pending, e
    e = vq_check(m, q)
    if e:
        return -<int>e
    aoff = q.avail - RAM_BASE
    pending = (rd16(m, aoff + 2) - q.last_avail) & 0xFFFF
    if pending == 0:
        return 0
    if pending > q.num or q.inflight >= q.num:
        return -VERR_INDEX if pending > q.num else -VERR_OVERFLOW
    head[0] = rd16(m, aoff + 4 + 2 * (q.last_avail % q.num))
    if head[0] >= q.num:
        return -VERR_INDEX
    q.last_avail = (q.last_avail + 1) & 0xFFFF
    q.inflight += 1
    return 1

cdef void virtio_irq_update(Mach* m, int dev) noexcept nogil:
    plic_set_level(&m.s.plic, vdev_irq(dev), m.s.vdev[dev].int_status != 0)

cdef void vq_push_used(Mach* m, int dev, uint32_t qi, uint32_t head, uint32_t len) noexcept nogil:
    """Return a chain to the driver through the used ring and notify it (unless it asked not to)."""
    cdef Virtio* d = &m.s.vdev[dev]
    cdef VirtQueue* q = &d.q[qi]
    cdef uint32_t uoff = q.used - RAM_BASE
    cdef uint32_t elem[2]
    cdef uint16_t idx
    elem[0], elem[1] = head, len
    dma_put(m, uoff + 4 + 8 * (q.used_idx % q.num), elem, 8)
    q.used_idx = (q.used_idx + 1) & 0xFFFF
    idx = <uint16_t>q.used_idx
    dma_put(m, uoff + 2, &idx, 2)
    if q.inflight:
        q.inflight -= 1
    q.completed += 1
    if not (rd16(m, q.avail - RAM_BASE) & VRING_AVAIL_F_NO_INTERRUPT):
        d.int_status |= 1
        virtio_irq_update(m, dev)

cdef inline int vdev_running(Virtio* d, uint32_t qi) noexcept nogil:
    return (d.status & VS_DRIVER_OK) and not (d.status & VS_NEEDS_RESET) and d.q[qi].ready

cdef void virtio_fail(Mach* m, int dev, uint32_t code) noexcept nogil:
    """The driver broke the protocol: DEVICE_NEEDS_RESET, a config-change interrupt, no more work."""
    cdef Virtio* d = &m.s.vdev[dev]
    if d.status & VS_NEEDS_RESET:
        return
    d.error = code
    d.last_error = code
    d.errors += 1
    d.status |= VS_NEEDS_RESET
    d.int_status |= 2
    evq_drop(m.s, EV_BLK_DONE if dev == VDEV_BLK else EV_NET_TX_DONE)
    virtio_irq_update(m, dev)

cdef void virtio_reset(Mach* m, int dev) noexcept nogil:
    """Status 0: back to the initial state; chains in flight are dropped, never completed."""
    cdef Virtio* d = &m.s.vdev[dev]
    cdef Virtio keep = d[0]
    cdef uint32_t qi
    memset(d, 0, sizeof(Virtio))
    d.resets, d.errors, d.dropped = keep.resets + 1, keep.errors, keep.dropped
    d.last_error = keep.last_error
    memcpy(d.ctr, keep.ctr, sizeof(keep.ctr))
    for qi in range(2):
        d.dropped += keep.q[qi].inflight
        d.q[qi].completed, d.q[qi].bytes = keep.q[qi].completed, keep.q[qi].bytes
    d.config_gen = keep.config_gen
    evq_drop(m.s, EV_BLK_DONE if dev == VDEV_BLK else EV_NET_TX_DONE)
    virtio_irq_update(m, dev)

# -- registers ------------------------------------------------------------------------------------

cdef inline int vdev_of_slot(uint32_t slot) noexcept nogil:
    if slot == SLOT_BLK:
        return VDEV_BLK
    if slot == SLOT_NET:
        return VDEV_NET
    return -1

cdef int virtio_load(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val, int peek) noexcept nogil:
    """Register read (never has side effects, so peeking is the same)."""
    cdef uint32_t slot = unit + off // VIRTIO_STRIDE
    off %= VIRTIO_STRIDE
    cdef int dev = vdev_of_slot(slot)
    cdef Virtio* d
    cdef VirtQueue* q
    cdef uint64_t f
    if off >= 0x100:
        val[0] = 0 if dev < 0 else virtio_config_read(m, dev, off - 0x100, size)
        return 0
    val[0] = 0
    if off & 3 or size != 4:
        return 0                        # QEMU: a guest error, read as 0 (no access fault)
    if off == 0x000:
        val[0] = VIRTIO_MAGIC
    elif off == 0x004:
        val[0] = 2
    elif off == 0x00C:
        val[0] = VIRTIO_VENDOR
    if dev < 0 or off < 0x008 or off == 0x00C:
        return 0
    d = &m.s.vdev[dev & 1]
    q = &d.q[d.queue_sel] if d.queue_sel < vdev_nqueues(dev) else NULL
    if off == 0x008:
        val[0] = 2 if dev == VDEV_BLK else 1
    elif off == 0x010:
        f = vdev_features(dev)
        val[0] = <uint32_t>f if d.dev_features_sel == 0 else (<uint32_t>(f >> 32) if d.dev_features_sel == 1 else 0)
    elif off == 0x034:
        val[0] = VIRTIO_QUEUE_MAX if q != NULL else 0
    elif off == 0x044:
        val[0] = q.ready if q != NULL else 0
    elif off == 0x060:
        val[0] = d.int_status
    elif off == 0x070:
        val[0] = d.status
    elif off == 0x0FC:
        val[0] = d.config_gen
    elif q != NULL:
        if off == 0x038: val[0] = q.num
        elif off == 0x080: val[0] = q.desc
        elif off == 0x090: val[0] = q.avail
        elif off == 0x0A0: val[0] = q.used
    return 0

cdef int virtio_store(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil:
    cdef uint32_t slot = unit + off // VIRTIO_STRIDE, old, qi
    off %= VIRTIO_STRIDE
    cdef int dev = vdev_of_slot(slot)
    cdef Virtio* d
    cdef VirtQueue* q
    cdef uint64_t offered
    if off >= 0x100:
        return 0                        # config space: nothing the driver may write
    if off & 3 or size != 4 or dev < 0:
        return 0                        # QEMU ignores narrow register writes
    d = &m.s.vdev[dev]
    q = &d.q[d.queue_sel] if d.queue_sel < vdev_nqueues(dev) else NULL
    if off == 0x014:
        d.dev_features_sel = val
    elif off == 0x020:
        if not (d.status & VS_FEATURES_OK) and d.drv_features_sel < 2:
            if d.drv_features_sel == 0:
                d.drv_features = (d.drv_features & 0xFFFFFFFF00000000u) | val
            else:
                d.drv_features = (d.drv_features & 0xFFFFFFFFu) | ((<uint64_t>val) << 32)
    elif off == 0x024:
        d.drv_features_sel = val
    elif off == 0x030:
        d.queue_sel = val
    elif off == 0x050:
        if val < vdev_nqueues(dev) and vdev_running(d, val):
            virtio_notify(m, dev, val, h.cycle)
    elif off == 0x064:
        d.int_status &= ~val
        virtio_irq_update(m, dev)
    elif off == 0x070:
        if val == 0:
            virtio_reset(m, dev)
            return 0
        old = d.status
        val &= 0xFF & ~VS_NEEDS_RESET
        if (val & VS_FEATURES_OK) and not (old & VS_FEATURES_OK):
            offered = vdev_features(dev)
            if (d.drv_features & ~offered) or not (d.drv_features & VIRTIO_F_VERSION_1):
                val &= ~VS_FEATURES_OK      # the driver reads back and sees the features refused
        d.status = val | (old & VS_NEEDS_RESET)
        if (val & VS_DRIVER_OK) and not (old & VS_DRIVER_OK):
            for qi in range(vdev_nqueues(dev)):
                if vdev_running(d, qi):
                    virtio_notify(m, dev, qi, h.cycle)
    elif q != NULL and not q.ready:
        if off == 0x038: q.num = val
        elif off == 0x080: q.desc = val
        elif off == 0x090: q.avail = val
        elif off == 0x0A0: q.used = val
        elif off == 0x084 or off == 0x094 or off == 0x0A4:
            if val:
                q.addr_hi = 1
        elif off == 0x044: q.ready = val & 1
    elif q != NULL and off == 0x044 and not (val & 1):
        q.ready = 0
    return 0

cdef void virtio_notify(Mach* m, int dev, uint32_t qi, uint64_t now) noexcept nogil:
    if dev == VDEV_BLK:
        blk_notify(m, now)
    elif qi == 0:
        peer_rx_flush(m, now)
    else:
        net_tx(m, now)

cdef uint32_t virtio_config_read(Mach* m, int dev, uint32_t off, int size) noexcept nogil:
    cdef uint8_t cfg[32]
    cdef uint32_t v = 0
    memset(cfg, 0, sizeof(cfg))
    if dev == VDEV_BLK:
        blk_config(m, cfg)
    else:
        net_config(m, cfg)
    if off + size <= sizeof(cfg):
        memcpy(&v, &cfg[off], size)
    return v
