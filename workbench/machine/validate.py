"""The one check for integers that cross from Python into the core (cyext takes C integers: a bool, a
float or an out-of-range number must be refused here, with the field's name, never wrapped or
turned into an OverflowError down there)."""
from __future__ import annotations

import numpy as np

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1


class IndexValueError(IndexError, ValueError):
    """A bad index: an IndexError for Python's conventions, a ValueError for the project's."""


def as_int(value, field: str, lo: int | None = 0, hi: int | None = U64_MAX, *, index: bool = False) -> int:
    """`value` as a Python int within lo..hi (None: unbounded on that side). Otherwise ValueError (or
    IndexValueError with `index`) naming `field` and the allowed values. A bool is not a count."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        ok = False
    else:
        value = int(value)
        ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    if not ok:
        allowed = "an integer" + (f" {_num(lo)}..{_num(hi)}" if lo is not None and hi is not None else
                                  f" >= {_num(lo)}" if lo is not None else
                                  f" <= {_num(hi)}" if hi is not None else "")
        raise (IndexValueError if index else ValueError)(f"{field} must be {allowed}, got {value!r}")
    return value


def as_u32(value, field: str) -> int:
    """A 32-bit word: signed or unsigned spellings are both accepted (-1 is 0xFFFFFFFF)."""
    return as_int(value, f"{field} (32 bits)", -(1 << 31), U32_MAX) & U32_MAX


def _num(v: int) -> str:
    for bits in (32, 40, 62, 63, 64):
        if v == (1 << bits) - 1:
            return f"2**{bits}-1"
        if v == 1 << bits:
            return f"2**{bits}"
    return f"{v:#x}" if abs(v) >= 1 << 16 else str(v)
