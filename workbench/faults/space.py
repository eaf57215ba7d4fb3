"""`FaultSpace`: the faults of some types in one target, sampled uniformly over the target's
instructions executed in the golden run (within a window), or enumerated for a small window.

    space = FaultSpace("hv", ("reg", "code", "failstop", "mem"))      # window (0.0, 0.25)
    faults = space.sample(system, 1000, seed=7)                       # the same list for the same seed

`window`: (start, end) as fractions of the golden run's simulated time (floats in [0, 1]); or as
(first, last + 1) counts of target instructions on each hart (ints). The default leaves most of the
workload to run after the fault, as the papers inject 0.5-6 s into ~24 s runs.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from workbench.faults.golden import golden_profile, live_ranges, target_context
from workbench.faults.models import (FAULT_TYPES, REGISTERS, CodeFlip, FailStop, Fault, MemoryFlip, RegisterFlip,
                                     parse_target)

DEFAULT_WINDOW = (0.0, 0.25)
MAX_ENUMERATE = 1_000_000


@dataclass(frozen=True)
class FaultSpace:
    target: str
    fault_types: tuple[str, ...] = FAULT_TYPES
    window: tuple | None = None

    def __post_init__(self):
        try:
            parse_target(self.target)
        except ValueError as e:
            raise ValueError(f"FaultSpace.{e}") from None
        types = (self.fault_types,) if isinstance(self.fault_types, str) else self.fault_types
        if not isinstance(types, (tuple, list)) or not types or any(t not in FAULT_TYPES for t in types) \
                or len(set(types)) != len(types):
            raise ValueError(f"FaultSpace.fault_types={self.fault_types!r} is invalid: allowed a non-empty tuple of "
                             f"distinct names from {', '.join(map(repr, FAULT_TYPES))}")
        object.__setattr__(self, "fault_types", tuple(types))
        w = DEFAULT_WINDOW if self.window is None else self.window
        ok = isinstance(w, (tuple, list)) and len(w) == 2
        if ok and all(isinstance(v, int) and not isinstance(v, bool) for v in w):
            ok = 0 <= w[0] < w[1]
        elif ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in w):
            ok = 0.0 <= w[0] < w[1] <= 1.0
        else:
            ok = False
        if not ok:
            raise ValueError(f"FaultSpace.window={self.window!r} is invalid: allowed None (default {DEFAULT_WINDOW}), "
                             "(start, end) fractions of the golden run with 0 <= start < end <= 1, or (first, last+1) "
                             "instruction counts (ints)")
        object.__setattr__(self, "window", tuple(w))

    def at_ranges(self, system) -> list[tuple[int, int, int]]:
        """(hart, first at, last at + 1) per hart that runs the target inside the window."""
        target_context(system, self.target)
        g = golden_profile(system, self.target)
        total = g.target_counts(self.target)
        w = self.window
        if all(isinstance(v, int) for v in w) and not any(isinstance(v, float) for v in w):
            spans = [(h, min(w[0], n), min(w[1], n)) for h, n in enumerate(total)]
        else:
            c0, c1 = (g.start_cycle + int(f * g.length) for f in w)
            a, b = g.target_counts(self.target, c0), g.target_counts(self.target, c1)
            spans = [(h, a[h], b[h]) for h in range(len(total))]
        return [(h, a, b) for h, a, b in spans if b > a]

    def sample(self, system, n: int, seed: int) -> list[Fault]:
        """`n` faults drawn from `seed` (numpy's default generator): type uniform over fault_types,
        (hart, at) uniform over the target's instructions in the window, then the type's own fields
        uniform (register x1..x31/pc and bit 0..31; code bit 0..31; memory byte uniform over the
        target's live data at the steady state, bit 0..7)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n={n!r} is invalid: allowed an int >= 0")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r} is invalid: allowed an int >= 0")
        spans = self.at_ranges(system)
        sizes = np.array([b - a for _, a, b in spans], dtype=np.int64)
        if not sizes.sum():
            raise ValueError(f"window={self.window!r} holds no instruction of {self.target!r} in the golden run")
        cum = np.cumsum(sizes)
        mem = self._mem_ranges(system)
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            kind = self.fault_types[int(rng.integers(len(self.fault_types)))]
            k = int(rng.integers(int(cum[-1])))
            i = int(np.searchsorted(cum, k, side="right"))
            hart, at = spans[i][0], spans[i][1] + k - (int(cum[i - 1]) if i else 0)
            if kind == "reg":
                out.append(RegisterFlip(self.target, at, REGISTERS[int(rng.integers(len(REGISTERS)))],
                                        int(rng.integers(32)), hart=hart))
            elif kind == "code":
                out.append(CodeFlip(self.target, at, int(rng.integers(32)), hart=hart))
            elif kind == "failstop":
                out.append(FailStop(self.target, at, hart=hart))
            else:
                mcum = mem[1]
                j = int(rng.integers(int(mcum[-1])))
                r = int(np.searchsorted(mcum, j, side="right"))
                addr = mem[0][r][0] + j - (int(mcum[r - 1]) if r else 0)
                out.append(MemoryFlip(self.target, at, addr, int(rng.integers(8)), hart=hart))
        return out

    def size(self, system) -> int:
        """How many distinct faults `enumerate` yields."""
        insns = sum(b - a for _, a, b in self.at_ranges(system))
        per = {"reg": len(REGISTERS) * 32, "code": 32, "failstop": 1}
        total = 0
        for t in self.fault_types:
            total += insns * (per[t] if t != "mem" else 8 * int(self._mem_ranges(system)[1][-1]))
        return total

    def enumerate(self, system, max_faults: int = MAX_ENUMERATE):
        """Every fault of the space, in order (type, hart, at, then the type's fields). For small windows:
        ValueError when there are more than `max_faults`."""
        n = self.size(system)
        if n > max_faults:
            raise ValueError(f"the space holds {n:,} faults, more than max_faults={max_faults:,}: narrow the window "
                             "(e.g. window=(0, 10) instruction counts) or sample instead")
        spans = self.at_ranges(system)
        mem = self._mem_ranges(system)[0] if "mem" in self.fault_types else ()
        out = []
        for kind in self.fault_types:
            for hart, a, b in spans:
                for at in range(a, b):
                    if kind == "reg":
                        out += [RegisterFlip(self.target, at, r, bit, hart=hart)
                                for r, bit in itertools.product(REGISTERS, range(32))]
                    elif kind == "code":
                        out += [CodeFlip(self.target, at, bit, hart=hart) for bit in range(32)]
                    elif kind == "failstop":
                        out.append(FailStop(self.target, at, hart=hart))
                    else:
                        out += [MemoryFlip(self.target, at, addr, bit, hart=hart)
                                for lo, hi in mem for addr in range(lo, hi) for bit in range(8)]
        return out

    def _mem_ranges(self, system):
        if "mem" not in self.fault_types:
            return (), np.array([1])
        golden_profile(system)           # leaves the machine at the steady state, where the ranges are read
        ranges = live_ranges(system, self.target)
        return ranges, np.cumsum([hi - lo for lo, hi in ranges])
