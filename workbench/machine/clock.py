"""The board's nominal clock: one instruction is one cycle at 100 MHz (mtime ticks once per 10 cycles).

Every conversion from cycles to wall-clock units goes through here, so the rate lives in one place.
"""
CYCLES_PER_SECOND = 100_000_000


def cycles_to_s(cycles: float) -> float:
    return cycles / CYCLES_PER_SECOND


def cycles_to_ms(cycles: float) -> float:
    return cycles * 1e3 / CYCLES_PER_SECOND


def cycles_to_us(cycles: float) -> float:
    return cycles * 1e6 / CYCLES_PER_SECOND
