# The board: one table of devices (Spike's abstract_device_t). A device is one file in devices/ plus one
# row here: name, address window, PLIC source, load/store, the device events it owns, its slice of
# State and its counters. Harts reach MMIO only through mmio_load/mmio_store, which look the address up
# here; the run loop hands each device event to the row that owns its kind; Python reads the table as
# core.BOARD (workbench.machine.BOARD). RAM is row 0 (reached by the fast path in exec.pxi, not the table).

cdef enum:
    RAM_BASE = 0x80000000
    RAM_MAX = 0x40000000            # the window RAM may fill (Machine allows up to 1 GiB)
    SYSCON_BASE = 0x00100000
    WDOG_BASE = 0x00102000
    CLINT_BASE = 0x02000000
    PLIC_BASE = 0x0C000000
    UART_BASE = 0x10000000
    VIRTIO_BASE = 0x10001000        # virtio-mmio slot i at VIRTIO_BASE + VIRTIO_STRIDE * i
    VIRTIO_STRIDE = 0x1000
    VIRTIO_SLOTS = 8
    SLOT_NET = 6                    # which slot holds which device (QEMU virt fills from the top)
    SLOT_BLK = 7
    MAX_DEVICES = 16

ctypedef int (*dev_load_t)(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val,
                           int peek) noexcept nogil
ctypedef int (*dev_store_t)(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil
ctypedef void (*dev_event_t)(Mach* m, DevEvent* ev) noexcept nogil

ctypedef struct Device:
    const char* name
    uint32_t base, size     # MMIO window [base, base + size); size 0: none
    uint32_t irq            # PLIC source (0: none)
    uint32_t unit           # passed to load/store (the first virtio slot of the row)
    dev_load_t load         # 0 done (*val set), -1 nothing there (access fault); `peek`: no side effects
    dev_store_t store       # 0 done, 2 the machine stops, -1 nothing there
    dev_event_t event       # runs its due device events
    uint32_t events         # bit k: event kind k (events.pxi) is this device's
    size_t state_off        # its slice of State: snapshots copy State whole, this says what is whose
    size_t state_size
    const char* counters    # names of Virtio.ctr / Peer.ctr entries, space-separated ("": none)

cdef State _LAYOUT                  # only for the offsets of each device's state
cdef Device DEVICES[MAX_DEVICES]
cdef uint32_t NDEVICES = 0
cdef Device* EVENT_OWNER[32]        # event kind -> its row

cdef inline size_t _at(const void* field) noexcept nogil:
    return <const char*>field - <const char*>&_LAYOUT

cdef void _add(Device d):
    global NDEVICES
    if NDEVICES >= MAX_DEVICES:
        raise ImportError(f"more than {MAX_DEVICES} device rows")
    DEVICES[NDEVICES] = d
    NDEVICES += 1

cdef void _board():
    cdef Device none
    memset(&none, 0, sizeof(Device))
    cdef Device d
    # -- the rows: name, window, irq, unit, load, store, event, events, state, counters ----------------
    d = none; d.name = b"ram"; d.base, d.size = RAM_BASE, RAM_MAX; _add(d)
    d = none; d.name = b"syscon"; d.base, d.size = SYSCON_BASE, 0x1000
    d.load, d.store = syscon_load, syscon_store; _add(d)
    d = none; d.name = b"watchdog"; d.base, d.size = WDOG_BASE, WDOG_STRIDE * MAX_HARTS
    d.load, d.store = wdog_load, wdog_store
    d.state_off, d.state_size = _at(&_LAYOUT.wdog), sizeof(Watchdog); _add(d)
    d = none; d.name = b"clint"; d.base, d.size = CLINT_BASE, 0x10000
    d.load, d.store = clint_load, clint_store
    d.state_off, d.state_size = _at(&_LAYOUT.clint), sizeof(Clint); _add(d)
    d = none; d.name = b"plic"; d.base, d.size = PLIC_BASE, 0x400000
    d.load, d.store = plic_load, plic_store
    d.state_off, d.state_size = _at(&_LAYOUT.plic), sizeof(Plic); _add(d)
    d = none; d.name = b"uart"; d.base, d.size = UART_BASE, 0x100
    d.irq, d.load, d.store = 10, uart_load, uart_store      # source 10 as QEMU's (never raised: transmit only)
    d.state_off, d.state_size = _at(&_LAYOUT.uart), sizeof(Uart); _add(d)
    d = none; d.name = b"virtio_empty"; d.base, d.size = VIRTIO_BASE, VIRTIO_STRIDE * SLOT_NET
    d.load, d.store = virtio_load, virtio_store; _add(d)
    d = none; d.name = b"virtio_net"; d.base, d.size = VIRTIO_BASE + VIRTIO_STRIDE * SLOT_NET, VIRTIO_STRIDE
    d.irq, d.unit, d.load, d.store = virtio_irq(SLOT_NET), SLOT_NET, virtio_load, virtio_store
    d.event, d.events = net_event, 1u << EV_NET_TX_DONE
    d.state_off, d.state_size = _at(&_LAYOUT.vdev[VDEV_NET]), sizeof(Virtio)
    d.counters = b"tx_frames tx_bytes rx_frames rx_bytes rx_small tx_oversize"; _add(d)
    d = none; d.name = b"virtio_blk"; d.base, d.size = VIRTIO_BASE + VIRTIO_STRIDE * SLOT_BLK, VIRTIO_STRIDE
    d.irq, d.unit, d.load, d.store = virtio_irq(SLOT_BLK), SLOT_BLK, virtio_load, virtio_store
    d.event, d.events = blk_event, 1u << EV_BLK_DONE
    d.state_off, d.state_size = _at(&_LAYOUT.vdev[VDEV_BLK]), sizeof(Virtio)
    d.counters = b"reads writes flushes get_ids sectors_read sectors_written ioerr unsupp"; _add(d)
    d = none; d.name = b"net_peer"      # the other end of the NIC's wire: no window, events only
    d.event = peer_event
    d.events = ((1u << EV_PEER_TICK) | (1u << EV_NET_RX_ARRIVE) | (1u << EV_PEER_RX) | (1u << EV_RX_TIMEOUT)
                | (1u << EV_PEER_RETRY))
    d.state_off, d.state_size = _at(&_LAYOUT.peer), sizeof(Peer)
    d.counters = (b"sent replies ok bad duplicates out_of_order lost foreign malformed bad_src evq_full "
                  b"hellos retransmissions given_up"); _add(d)


def _device_rows():
    """The table as Python dicts (the rows as they are; check_devices says whether they make a board)."""
    cdef uint32_t i
    rows = []
    for i in range(NDEVICES):
        d = &DEVICES[i]
        rows.append({"name": d.name.decode(), "base": d.base, "size": d.size, "irq": d.irq,
                     "events": tuple(k for k in range(32) if (d.events >> k) & 1),
                     "state": (d.state_off, d.state_size),
                     "counters": tuple(d.counters.decode().split()) if d.counters != NULL else ()})
    return tuple(rows)


def check_devices(rows):
    """ValueError unless names are unique and windows, event kinds and state slices do not overlap."""
    names = [r["name"] for r in rows]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"device names appear twice: {dup}")
    for what, spans in (("address window", [(r["base"], r["size"], r["name"]) for r in rows]),
                        ("State slice", [(r["state"][0], r["state"][1], r["name"]) for r in rows])):
        spans = sorted(s for s in spans if s[1])
        for (a, n, x), (b, _m, y) in zip(spans, spans[1:]):
            if a + n > b:
                raise ValueError(f"{what}s of {x} and {y} overlap")
    owner = {}
    for r in rows:
        for k in r["events"]:
            if k in owner:
                raise ValueError(f"event kind {k} belongs to both {owner[k]} and {r['name']}")
            owner[k] = r["name"]
    if any(r["state"][0] + r["state"][1] > sizeof(State) for r in rows):
        raise ValueError("a device's State slice lies outside State")


