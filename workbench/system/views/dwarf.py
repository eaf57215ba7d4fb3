"""Typed views of live simulated memory, from an image's DWARF information (pyelftools).

`DwarfTypes(elf)` indexes an ELF's global variables (address and type) and named types (structs,
unions, enums, typedefs, base types); `View` reads a value of such a type from a Machine by field
name: `view.field`, `view["field"]`, `view.arr[3]`, nested structs, pointers (`view.ptr("next")`).
No offset is copied by hand: if the C changes, the views follow the next build.
"""
from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

DW_OP_ADDR = 0x03
DW_OP_PLUS_UCONST = 0x23


# ---- the type model (what Views need from DWARF, nothing more) ----

@dataclass(repr=False)
class CType:
    name: str
    size: int

    def __repr__(self):
        return f"<{type(self).__name__} {self.name} ({self.size} bytes)>"


@dataclass(repr=False)
class BaseType(CType):
    signed: bool = False


@dataclass(repr=False)
class EnumType(CType):
    values: dict[int, str] = field(default_factory=dict)   # value -> enumerator name


@dataclass(repr=False)
class PointerType(CType):
    target: CType | None = None                             # None: void *, function pointers


@dataclass(repr=False)
class ArrayType(CType):
    element: CType | None = None
    count: int = 0


@dataclass(repr=False)
class StructType(CType):
    fields: dict[str, tuple[int, CType]] = field(default_factory=dict)   # name -> (offset, type)
    is_union: bool = False


@dataclass(frozen=True)
class Variable:
    name: str
    addr: int
    type: CType


def _static_address(expr: list[int]) -> int | None:
    """Evaluate a global's location: DW_OP_addr A, optionally followed by DW_OP_plus_uconst N (what
    the compiler emits when it merges globals into one block).  None for anything else."""
    if len(expr) < 5 or expr[0] != DW_OP_ADDR:
        return None
    addr, i = int.from_bytes(bytes(expr[1:5]), "little"), 5
    while i < len(expr):
        if expr[i] != DW_OP_PLUS_UCONST:
            return None
        i, n, shift = i + 1, 0, 0
        while True:
            b = expr[i]
            n |= (b & 0x7F) << shift
            i, shift = i + 1, shift + 7
            if not b & 0x80:
                break
        addr += n
    return addr


def _name(die) -> str | None:
    a = die.attributes.get("DW_AT_name")
    return a.value.decode(errors="replace") if a else None


