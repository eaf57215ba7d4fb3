"""RV32 cross toolchain driver.

The stack and the test programs are freestanding RV32IMA code. We compile them with the C compiler that
ships inside the `ziglang` wheel (clang + lld), so no system cross compiler is needed: `pip install`
brings everything. This module is the one place that knows the flags.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

TARGET = ["--target=riscv32-freestanding-none", "-mcpu=generic_rv32+m+a", "-mabi=ilp32"]
CFLAGS = ["-ffreestanding", "-fno-builtin", "-fno-pic", "-mno-relax", "-mcmodel=medany",
          "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-Wall", "-Werror"]
LINK_FLAGS = ["-nostdlib", "-static"]

RAM_BASE = 0x8000_0000

# A default linker script: everything from RAM_BASE (or `base`), `_start` first, a stack above bss.
_DEFAULT_LDS = """\
OUTPUT_ARCH(riscv)
ENTRY(_start)
SECTIONS {{
  . = {base:#x};
  .text : {{ KEEP(*(.text.start)) *(.text .text.*) }}
  .rodata : ALIGN(16) {{ *(.srodata .srodata.* .rodata .rodata.*) }}
  .data : ALIGN(16) {{ *(.sdata .sdata.* .data .data.*) }}
  .bss : ALIGN(16) {{ __bss_start = .; *(.sbss .sbss.* .bss .bss.* COMMON) __bss_end = .; }}
  . = ALIGN(16);
  . += {stack:#x};
  __stack_top = .;
  _end = .;
  /DISCARD/ : {{ *(.comment) *(.riscv.attributes) }}
}}
"""


class CompileError(RuntimeError):
    """A compile, assemble or link step failed; the message carries the tool's own output."""


def default_linker_script(base: int = RAM_BASE, stack: int = 0x4000) -> str:
    """Text of a linker script that places an image at `base` with a `stack`-byte stack after bss."""
    return _DEFAULT_LDS.format(base=base, stack=stack)


def _cc() -> list[str]:
    return [sys.executable, "-m", "ziglang", "cc"]


def _run(cmd: Sequence[str], what: str) -> None:
    # zig keeps a cache; point it inside the temp dir when HOME is read-only (CI as another user).
    env = dict(os.environ)
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", str(Path(tempfile.gettempdir()) / "mrwb-zig-cache"))
    proc = subprocess.run(list(cmd), capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        raise CompileError(f"{what} failed (exit {proc.returncode}):\n{msg}")


def compile_object(src: str | os.PathLike, out: str | os.PathLike, *, includes: Iterable[str | os.PathLike] = (),
                   defines: dict[str, object] | None = None, opt: str = "-O2", debug: bool = True,
                   extra: Sequence[str] = ()) -> Path:
    """Compile one C (.c) or assembly (.S/.s) file into an RV32 object file."""
    src, out = Path(src), Path(out)
    if not src.is_file():
        raise CompileError(f"source file not found: {src}")
    cmd = _cc() + TARGET + CFLAGS + [opt, "-c", str(src), "-o", str(out)]
    if debug:
        cmd.append("-g")
    cmd += [f"-I{p}" for p in includes]
    cmd += [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in (defines or {}).items()]
    cmd += list(extra)
    _run(cmd, f"compiling {src}")
    return out


def link(objects: Sequence[str | os.PathLike], out: str | os.PathLike, *, script: str | os.PathLike | None = None,
         base: int = RAM_BASE, extra: Sequence[str] = ()) -> Path:
    """Link objects into a static RV32 ELF with our own linker script (a file, or the default at `base`)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="mrwb-ld-") as tmp:
        if script is None:
            script = Path(tmp) / "image.ld"
            Path(script).write_text(default_linker_script(base))
        cmd = _cc() + TARGET + LINK_FLAGS + ["-T", str(script), "-o", str(out)]
        cmd += [str(o) for o in objects] + list(extra)
        _run(cmd, f"linking {out.name}")
    return out


def build(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *, script: str | os.PathLike | None = None,
          base: int = RAM_BASE, includes: Iterable[str | os.PathLike] = (), defines: dict[str, object] | None = None,
          opt: str = "-O2", debug: bool = True) -> Path:
    """Compile every source and link them into one ELF image at `out`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    includes = list(includes)
    with tempfile.TemporaryDirectory(prefix="mrwb-cc-") as tmp:
        objs = []
        for i, src in enumerate(sources):
            obj = Path(tmp) / f"{i}_{Path(src).stem}.o"
            compile_object(src, obj, includes=includes, defines=defines, opt=opt, debug=debug)
            objs.append(obj)
        return link(objs, out, script=script, base=base)


def build_asm(text: str, out: str | os.PathLike | None = None, *, base: int = RAM_BASE) -> Path:
    """Assemble and link a snippet of RV32 assembly (tests and benchmarks use this).

    The snippet must define `_start` (in section .text.start to be placed first). Results are cached by
    content hash in the temp directory, since test suites assemble thousands of small programs.
    """
    key = hashlib.sha256(f"{base}\n{text}".encode()).hexdigest()[:20]
    cache = Path(tempfile.gettempdir()) / "mrwb-asm-cache"
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"{key}.elf"
    if not cached.exists():
        with tempfile.TemporaryDirectory(prefix="mrwb-as-") as tmp:
            src = Path(tmp) / "prog.S"
            src.write_text(text)
            tmp_elf = Path(tmp) / "prog.elf"
            build([src], tmp_elf, base=base)
            os.replace(tmp_elf, cached)  # atomic: parallel test workers may race on the same key
    if out is None:
        return cached
    Path(out).write_bytes(cached.read_bytes())
    return Path(out)