def _build_board():
    cdef uint32_t i, k
    _board()
    check_devices(_device_rows())
    for i in range(NDEVICES):
        for k in range(32):
            if (DEVICES[i].events >> k) & 1:
                EVENT_OWNER[k] = &DEVICES[i]

_build_board()
BOARD = _device_rows()


cdef inline const Device* device_at(uint32_t addr) noexcept nogil:
    cdef uint32_t i
    for i in range(1, NDEVICES):              # row 0 is RAM
        if addr - DEVICES[i].base < DEVICES[i].size:
            return &DEVICES[i]
    return NULL

cdef int mmio_load(Mach* m, Hart* h, uint32_t addr, int size, uint32_t* val, int peek) noexcept nogil:
    """Device read: 0 done, -1 no device there (access fault). `peek` reads without side effects."""
    cdef const Device* d = device_at(addr)
    if d == NULL:
        return -1
    return d.load(m, h, d.unit, addr - d.base, size, val, peek)

cdef int mmio_store(Mach* m, Hart* h, uint32_t addr, int size, uint32_t val) noexcept nogil:
    """Device write: 0 done, 2 the machine stops, -1 no device there (access fault)."""
    cdef const Device* d = device_at(addr)
    if d == NULL:
        return -1
    return d.store(m, h, d.unit, addr - d.base, size, val)