class DwarfTypes:
    """Globals and named types of one ELF image.  Use `DwarfTypes.of(path)` to share one per file."""

    def __init__(self, elf_path: str | os.PathLike):
        from elftools.elf.elffile import ELFFile
        self.path = Path(elf_path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no ELF file at {self.path}")
        self._types: dict[int, CType] = {}
        self.variables: dict[str, Variable] = {}
        # Every file-scope variable by (source file name, name): statics of the same name in
        # different files (say `fe` in blkfront.c and netfront.c) are told apart here.
        self.file_variables: dict[tuple[str, str], Variable] = {}
        self._named: dict[str, Any] = {}        # type name -> DIE (complete definitions first)
        with open(self.path, "rb") as f:
            elf = ELFFile(f)
            if not elf.has_dwarf_info():
                raise ValueError(f"{self.path} has no DWARF information (built without -g?)")
            dwarf = elf.get_dwarf_info()
            var_dies = []
            for cu in dwarf.iter_CUs():
                top = cu.get_top_DIE()
                cu_file = os.path.basename(_name(top) or "")
                for die in top.iter_children():
                    name = _name(die)
                    if not name:
                        continue
                    if die.tag == "DW_TAG_variable":
                        var_dies.append((name, die, cu_file))
                    elif die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type",
                                     "DW_TAG_typedef", "DW_TAG_base_type"):
                        complete = "DW_AT_declaration" not in die.attributes
                        if complete and (name not in self._named or "DW_AT_declaration" in self._named[name].attributes):
                            self._named[name] = die
            for name, die, cu_file in var_dies:
                loc = die.attributes.get("DW_AT_location")
                addr = _static_address(loc.value) if loc is not None and loc.form == "DW_FORM_exprloc" else None
                if addr is not None:
                    var = Variable(name, addr, self._convert(die.get_DIE_from_attribute("DW_AT_type")))
                    self.variables.setdefault(name, var)
                    self.file_variables.setdefault((cu_file, name), var)
            # Symbols without DWARF (assembly) still have addresses.
            from elftools.elf.sections import SymbolTableSection
            self.symbols: dict[str, int] = {}
            for sec in elf.iter_sections():
                if isinstance(sec, SymbolTableSection):
                    for s in sec.iter_symbols():
                        if s.name and s["st_info"]["type"] in ("STT_OBJECT", "STT_FUNC", "STT_NOTYPE"):
                            self.symbols.setdefault(s.name, s["st_value"])
            self._named = {n: self._convert(d) for n, d in self._named.items()}

    @classmethod
    def of(cls, elf_path: str | os.PathLike) -> "DwarfTypes":
        """One shared DwarfTypes per image file (kept in the process, and pickled beside the image so
        the next process skips the DWARF parse)."""
        p = Path(elf_path).resolve()
        return _cached_types(str(p), p.stat().st_mtime_ns)

    # -- DIE -> CType --

    def _convert(self, die) -> CType:
        if die is None:
            return BaseType("void", 0)
        key = die.offset
        if key in self._types:
            return self._types[key]
        tag, name, attrs = die.tag, _name(die), die.attributes
        size = attrs["DW_AT_byte_size"].value if "DW_AT_byte_size" in attrs else 0

        def inner():
            return die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in attrs else None

        if tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
                   "DW_TAG_atomic_type"):
            t = self._convert(inner())
        elif tag == "DW_TAG_base_type":
            enc = attrs["DW_AT_encoding"].value if "DW_AT_encoding" in attrs else 0
            t = BaseType(name or "?", size, signed=enc in (0x05, 0x06, 0x0D))   # signed, signed_char, signed_fixed
        elif tag == "DW_TAG_enumeration_type":
            t = EnumType(name or "enum", size or 4)
            self._types[key] = t
            for c in die.iter_children():
                if c.tag == "DW_TAG_enumerator":
                    t.values[c.attributes["DW_AT_const_value"].value] = _name(c)
        elif tag == "DW_TAG_pointer_type":
            t = PointerType("*", size or 4)
            self._types[key] = t               # before the target: structs point to themselves
            target = inner()
            t.target = None if target is None or target.tag == "DW_TAG_subroutine_type" else self._convert(target)
            t.name = f"{t.target.name if t.target else 'void'} *"
        elif tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            t = StructType(name or "<anonymous>", size, is_union=tag == "DW_TAG_union_type")
            self._types[key] = t
            for c in die.iter_children():
                if c.tag != "DW_TAG_member":
                    continue
                loc = c.attributes.get("DW_AT_data_member_location")
                off = loc.value if loc is not None and isinstance(loc.value, int) else 0
                t.fields[_name(c) or f"_{len(t.fields)}"] = (off, self._convert(c.get_DIE_from_attribute("DW_AT_type")))
        elif tag == "DW_TAG_array_type":
            elem = self._convert(inner())
            dims = []
            for c in die.iter_children():
                if c.tag == "DW_TAG_subrange_type":
                    if "DW_AT_count" in c.attributes:
                        dims.append(c.attributes["DW_AT_count"].value)
                    elif "DW_AT_upper_bound" in c.attributes:
                        dims.append(c.attributes["DW_AT_upper_bound"].value + 1)
                    else:
                        dims.append(0)
            t = elem
            for n in reversed(dims or [0]):
                t = ArrayType(f"{elem.name}[{n}]", n * t.size, element=t, count=n)
        elif tag == "DW_TAG_subroutine_type":
            t = BaseType("function", 0)
        else:
            t = BaseType(name or tag, size)
        self._types[key] = t
        return t

    # -- lookups --

    def type(self, name: str) -> CType:
        """A named type: "domain" or "struct domain", "u32", "enum dom_state"."""
        key = name.split(" ", 1)[1] if name.split(" ", 1)[0] in ("struct", "union", "enum") else name
        try:
            return self._named[key]
        except KeyError:
            raise KeyError(f"{self.path.name} has no type {name!r} in its DWARF") from None

    def enum(self, name: str) -> dict[int, str]:
        t = self.type(name)
        if not isinstance(t, EnumType):
            raise TypeError(f"{name!r} is not an enum in {self.path.name}")
        return dict(t.values)

    def variable(self, name: str, file: str | None = None) -> Variable:
        """A file-scope variable; `file` (a source file name, "blkfront.c") picks the one defined
        there when several files have a static of that name."""
        try:
            return self.variables[name] if file is None else self.file_variables[(file, name)]
        except KeyError:
            where = "" if file is None else f" in {file}"
            raise KeyError(f"{self.path.name} has no global variable {name!r}{where} in its DWARF") from None

    def address(self, name: str) -> int:
        """Address of a global variable (DWARF) or any symbol (symbol table)."""
        if name in self.variables:
            return self.variables[name].addr
        if name in self.symbols:
            return self.symbols[name]
        raise KeyError(f"{self.path.name} has no symbol {name!r}")

    def offset(self, struct_name: str, field_path: str) -> int:
        """Byte offset of "a.b.c" inside struct `struct_name` (for tests and probes)."""
        t, off = self.type(struct_name), 0
        for part in field_path.split("."):
            if not isinstance(t, StructType) or part not in t.fields:
                raise KeyError(f"{t.name} has no field {part!r}")
            o, t = t.fields[part]
            off += o
        return off

    def view(self, machine, name: str, file: str | None = None):
        """Global variable `name` (of source file `file`, if given) in `machine`'s memory: a View
        (struct), an ArrayView (array) or, for a scalar, its current value."""
        v = self.variable(name, file)
        return _value(machine.read, v.addr, v.type, name)

    def view_at(self, machine, addr: int, type_name: str | CType, label: str | None = None) -> "View":
        t = self.type(type_name) if isinstance(type_name, str) else type_name
        return View(machine.read, addr, t, label or f"({t.name} *){addr:#x}")


