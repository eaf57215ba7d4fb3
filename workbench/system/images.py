"""The stack images, built once per content of `workbench/stack/` and cached (`$MRWB_CACHE`, else
`~/.cache/mrwb`), so parallel processes share them."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from workbench.stack import abi, build

def _stack_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(abi.STACK_DIR.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".c", ".h", ".S", ".ld", ".in", ".py"):
            h.update(str(p.relative_to(abi.STACK_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    from workbench import toolchain
    h.update(Path(toolchain.__file__).read_bytes())
    try:
        from importlib.metadata import version
        h.update(version("ziglang").encode())
    except Exception:
        pass
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("MRWB_CACHE") or Path.home() / ".cache" / "mrwb")


def stack_images(cache: str | os.PathLike | None = None) -> dict[str, Path]:
    """Build (or reuse) the stack images for the current sources; returns name -> ELF path."""
    root = Path(cache) if cache else cache_dir()
    final = root / f"stack-{_stack_digest()}"
    if not (final / "hv.elf").is_file():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            build.build_images(tmp, listings=True)
            try:
                os.replace(tmp, final)       # atomic: a parallel builder either wins or finds it there
            except OSError:
                if not (final / "hv.elf").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    names = ["hv", "privvm", "dvm"] + [f"appvm_s{s}" for s in range(abi.P["SLOT_APPVM0"], abi.P["MAX_SLOTS"])]
    images = {n: final / f"{n}.elf" for n in names}
    images["appvm"] = images[f"appvm_s{abi.P['SLOT_APPVM0']}"]
    return images
