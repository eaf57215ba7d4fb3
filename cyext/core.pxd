# The machine model's C-level types. Everything architectural lives in one plain struct, `State`, so a
# snapshot of the machine is a memcpy of it plus RAM; caches and fault hooks live outside it.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t

cdef extern from *:
    """
    #define MRWB_MAX_HARTS 8
    #define MRWB_PLIC_SOURCES 64
    #define MRWB_MAX_EVENTS 64
    #define MRWB_PAGE_SHIFT 12
    #define MRWB_TLB 64
    #define MRWB_DEV_EVENTS 512
    #define MRWB_RX_WAIT 32
    #define MRWB_PEER_SLOTS 8
    """
    const int MAX_HARTS "MRWB_MAX_HARTS"
    const int PLIC_SOURCES "MRWB_PLIC_SOURCES"
    const int MAX_MEM_FLIPS "MRWB_MAX_EVENTS"
    const int PAGE_SHIFT "MRWB_PAGE_SHIFT"
    const int TLB_SIZE "MRWB_TLB"
    const int MAX_DEV_EVENTS "MRWB_DEV_EVENTS"
    const int RX_WAIT_MAX "MRWB_RX_WAIT"
    const int PEER_SLOTS "MRWB_PEER_SLOTS"

include "ops_gen.pxi"    # the Op enum, generated from cyext/encoding.py by setup.py

# One decoded instruction. rd == 0 is decoded as 32, a sink register, so x0 stays zero for free.
ctypedef struct Insn:
    uint16_t op
    uint16_t op2
    uint8_t rd
    uint8_t rs1
    uint8_t rs2
    uint8_t _pad
    int32_t imm
    uint32_t raw

ctypedef struct Hart:
    uint32_t x[33]          # x[32] is the sink for writes to x0
    uint32_t pc
    uint32_t priv           # 3 = machine, 0 = user
    uint64_t cycle          # this hart's local time in cycles
    uint64_t instret
    uint64_t mcycle_off     # written mcycle/minstret minus the real counters
    uint64_t minstret_off
    uint32_t mstatus, mie, mtvec, mepc, mcause, mtval, mscratch, mcounteren
    uint32_t mnscratch, mnepc, mncause, mnstatus
    uint8_t pmpcfg[16]
    uint32_t pmpaddr[16]
    uint32_t resv_addr
    uint32_t resv_valid
    uint32_t wfi            # waiting for an interrupt
    uint32_t halted         # fail-stopped: never runs again
    uint32_t nmi_pending
    uint32_t id             # hart index (mhartid)
    uint32_t irq_check      # look for interrupts before the next instruction (see run.pxi)

ctypedef struct Clint:
    uint32_t msip[8]
    uint64_t mtimecmp[8]
    int64_t mtime_off       # software writes to mtime shift it relative to cycles/10

ctypedef struct Plic:
    uint32_t priority[64]
    uint64_t level          # device lines (bit per source)
    uint64_t pending
    uint64_t claimed        # in service: not delivered again until completed
    uint64_t enable[16]     # per context
    uint32_t threshold[16]

ctypedef struct Uart:
    uint8_t regs[8]

ctypedef struct Watchdog:
    uint32_t ctrl[8]
    uint32_t timeout[8]     # in mtime ticks
    uint64_t deadline[8]    # hart-local cycle of expiry

# virtio-mmio v2 devices (devices/virtio_mmio.pxi). Guest addresses are 32-bit: a non-zero high half
# makes the queue unusable (error when the device touches it).
ctypedef struct VirtQueue:
    uint32_t num            # QueueNum chosen by the driver
    uint32_t ready
    uint32_t desc, avail, used
    uint32_t addr_hi        # some high address half written non-zero
    uint32_t last_avail     # next avail-ring index the device takes (mod 2^16)
    uint32_t used_idx       # used ring idx as the device last wrote it (mod 2^16)
    uint32_t inflight       # chains taken from avail and not yet put in used
    uint64_t completed      # chains put in used (counter)
    uint64_t bytes          # payload bytes moved (counter)