PICKLE_VERSION = 2       # 2: file_variables


@functools.lru_cache(maxsize=32)
def _cached_types(path: str, mtime_ns: int) -> DwarfTypes:
    import pickle
    import tempfile
    cache = Path(path + ".types.pickle")
    try:
        with open(cache, "rb") as f:
            version, stamp, types = pickle.load(f)
        if version == PICKLE_VERSION and stamp == mtime_ns:
            return types
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        pass
    types = DwarfTypes(path)
    try:      # best effort: a read-only image directory just means parsing again next time
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".types-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump((PICKLE_VERSION, mtime_ns, types), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return types


_INT_FORMATS = {(1, False): "<B", (1, True): "<b", (2, False): "<H", (2, True): "<h",
                (4, False): "<I", (4, True): "<i", (8, False): "<Q", (8, True): "<q"}


class View:
    """A value of a C type at an address in simulated memory, read live on every access.

    Its own address, type and name are `addressof(view)`, `typeof(view)`, `labelof(view)` (not
    attributes, so that struct fields called `addr` or `type` stay reachable as `view.addr`).

    Scalars (base types, enums, pointers) come back as ints; structs as Views, arrays as ArrayViews.
    `ptr("field")` follows a pointer (None for NULL); `string("field")` reads a char array or a
    `char *`; `to_dict()` copies the whole value out.
    """

    __slots__ = ("_read", "_addr", "_type", "_label")

    def __init__(self, read: Callable[[int, int], bytes], addr: int, ctype: CType, label: str = ""):
        self._read, self._addr, self._type, self._label = read, addr, ctype, label

    # -- fields --

    def _field(self, name: str) -> tuple[int, CType]:
        if not isinstance(self._type, StructType):
            raise TypeError(f"{self._label} is a {self._type.name}, not a struct")
        try:
            off, t = self._type.fields[name]
        except KeyError:
            raise AttributeError(f"struct {self._type.name} has no field {name!r}; "
                                 f"fields: {', '.join(self._type.fields)}") from None
        return self._addr + off, t

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        addr, t = self._field(name)
        return _value(self._read, addr, t, f"{self._label}.{name}")

    def __getitem__(self, name: str):
        return self.__getattr__(name)

    def fields(self) -> list[str]:
        return list(self._type.fields) if isinstance(self._type, StructType) else []

    def ptr(self, name: str, type_name: CType | None = None) -> "View | None":
        """Follow pointer field `name`: a View of its target, or None when it is NULL."""
        addr, t = self._field(name)
        if not isinstance(t, PointerType):
            raise TypeError(f"{self._label}.{name} is a {t.name}, not a pointer")
        target = struct.unpack("<I", self._read(addr, 4))[0]
        if target == 0:
            return None
        return View(self._read, target, type_name or t.target, f"*{self._label}.{name}")

    def string(self, name: str, limit: int = 256) -> str:
        """A char array field, or the C string a `char *` field points to; a pointer to no memory
        reads as `<bad pointer 0x...>` (as gdb prints it: simulated state may be corrupt, and saying
        so is the answer, not an error)."""
        addr, t = self._field(name)
        if isinstance(t, PointerType):
            addr = struct.unpack("<I", self._read(addr, 4))[0]
            if addr == 0:
                return ""
            try:
                return read_cstring(self._read, addr, limit)
            except ValueError:
                return f"<bad pointer {addr:#010x}>"
        raw = self._read(addr, t.size)
        return raw.split(b"\0", 1)[0].decode(errors="replace")

    def value(self):
        """This view's own value (for scalar views)."""
        return _value(self._read, self._addr, self._type, self._label)

    def to_dict(self) -> Any:
        return _plain(_value(self._read, self._addr, self._type, self._label))

    def __repr__(self):
        return f"<View {self._label} struct {self._type.name} at {self._addr:#010x}>"


