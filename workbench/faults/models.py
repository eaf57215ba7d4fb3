"""Fault models (Gigan's, plus memory flips), as frozen values that validate their own fields.

`at` counts the instructions executed *in the target* on `hart` after the steady-state snapshot: the
hypervisor's are those in machine mode; a domain's those in user mode with the pc in its slot. The
fault lands just before instruction number `at` of the target runs. `hart` is chosen by the sampler
(`FaultSpace`); hand-made faults default to hart 0.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from workbench.machine import MAX_HARTS, RAM_BASE
from workbench.machine.machine import ABI_NAMES, register_number

FAULT_TYPES = ("reg", "code", "failstop", "mem")
TARGET_FORMS = ('"hv"', '"privvm"', '"dvm"', '"appvm:<i>"')
REGISTERS = ABI_NAMES[1:] + ("pc",)         # what a register flip may hit: x1..x31 and pc (Gigan)
ROW_KEYS = ("target", "fault_type", "hart", "at", "reg", "bit", "addr")
_TARGET_RE = re.compile(r"^(hv|privvm|dvm|appvm:(\d+))$")


def _bad(cls, name, value, allowed):
    raise ValueError(f"{cls}.{name}={value!r} is invalid: allowed {allowed}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_target(target) -> tuple[str, int | None]:
    """("hv"|"privvm"|"dvm"|"appvm", AppVM index or None); ValueError naming the field otherwise."""
    m = _TARGET_RE.match(target) if isinstance(target, str) else None
    if m is None:
        raise ValueError(f"target={target!r} is invalid: allowed {', '.join(TARGET_FORMS)}")
    return ("appvm", int(m[2])) if m[2] is not None else (m[1], None)


@dataclass(frozen=True)
class Fault:
    """Common fields; use the subclasses."""
    target: str
    at: int
    kind = ""                     # class attribute: "reg", "code", "failstop", "mem"

    def _check_common(self):
        cls = type(self).__name__
        try:
            parse_target(self.target)
        except ValueError as e:
            raise ValueError(f"{cls}.{e}") from None
        if not _is_int(self.at) or self.at < 0:
            _bad(cls, "at", self.at, "an instruction count >= 0 (counted in the target after the steady snapshot)")
        if not _is_int(self.hart) or not 0 <= self.hart < MAX_HARTS:
            _bad(cls, "hart", self.hart, f"0..{MAX_HARTS - 1}")

    def row(self) -> dict:
        """Flat dict with ROW_KEYS (None where a field does not apply)."""
        d = asdict(self)
        return {"target": self.target, "fault_type": self.kind, "hart": self.hart, "at": self.at,
                "reg": d.get("reg"), "bit": d.get("bit"), "addr": d.get("addr")}

    def __str__(self):
        extra = " ".join(f"{k}={v:#x}" if k == "addr" and v is not None else f"{k}={v}"
                         for k, v in self.row().items() if k not in ("target", "fault_type") and v is not None)
        return f"{self.kind} fault in {self.target}: {extra}"


@dataclass(frozen=True)
class RegisterFlip(Fault):
    """Flip `bit` of `reg` (x1..x31 by number or ABI name, or "pc") of the hart running the target."""
    reg: str
    bit: int
    hart: int = 0
    kind = "reg"

    def __post_init__(self):
        self._check_common()
        reg = self.reg
        if isinstance(reg, str) and reg.strip().lower() == "pc":
            name = "pc"
        else:
            try:
                n = register_number(reg)
            except ValueError:
                n = 0
            if n == 0:
                _bad("RegisterFlip", "reg", reg, "x1..x31 (a number or ABI name like 'a0') or 'pc'")
            name = ABI_NAMES[n]
        object.__setattr__(self, "reg", name)
        if not _is_int(self.bit) or not 0 <= self.bit < 32:
            _bad("RegisterFlip", "bit", self.bit, "0..31")


@dataclass(frozen=True)
class CodeFlip(Fault):
    """Flip `bit` of the instruction at the pc where the target reaches `at` (or of the word at `addr`,
    then). Repaired once the failure is detected (Gigan), so it acts like a transient fault."""
    bit: int
    addr: int | None = None
    hart: int = 0
    kind = "code"

    def __post_init__(self):
        self._check_common()
        if not _is_int(self.bit) or not 0 <= self.bit < 32:
            _bad("CodeFlip", "bit", self.bit, "0..31 (a bit of the 32-bit instruction)")
        if self.addr is not None and (not _is_int(self.addr) or self.addr % 4 or self.addr < RAM_BASE
                                      or self.addr >= RAM_BASE + (1 << 30)):
            _bad("CodeFlip", "addr", self.addr, "None (the pc at `at`) or a 4-byte aligned address in RAM")


@dataclass(frozen=True)
class FailStop(Fault):
    """The pc of the hart running the target is set to 0 (Gigan): its thread is abandoned mid-way."""
    hart: int = 0
    kind = "failstop"

    def __post_init__(self):
        self._check_common()


@dataclass(frozen=True)
class MemoryFlip(Fault):
    """Flip `bit` (0..7) of the byte at `addr` when the target reaches `at` (the sampler draws `addr`
    from the target's live data: see `faults.space.live_ranges`)."""
    addr: int
    bit: int
    hart: int = 0
    kind = "mem"

    def __post_init__(self):
        self._check_common()
        if not _is_int(self.addr) or not RAM_BASE <= self.addr < RAM_BASE + (1 << 30):
            _bad("MemoryFlip", "addr", self.addr, "an address in RAM")
        if not _is_int(self.bit) or not 0 <= self.bit < 8:
            _bad("MemoryFlip", "bit", self.bit, "0..7 (a bit of one byte)")


FAULT_CLASSES = {"reg": RegisterFlip, "code": CodeFlip, "failstop": FailStop, "mem": MemoryFlip}


def fault_from_row(row: dict) -> Fault:
    """The fault a `fault.row()` (or a results-table row with those keys) describes."""
    kind = row.get("fault_type")
    if kind not in FAULT_CLASSES:
        raise ValueError(f"fault_type={kind!r} is invalid: allowed {', '.join(map(repr, FAULT_TYPES))}")
    cls = FAULT_CLASSES[kind]
    names = {f.name for f in fields(cls)}
    kw = {k: row[k] for k in ROW_KEYS if k in names and k in row and row[k] is not None}
    for k in ("at", "bit", "addr", "hart"):       # numpy / polars integers -> int
        if k in kw and not isinstance(kw[k], str):
            try:
                kw[k] = int(kw[k]) if int(kw[k]) == kw[k] else kw[k]
            except (TypeError, ValueError):
                pass
    return cls(**kw)
