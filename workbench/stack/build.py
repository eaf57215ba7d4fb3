"""Build of the simulated virtualization stack (C for RV32): compile and link only.

`build_images(outdir)` compiles the hypervisor, the PrivVM, the driver VM and the AppVM kernel with
the ziglang toolchain (`workbench.toolchain`).  Guests run at physical addresses (no MMU, PMP only),
so the AppVM kernel is linked once per AppVM slot: `appvm_s2.elf` .. `appvm_s7.elf` (`appvm.elf` is
the slot-2 one); the driver VM (`dvm.elf`) is linked for slot 1.
Listings (`.sym`, and `.asm` when llvm-objdump exists) are written next to each image.
The ABI facts (RAM layout, hypercall numbers, boot-info block) are in `abi.py`.
"""
from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from workbench import toolchain
from workbench.stack import abi
from workbench.stack.abi import INCLUDE, P, STACK_DIR

LIB = STACK_DIR / "lib"

# Flat, explicit object lists per component (xv6 style).
LIB_SRCS = ["lib/string.c", "lib/printf.c"]
GUEST_SRCS = ["lib/guest_start.S", "lib/guest.c", "lib/store_client.c", "lib/xenbus.c", "lib/workload.c"]
HV_SRCS = ["hv/start.S", "hv/setup.c", "hv/trap.c", "hv/hypercall.c", "hv/console.c", "hv/sched.c",
           "hv/timer.c", "hv/event_channel.c", "hv/grant_table.c", "hv/multicall.c", "hv/domctl.c",
           "hv/domain.c", "hv/heap.c", "hv/pmp.c", "hv/physdev.c", "hv/panic.c", "hv/dump.c",
           "hv/recovery/recovery.c"] + [f"hv/recovery/{name}.c" for name in abi.enhancements()]
PRIVVM_SRCS = ["privvm/main.c", "privvm/toolstack.c", "privvm/store_server.c", "privvm/store_tree.c"]
APPVM_SRCS = ["appvm/main.c", "appvm/wl_compute.c", "appvm/wl_hcall.c", "appvm/wl_faulty.c", "appvm/frontend.c",
              "appvm/blkfront.c", "appvm/netfront.c", "appvm/wl_blk.c", "appvm/wl_net.c"]
DVM_SRCS = ["dvm/main.c", "dvm/virtio.c", "dvm/virtio_blk.c", "dvm/virtio_net.c", "dvm/backend.c", "dvm/blkback.c",
            "dvm/netback.c", "dvm/bridge.c"]
# Pure-logic C compiled for the host and run by the tests (STYLE: Xen's tools/tests).
HOST_TESTS = {"store_tree": ["privvm/store_tree_test.c", "privvm/store_tree.c"] + LIB_SRCS}


# ---- the build ----

def _guest_script(slot: int, outdir: Path) -> Path:
    base = P["SLOTS_BASE"] + slot * P["SLOT_SIZE"]
    text = (LIB / "guest.ld.in").read_text()
    text = text.replace("@BASE@", hex(base + P["SLOT_IMAGE_OFF"])).replace("@LIMIT@", hex(base + P["SLOT_SIZE"]))
    path = outdir / f"guest_s{slot}.ld"
    path.write_text(text)
    return path


def _listings(elf: Path) -> None:
    """`.sym` (always, via pyelftools when available) and `.asm` (when llvm-objdump is installed)."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
        with open(elf, "rb") as f:
            syms = []
            for sec in ELFFile(f).iter_sections():
                if isinstance(sec, SymbolTableSection):
                    syms += [(s["st_value"], s["st_size"], s.name) for s in sec.iter_symbols()
                             if s.name and not s.name.startswith(("$", ".L"))
                             and s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE")]
        elf.with_suffix(".sym").write_text("".join(f"{a:08x} {n:6d} {s}\n" for a, n, s in sorted(set(syms))))
    except ImportError:
        pass
    objdump = shutil.which("llvm-objdump")
    if objdump:
        res = subprocess.run([objdump, "-d", "--mattr=+m,+a", "--no-show-raw-insn", str(elf)], capture_output=True, text=True)
        if res.returncode == 0:
            elf.with_suffix(".asm").write_text(res.stdout)


def build_images(outdir: str | Path, *, listings: bool = True) -> dict[str, Path]:
    """Build hv.elf, privvm.elf, dvm.elf and appvm_s<slot>.elf for every AppVM slot into `outdir`.

    Returns name -> path: "hv", "privvm", "dvm", "appvm_s2".."appvm_s7", and "appvm" (= appvm_s2).
    """
    outdir = Path(outdir)
    objdir = outdir / "obj"
    objdir.mkdir(parents=True, exist_ok=True)
    common_inc = [INCLUDE, LIB]
    jobs = {}  # source -> (object, includes)
    for src in LIB_SRCS + GUEST_SRCS:
        jobs[src] = common_inc
    for src in HV_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "hv"]
    for src in PRIVVM_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "privvm"]
    for src in APPVM_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "appvm"]
    for src in DVM_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "dvm"]

    def compile_one(src: str) -> Path:
        obj = objdir / (src.replace("/", "_").rsplit(".", 1)[0] + ".o")
        return toolchain.compile_object(STACK_DIR / src, obj, includes=jobs[src])

    with ThreadPoolExecutor() as pool:
        objs = dict(zip(jobs, pool.map(compile_one, jobs)))

    def objects(srcs: Sequence[str]) -> list[Path]:
        return [objs[s] for s in srcs]

    images: dict[str, Path] = {}
    links = [("hv", objects(HV_SRCS + LIB_SRCS), STACK_DIR / "hv" / "hv.ld")]
    links.append(("privvm", objects(GUEST_SRCS + PRIVVM_SRCS + LIB_SRCS), _guest_script(P["SLOT_PRIVVM"], objdir)))
    links.append(("dvm", objects(GUEST_SRCS + DVM_SRCS + LIB_SRCS), _guest_script(P["SLOT_DVM"], objdir)))
    for slot in range(P["SLOT_APPVM0"], P["MAX_SLOTS"]):
        links.append((f"appvm_s{slot}", objects(GUEST_SRCS + APPVM_SRCS + LIB_SRCS), _guest_script(slot, objdir)))

    def link_one(item):
        name, objl, script = item
        out = toolchain.link(objl, outdir / f"{name}.elf", script=script)
        if listings:
            _listings(out)
        return name, out

    with ThreadPoolExecutor() as pool:
        images.update(pool.map(link_one, links))
    images["appvm"] = images[f"appvm_s{P['SLOT_APPVM0']}"]
    return images


def build_host_tests(outdir: str | Path) -> dict[str, Path]:
    """Compile each host test program (native target, same warnings) into `outdir`."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, srcs in HOST_TESTS.items():
        exe = outdir / f"host_{name}"
        cmd = toolchain._cc() + ["-O1", "-g", "-Wall", "-Werror", "-fno-builtin", f"-I{INCLUDE}", f"-I{LIB}",
                                 f"-I{STACK_DIR / 'privvm'}", "-o", str(exe)] + [str(STACK_DIR / s) for s in srcs]
        toolchain._run(cmd, f"building host test {name}")
        out[name] = exe
    return out


if __name__ == "__main__":
    import sys
    for name, path in build_images(sys.argv[1] if len(sys.argv) > 1 else "build/stack").items():
        print(f"{name:10s} {path}")