class ArrayView:
    """An array in simulated memory: `len`, indexing (negative too), iteration, `to_list()`."""

    __slots__ = ("_read", "_addr", "_type", "_label")

    def __init__(self, read, addr: int, ctype: ArrayType, label: str = ""):
        self._read, self._addr, self._type, self._label = read, addr, ctype, label

    def __len__(self):
        return self._type.count

    def __getitem__(self, i: int):
        n = self._type.count
        if not isinstance(i, int):
            raise TypeError(f"array index must be an int, got {type(i).__name__}")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{self._label}[{i}] out of range 0..{n - 1}")
        el = self._type.element
        return _value(self._read, self._addr + i * el.size, el, f"{self._label}[{i}]")

    def __iter__(self) -> Iterator:
        return (self[i] for i in range(len(self)))

    def to_list(self) -> list:
        el = self._type.element
        if isinstance(el, (BaseType, EnumType, PointerType)) and el.size in (1, 2, 4, 8):
            fmt = _INT_FORMATS[(el.size, getattr(el, "signed", False))]
            raw = self._read(self._addr, el.size * self._type.count)
            return [v[0] for v in struct.iter_unpack(fmt, raw)]
        return [_plain(x) for x in self]

    def __repr__(self):
        return f"<ArrayView {self._label} {self._type.name} at {self._addr:#010x}>"


