# The run loop. Time advances in rounds: each hart in turn runs up to the round's end (a quantum of
# cycles, cut short so that memory flips happen at their exact cycle); a hart's own timer and watchdog
# cut its chunks so their interrupts arrive at their exact cycle too. Everything here is nogil.

cdef enum:
    STOP_NONE = 0
    STOP_POWEROFF = 1
    STOP_FAIL = 2
    STOP_RESET = 3
    STOP_INSTR_LIMIT = 4
    STOP_CYCLE_LIMIT = 5
    STOP_PROBE = 6
    STOP_MASKED = 7
    STOP_IDLE = 8
    STOP_TRIGGER = 9    # an armed trigger (flip kind FLIP_TRIGGER) reached its count: Python acts there


cdef inline void mark_probe(Mach* m, Insn* d, uint32_t addr) noexcept nogil:
    """Probes become OP_PROBE entries, so they cost nothing where no probe is."""
    cdef int p
    for p in range(m.hooks.nprobes):
        if m.probe_addrs[p] == addr:
            d.op2 = d.op
            d.op = OP_PROBE
            return

cdef Insn* decode_page(Mach* m, uint32_t page) noexcept nogil:
    cdef Insn* d = m.pages[page]
    cdef uint32_t* words = <uint32_t*>(m.ram + (page << PAGE_SHIFT))
    cdef uint32_t i, base = RAM_BASE + (page << PAGE_SHIFT)
    cdef int p
    if d == NULL:
        d = <Insn*>malloc(sizeof(Insn) << (PAGE_SHIFT - 2))
        if d == NULL:
            return NULL
        m.pages[page] = d
    if watched(m, page << PAGE_SHIFT, 1u << PAGE_SHIFT):
        watch_read(m, page << PAGE_SHIFT, 1u << PAGE_SHIFT, now_bound(m))     # decoding the watched byte's page may execute it: live
    for i in range(1 << (PAGE_SHIFT - 2)):
        decode(words[i], &d[i])
    for p in range(m.hooks.nprobes):
        if m.probe_addrs[p] - base < 4096:
            mark_probe(m, &d[(m.probe_addrs[p] - base) >> 2], m.probe_addrs[p])
    m.page_valid[page] = 1
    return d

cdef Insn* fetch_page(Mach* m, Hart* h, uint64_t* base) noexcept nogil:
    """The decoded page holding h.pc (and its base in *base when every word of it may be fetched
    without further checks), or NULL after taking a fetch exception."""
    cdef uint32_t pc = h.pc, off = pc - RAM_BASE, page
    cdef Insn* d
    base[0] = NO_PAGE
    # take_exception takes back one retirement, but the run loop counts none for a failed fetch
    if pc & 3:
        take_exception(h, CAUSE_MISALIGNED_FETCH, pc)
        h.instret += 1
        return NULL
    if off >= m.ram_size or not pmp_allows(m, h, h.priv, pc, 4, PMP_X):
        take_exception(h, CAUSE_FETCH_ACCESS, pc)
        h.instret += 1
        return NULL
    page = off >> PAGE_SHIFT
    d = m.pages[page] if m.page_valid[page] else decode_page(m, page)
    if d != NULL and pmp_page_uniform(m, h, h.priv, pc):
        base[0] = pc & ~0xFFFu
    return d

cdef inline void probe_log(Mach* m, Hart* h) noexcept nogil:
    cdef uint64_t* grown
    if m.probe_log_len + 2 > m.probe_log_cap:
        grown = <uint64_t*>realloc(m.probe_log, 2 * sizeof(uint64_t) * (m.probe_log_cap + 64))
        if grown == NULL:
            return
        m.probe_log = grown
        m.probe_log_cap = 2 * (m.probe_log_cap + 64)
    m.probe_log[m.probe_log_len] = h.cycle
    m.probe_log[m.probe_log_len + 1] = ((<uint64_t>h.id) << 32) | h.pc
    m.probe_log_len += 2

cdef inline int probe_hit(Mach* m, Hart* h) noexcept nogil:
    """A hart reached a probed pc: log it; ST_STOP before the instruction runs if the probe stops."""
    cdef int p
    if m.probe_skip[h.id] == <uint64_t>h.pc + 1:
        m.probe_skip[h.id] = 0        # this hit stopped the last run: do not log it twice
        return ST_OK
    probe_log(m, h)
    for p in range(m.hooks.nprobes):
        if m.probe_addrs[p] == h.pc and m.probe_stop[p]:
            m.probe_skip[h.id] = <uint64_t>h.pc + 1
            m.s.stop_reason = STOP_PROBE
            m.s.stop_hart = h.id
            return ST_STOP
    return ST_OK