ctypedef struct Virtio:
    uint32_t status
    uint32_t dev_features_sel
    uint32_t drv_features_sel
    uint32_t queue_sel
    uint64_t drv_features
    uint32_t int_status     # bit 0 used buffer, bit 1 config change; PLIC line high while non-zero
    uint32_t config_gen
    uint32_t error          # why DEVICE_NEEDS_RESET was set (VERR_*), 0: none
    uint32_t last_error     # the most recent error, kept across resets
    uint64_t resets         # counters, kept across device resets
    uint64_t errors
    uint64_t dropped        # in-flight chains dropped by resets
    uint64_t busy_until     # block: the cycle the device finishes its queued work
    uint64_t ctr[8]         # per-device counters (VBLK_* / VNET_* indices)
    VirtQueue q[2]

# A device event: due at `cycle`; kind EV_*; a, b, c depend on the kind.
ctypedef struct DevEvent:
    uint64_t cycle
    uint32_t kind
    uint32_t a, b, c

ctypedef struct DevConfig:    # latencies in cycles (100 MHz); kept across reset
    uint64_t blk_latency
    uint64_t blk_sector_cycles
    uint64_t net_wire_latency
    uint64_t net_tx_latency
    uint64_t rx_wait_limit
    uint8_t mac[8]

ctypedef struct PeerConfig:   # kept across reset
    uint32_t nslots         # number of AppVMs the peer talks to (0: peer off)
    uint32_t appvm[8]
    uint32_t count          # requests per AppVM
    uint32_t payload_len
    uint32_t tries          # transmissions of a request at most (1: never retransmitted)
    uint64_t timeout        # cycles without a reply before the request is sent again
    uint64_t interval
    uint64_t start
    uint64_t seed

ctypedef struct RxWait:       # a frame on the wire waiting for an RX buffer
    uint32_t slot
    uint32_t seq
    uint64_t deadline

ctypedef struct Peer:
    PeerConfig cfg
    uint32_t next_seq[8]    # per slot: requests sent so far
    uint32_t max_replied[8] # per slot: highest seq replied + 1 (0: none)
    uint64_t ctr[14]        # PEER_* counters
    uint32_t nwait
    uint32_t outstanding    # requests sent, not answered, not given up
    uint64_t progress       # last first-reply, or when `outstanding` rose from 0: a gap's start
    uint64_t longest_gap    # longest closed stretch with a request outstanding and no reply
    RxWait wait[32]

ctypedef struct State:
    uint32_t nharts
    uint32_t quantum
    uint64_t round_start
    uint64_t round_end
    uint64_t console_len
    uint32_t stop_reason
    uint32_t stop_code
    uint32_t stop_hart
    Hart harts[8]
    Clint clint
    Plic plic
    Uart uart
    Watchdog wdog
    Virtio vdev[2]          # VDEV_BLK, VDEV_NET
    DevConfig devcfg
    Peer peer
    uint32_t nevents        # device events, sorted by cycle (FIFO among equal cycles)
    uint32_t _evpad
    DevEvent events[512]

# Armed fault hooks and probes: not machine state (a restore discards the fault hooks).
ctypedef struct RegFlip:
    int armed
    int kind                # 0: x register, 1: pc, 2: csr
    int index               # register number or CSR address
    int bit
    uint64_t at             # count at which to flip
    int ctx                 # count only in a context
    int ctx_priv            # -1: any privilege
    uint32_t ctx_lo, ctx_hi # pc range [lo, hi); hi == 0: any pc
    uint64_t ctx_count
    int fired
    uint64_t fired_cycle
    uint64_t fired_instret
    uint32_t old_value
    int track               # register being watched for read-before-overwrite (0: none)
    int track_result        # 0 pending, 1 read first, 2 overwritten first (masked)
    int stop_on_masked