def read_cstring(read, addr: int, limit: int = 256) -> str:
    """The C string at `addr` (at most `limit` bytes); ValueError if `addr` is in no memory, cut
    where the memory ends."""
    out = b""
    while len(out) < limit:
        try:
            chunk = read(addr + len(out), 16)
        except ValueError:             # near the end of memory: byte by byte, up to it
            chunk = b""
            try:
                while b"\0" not in chunk and len(out) + len(chunk) < limit:
                    chunk += read(addr + len(out) + len(chunk), 1)
            except ValueError:
                if not out and not chunk:
                    raise
            if b"\0" not in chunk:
                out += chunk
                break
        if b"\0" in chunk:
            out += chunk.split(b"\0", 1)[0]
            break
        out += chunk
    return out[:limit].decode(errors="replace")


def _value(read, addr: int, t: CType, label: str):
    if isinstance(t, StructType):
        return View(read, addr, t, label)
    if isinstance(t, ArrayType):
        return ArrayView(read, addr, t, label)
    if t.size in (1, 2, 4, 8):
        return struct.unpack(_INT_FORMATS[(t.size, getattr(t, "signed", False))], read(addr, t.size))[0]
    raise TypeError(f"{label}: cannot read a {t.name} of {t.size} bytes")


def _plain(v):
    if isinstance(v, View):
        return {k: _plain(getattr(v, k)) for k in v.fields()}
    if isinstance(v, ArrayView):
        return v.to_list()
    return v


def find_instances(view: View | ArrayView, type_name: str, path: str) -> Iterator[tuple[str, View]]:
    """Every value of struct `type_name` inside `view` (through nested structs and arrays, not
    pointers), with its path: how the hypervisor's spinlocks are found."""
    t = view._type
    if isinstance(t, StructType):
        if t.name == type_name:
            yield path, view
            return
        for name, (_, ft) in t.fields.items():
            if isinstance(ft, (StructType, ArrayType)) and _contains(ft, type_name):
                yield from find_instances(getattr(view, name), type_name, f"{path}.{name}")
    elif isinstance(t, ArrayType) and _contains(t, type_name):
        for i, x in enumerate(view):
            yield from find_instances(x, type_name, f"{path}[{i}]")


_CONTAINS: dict[tuple[int, str], tuple[CType, bool]] = {}


def _contains(t: CType, type_name: str) -> bool:
    """Does type t hold a `type_name` struct by value (memoised; the type is kept alive with it)?"""
    key = (id(t), type_name)
    hit = _CONTAINS.get(key)
    if hit is not None and hit[0] is t:
        return hit[1]
    if isinstance(t, StructType):
        found = t.name == type_name or any(isinstance(ft, (StructType, ArrayType)) and _contains(ft, type_name)
                                           for _, ft in t.fields.values())
    elif isinstance(t, ArrayType):
        found = _contains(t.element, type_name)
    else:
        found = False
    _CONTAINS[key] = (t, found)
    return found


def addressof(v: View | ArrayView) -> int:
    return v._addr


def typeof(v: View | ArrayView) -> CType:
    return v._type


def labelof(v: View | ArrayView) -> str:
    return v._label


class ImageMemory:
    """An ELF image's memory as loaded, before it runs (its loadable segments; `.bss` reads as
    zeros, and so do the bytes past a segment's end, which C-string reads in chunks may touch), with
    `Machine.read`'s signature: `DwarfTypes.view(ImageMemory(elf), name)` reads the
    image's constant tables (the workload and recovery lists) with no machine at all."""

    def __init__(self, elf_path: str | os.PathLike):
        from elftools.elf.elffile import ELFFile
        self._segments: list[tuple[int, bytes]] = []
        with open(elf_path, "rb") as f:
            for seg in ELFFile(f).iter_segments():
                if seg["p_type"] == "PT_LOAD":
                    data = seg.data()
                    self._segments.append((seg["p_paddr"], data + bytes(seg["p_memsz"] - len(data))))

    def read(self, addr: int, size: int) -> bytes:
        for base, data in self._segments:
            if base <= addr < base + len(data):
                return data[addr - base:addr - base + size].ljust(size, b"\0")
        raise ValueError(f"read({addr:#x}, {size}): not inside a loadable segment of the image")