cdef int special_op(Mach* m, Hart* h, Insn* d) noexcept nogil:
    """The op to execute at a probed or stale slot, or -1 when a probe stops the run first."""
    if d.op == OP_REDECODE:
        if watched(m, h.pc - RAM_BASE, 4):
            watch_read(m, h.pc - RAM_BASE, 4, h.cycle)
        decode((<uint32_t*>(m.ram + (h.pc - RAM_BASE)))[0], d)
        mark_probe(m, d, h.pc)
    if d.op == OP_PROBE:
        if probe_hit(m, h) == ST_STOP:
            return -1
        return d.op2
    return d.op

cdef int run_chunk_fast(Mach* m, Hart* h, uint64_t end) noexcept nogil:
    """Run h until its cycle reaches `end` or a step asks for a break. The hot loop."""
    cdef uint64_t base = NO_PAGE, off
    cdef Insn* page = NULL
    cdef Insn* d
    cdef int st, op
    while h.cycle < end:
        off = <uint64_t>h.pc - base
        if off >= 4096:
            page = fetch_page(m, h, &base)
            if page == NULL:
                h.cycle += 1
                m.fetch_faults += 1
                return ST_BREAK
            off = h.pc - (h.pc & ~0xFFFu)
        d = &page[off >> 2]
        op = d.op
        if op >= OP_PROBE:
            op = special_op(m, h, d)
            if op < 0:
                return ST_STOP
        st = step(m, h, d, op)
        h.cycle += 1
        h.instret += 1
        if st:
            return st
    return ST_OK

cdef inline int in_context(RegFlip* f, Hart* h) noexcept nogil:
    if f.ctx_priv >= 0 and <uint32_t>f.ctx_priv != h.priv:
        return 0
    return f.ctx_hi == 0 or (h.pc >= f.ctx_lo and h.pc < f.ctx_hi)

cdef enum:
    FLIP_TRIGGER = 3    # a flip of nothing that stops the run where it fires (fault injection from Python)

cdef int fire_flip(Mach* m, Hart* h, RegFlip* f) noexcept nogil:
    """Apply the armed flip; returns 1 when it is a trigger and the run must stop here."""
    cdef uint32_t v = 0
    f.armed = 0
    f.fired = 1
    f.fired_cycle = h.cycle
    f.fired_instret = h.instret
    if f.kind == FLIP_TRIGGER:
        f.old_value = h.pc
        m.s.stop_reason = STOP_TRIGGER
        m.s.stop_hart = h.id
        return 1
    if f.kind == 0:
        f.old_value = h.x[f.index]
        h.x[f.index] ^= 1u << f.bit
        f.track = f.index
        f.track_result = 0
    elif f.kind == 1:
        f.old_value = h.pc
        h.pc ^= 1u << f.bit
    else:
        csr_read(m, h, f.index, &v)
        f.old_value = v
        csr_write(m, h, f.index, v ^ (1u << f.bit))
    return 0

cdef int run_chunk_observed(Mach* m, Hart* h, uint64_t end) noexcept nogil:
    """The same steps as run_chunk_fast, looking at each instruction first: counting instructions in a
    fault's context, and watching a flipped register until it is read or overwritten."""
    cdef uint64_t base = NO_PAGE, off
    cdef Insn* page = NULL
    cdef Insn* d
    cdef int st, op, overwrites
    cdef uint64_t retired
    cdef RegFlip* f = &m.hooks.flip[h.id]
    while h.cycle < end:
        off = <uint64_t>h.pc - base
        if off >= 4096:
            page = fetch_page(m, h, &base)
            if page == NULL:
                h.cycle += 1
                return ST_BREAK
            off = h.pc - (h.pc & ~0xFFFu)
        d = &page[off >> 2]
        op = d.op
        if op >= OP_PROBE:
            op = special_op(m, h, d)
            if op < 0:
                return ST_STOP
        if f.armed and f.ctx and in_context(f, h):
            if f.ctx_count == f.at:
                if fire_flip(m, h, f):
                    return ST_STOP
                return ST_REFETCH     # the flip may have changed pc or fetch state
            f.ctx_count += 1
        overwrites = 0
        if f.track:
            if (_op_reads1[op] and d.rs1 == f.track) or (_op_reads2[op] and d.rs2 == f.track):
                f.track_result = 1
                f.track = 0
            elif _op_writes[op] and d.rd == f.track:
                overwrites = 1
        retired = h.instret
        st = step(m, h, d, op)
        h.cycle += 1
        h.instret += 1
        if overwrites and h.instret != retired:      # it retired, so rd was really written
            f.track_result = 2
            f.track = 0
            if f.stop_on_masked:
                m.s.stop_reason = STOP_MASKED
                m.s.stop_hart = h.id
                return ST_STOP
        if st:
            return st
        if not (f.track or (f.armed and f.ctx)):
            return ST_REFETCH         # nothing left to observe: back to the fast loop
    return ST_OK