ctypedef struct Hooks:
    RegFlip flip[8]
    int failstop_armed[8]
    uint64_t failstop_at[8]
    int nmflips             # memory flips waiting for their cycle, sorted by cycle
    uint64_t mflip_cycle[64]
    uint32_t mflip_off[64]
    uint8_t mflip_bit[64]
    int nprobes
    # one RAM byte watched for read-before-overwrite (a memory flip's, like RegFlip.track)
    int watch_on            # 1: one byte (first access decides); 2: a range, the last access of each byte kept
    uint32_t watch_off      # RAM offset of the byte (or the range)
    uint32_t watch_len      # 1, or the range's length
    int watch_result        # 0 pending, 1 read (or touched in a way that may read it), 2 overwritten first
    int watch_stop          # stop the run (STOP_MASKED) when a hart's store overwrites it first
    uint64_t watch_cycle

# Per-request record of the network peer (outside State: sized by the peer's configuration).
ctypedef struct PeerRec:
    uint64_t sent_cycle
    uint64_t reply_cycle    # first reply's arrival (valid when replies > 0)
    uint32_t replies
    uint32_t flags          # 1 first reply ok, 2 some reply's payload wrong, 4 first reply out of order,
                            # 8 given up (tries exhausted with no reply)
    uint32_t tx             # transmissions so far (1 + retransmissions)
    uint32_t _pad

# PMP answers per page for one exact PMP configuration of a hart: a pure function of (pmpcfg, pmpaddr),
# so a set stays right for as long as the configuration is the same, across traps and restores.
ctypedef struct PmpTlb:
    uint8_t cfg[16]
    uint32_t addr[16]
    uint32_t used
    uint64_t key            # hash of cfg and addr (checked before comparing them)
    uint32_t tag[2][64]     # per slot (0 user, 1 machine): page + 1 (0: empty)
    uint8_t perm[2][64]
    uint32_t wtag[2][16]    # words of non-uniform pages (PMP boundaries are 4-byte aligned, so an aligned
    uint8_t wperm[2][16]    # access has its word's permissions): word address + 1 (0: empty)

ctypedef struct Mach:
    State* s
    uint8_t* ram
    uint32_t ram_size
    uint32_t npages
    Insn** pages            # decoded pages (NULL: never decoded)
    uint8_t* page_valid     # 1: decoded page matches RAM
    uint32_t* page_epoch    # epoch of the last change of each page
    uint32_t epoch
    uint32_t nmi_vector
    char* console
    uint64_t console_cap
    Hooks hooks
    uint64_t* watch_last    # range watch: per byte, an upper bound of the cycle of its last access (0: none)
    uint32_t* probe_addrs
    int* probe_stop
    uint64_t* probe_log     # (cycle, hart<<32|pc) pairs
    uint64_t probe_log_len
    uint64_t probe_log_cap
    int64_t instr_budget    # instructions left in this run call (-1: unlimited)
    uint64_t fetch_faults   # fetches that trapped (a step that ran no instruction), counter
    uint32_t nresv          # harts holding an LR reservation
    uint8_t m_locked[8]     # some locked PMP entry: machine mode must be checked too
    uint64_t probe_skip[8]  # pc+1 of a probe that stopped the run: not logged again on resume
    PmpTlb* tlb[8]          # per hart: the set of its current PMP configuration (&tlb_none: not looked up yet)
    PmpTlb tlb_none         # never filled: every lookup in it misses, and the miss picks the set
    PmpTlb tlb_sets[8][16]  # per hart: the last configurations seen (the hypervisor toggles its guard entry
    uint8_t tlb_victim[8]   # at every trap and mret, for each domain a hart runs: two sets per domain)
    uint8_t* disk           # the block device's backing store
    uint64_t disk_size
    uint32_t ndblocks       # 4 KiB blocks, for dirty tracking
    uint32_t* dblock_epoch  # epoch of the last change of each disk block
    PeerRec* peer_rec       # [slot * count + seq]
    uint64_t peer_cap       # records allocated

cdef class Core:
    cdef Mach m
    cdef State state
    cdef object ram_array
    cdef object disk_array
    cdef object _watch_last      # the range watch's array (Mach.watch_last points into it)
    cdef uint64_t owner          # snapshots taken here can be restored page by page
    cdef void _caches_changed(self)
    cdef _peer_records_from(self, const char* src, uint64_t npeer)