cdef int check_interrupts(Mach* m, Hart* h) noexcept nogil:
    """Take a pending NMI or enabled interrupt; wake a WFI hart. Returns 1 if a trap was taken."""
    cdef uint32_t pending
    if h.nmi_pending and (h.mnstatus & MNSTATUS_NMIE):
        take_nmi(m, h)
        return 1
    pending = compute_mip(m, h) & h.mie
    if not pending:
        return 0
    h.wfi = 0
    if (h.priv < 3 or (h.mstatus & MSTATUS_MIE)) and (h.mnstatus & MNSTATUS_NMIE):
        if pending & (1 << IRQ_MEI):
            take_interrupt(h, IRQ_MEI)
        elif pending & (1 << IRQ_MSI):
            take_interrupt(h, IRQ_MSI)
        else:
            take_interrupt(h, IRQ_MTI)
        return 1
    return 0

cdef uint64_t hart_wake_cycle(Mach* m, Hart* h) noexcept nogil:
    """Earliest own-event cycle (timer interrupt, watchdog) that can change what h does."""
    cdef uint64_t t = NEVER, c
    if h.mie & (1 << IRQ_MTI):
        c = clint_timer_cycle(m, h)
        if c > h.cycle:
            t = c
    if m.s.wdog.ctrl[h.id] and m.s.wdog.deadline[h.id] < t:
        t = m.s.wdog.deadline[h.id]
    return t

cdef inline int hart_idle(Mach* m, Hart* h) noexcept nogil:
    return h.halted or (h.wfi and not (compute_mip(m, h) & h.mie) and not h.nmi_pending)

cdef int run_hart(Mach* m, Hart* h) noexcept nogil:
    """Advance h to the end of the round (which device events may bring forward while it runs).
    Returns 1 when the machine stops (reason in the state).

    Interrupts are looked for only at points that belong to the run itself: the start of the hart's
    turn in a round, after an instruction that changed the hart's own state (ST_BREAK), and at its
    timer or watchdog deadline. Chunk ends that come from outside the run (an instruction limit, an
    armed fault hook, a memory flip, a stop and resume) are no such points, so they never change what
    the machine does: a run stopped and resumed anywhere, or with a fault armed that has not fired
    yet, is the same run."""
    cdef RegFlip* f = &m.hooks.flip[h.id]
    cdef uint64_t lim, wake, n, before, faults
    cdef int st
    while h.cycle < m.s.round_end:
        if h.halted:
            h.cycle = m.s.round_end
            break
        if m.hooks.failstop_armed[h.id] and h.instret >= m.hooks.failstop_at[h.id]:
            m.hooks.failstop_armed[h.id] = 0
            h.halted = 1
            continue
        if f.armed and not f.ctx and h.instret >= f.at:
            if fire_flip(m, h, f):
                return 1
        if m.hooks.nmflips and m.hooks.mflip_cycle[0] <= h.cycle:
            apply_memory_flips(m, h.cycle)        # the first hart to reach the cycle sees it first
        if m.s.wdog.ctrl[h.id] and h.cycle >= m.s.wdog.deadline[h.id]:
            m.s.wdog.ctrl[h.id] = 0
            h.nmi_pending = 1
            h.irq_check = 1
        if h.irq_check:
            h.irq_check = 0
            check_interrupts(m, h)
        lim = m.s.round_end
        wake = hart_wake_cycle(m, h)
        if wake < lim:
            lim = wake
        if h.wfi:
            h.cycle = lim
            h.irq_check = 1
            continue
        n = lim - h.cycle
        if m.instr_budget >= 0:
            if m.instr_budget == 0:
                m.s.stop_reason = STOP_INSTR_LIMIT
                m.s.stop_hart = h.id
                return 1
            if <uint64_t>m.instr_budget < n:
                n = m.instr_budget
        if f.armed and not f.ctx and f.at - h.instret < n:
            n = f.at - h.instret
        if m.hooks.failstop_armed[h.id] and m.hooks.failstop_at[h.id] - h.instret < n:
            n = m.hooks.failstop_at[h.id] - h.instret
        if m.hooks.nmflips and m.hooks.mflip_cycle[0] - h.cycle < n:
            n = m.hooks.mflip_cycle[0] - h.cycle
        before = h.cycle
        if f.track or (f.armed and f.ctx and (f.ctx_hi != 0 or (in_context(f, h) and f.ctx_count == f.at))):
            st = run_chunk_observed(m, h, h.cycle + n)
        elif f.armed and f.ctx:
            # a privilege-only context: h.priv changes only in a step that returns ST_BREAK (a trap, mret,
            # mnret) or here between chunks, so every step of a fast chunk starts in the context the chunk
            # started in; count them in one go and let the observed loop take the step that fires
            if in_context(f, h):
                if f.at - f.ctx_count < n:
                    n = f.at - f.ctx_count
                faults = m.fetch_faults
                st = run_chunk_fast(m, h, h.cycle + n)
                f.ctx_count += (h.cycle - before) - (m.fetch_faults - faults)   # a trapped fetch is no step
            else:
                st = run_chunk_fast(m, h, h.cycle + n)
        else:
            st = run_chunk_fast(m, h, h.cycle + n)
        if m.instr_budget >= 0:
            m.instr_budget -= <int64_t>(h.cycle - before)
        if st == ST_STOP:
            return 1
        if st == ST_BREAK or h.cycle >= wake:
            h.irq_check = 1
    return 0

cdef void apply_memory_flips(Mach* m, uint64_t now) noexcept nogil:
    cdef int i, k = 0
    cdef uint32_t off
    for i in range(m.hooks.nmflips):
        if m.hooks.mflip_cycle[i] <= now:
            off = m.hooks.mflip_off[i]
            m.ram[off] ^= <uint8_t>(1 << m.hooks.mflip_bit[i])
            ram_written(m, off, 1, -1)          # not a store: every reservation on it breaks
        else:
            m.hooks.mflip_cycle[k] = m.hooks.mflip_cycle[i]
            m.hooks.mflip_off[k] = m.hooks.mflip_off[i]
            m.hooks.mflip_bit[k] = m.hooks.mflip_bit[i]
            k += 1
    m.hooks.nmflips = k

cdef void device_events(Mach* m, uint64_t now) noexcept nogil:
    """Run the device events due by `now` (they may queue more, due now or later)."""
    cdef DevEvent ev
    while m.s.nevents and m.s.events[0].cycle <= now:
        evq_pop(m.s, &ev)
        if ev.kind < 32 and EVENT_OWNER[ev.kind] != NULL:
            EVENT_OWNER[ev.kind].event(m, &ev)      # the row that owns the kind (bus.pxi)

cdef int run_machine(Mach* m, uint64_t cycle_limit) noexcept nogil:
    """Run rounds until something stops the machine; returns the stop reason.

    Rounds are a quantum long, cut only by device events (which are part of the run). A cycle limit
    therefore ends the run at the first round boundary at or after it, never inside a round: stopping
    must not change the interleaving of the harts."""
    cdef State* s = m.s
    cdef uint32_t i
    cdef Hart* h
    cdef uint64_t t, nxt, c
    cdef int all_idle
    if s.stop_reason == STOP_POWEROFF or s.stop_reason == STOP_FAIL or s.stop_reason == STOP_RESET:
        return s.stop_reason        # the board is off (or waiting to be reset) until reset()
    s.stop_reason = STOP_NONE
    while True:
        for i in range(s.nharts):
            h = &s.harts[i]
            if h.cycle < s.round_end and run_hart(m, h):
                return s.stop_reason
        # the round is complete: every hart is at (or, after a cut, beyond) round_end
        t = s.round_end
        s.round_start = t
        apply_memory_flips(m, t)
        device_events(m, t)
        if t >= cycle_limit:
            s.stop_reason = STOP_CYCLE_LIMIT
            return s.stop_reason
        for i in range(s.nharts):
            s.harts[i].irq_check = 1
        nxt = NEVER
        if s.nevents:
            nxt = s.events[0].cycle
        all_idle = 1
        for i in range(s.nharts):
            if not hart_idle(m, &s.harts[i]):
                all_idle = 0
                break
        if all_idle:
            # nothing runs until some hart's timer or watchdog, a device event or a memory flip: jump
            # there (or to the cycle limit: no hart runs in between, so stopping there changes nothing)
            if m.hooks.nmflips and m.hooks.mflip_cycle[0] < nxt:
                nxt = m.hooks.mflip_cycle[0]
            for i in range(s.nharts):
                if not s.harts[i].halted:
                    c = hart_wake_cycle(m, &s.harts[i])
                    if c <= t:
                        c = t + 1     # a deadline reached at the round's end (a watchdog): run there
                    if c < nxt:
                        nxt = c
            if nxt == NEVER:
                s.stop_reason = STOP_IDLE
                return s.stop_reason
            s.round_end = nxt if nxt < cycle_limit else cycle_limit
        else:
            s.round_end = t + s.quantum if t + s.quantum < nxt else nxt
