"""`mrwb`: the command line face of the workbench. Each command is a thin wrapper over a Python call."""
from __future__ import annotations

import argparse
import struct
import sys
import time


def _demo_machine(harts: int):
    from elftools.elf.elffile import ELFFile

    from workbench.hw import Machine
    from workbench.programs import demo_program
    path = demo_program(harts)
    m = Machine(harts=harts)
    m.load_elf(path)
    with open(path, "rb") as f:
        (sym,) = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("nharts")
    m.write(sym["st_value"], struct.pack("<I", harts))
    return m


def cmd_demo(args) -> int:
    """Until the virtualization stack boots, the demo runs a small multi-hart RV32 program."""
    print(f"Building and running the demo program on {args.harts} simulated harts ...", flush=True)
    m = _demo_machine(args.harts)
    t0 = time.perf_counter()
    stop = m.run(max_cycles=10**10)
    wall = time.perf_counter() - t0
    print("--- console ---")
    print(m.console, end="")
    print("---------------")
    print(f"stop: {stop.reason} (code {stop.code}) after {stop.cycles:,} cycles = "
          f"{stop.cycles / 1e8 * 1e3:.1f} ms simulated at 100 MHz")
    print(f"{stop.instructions:,} instructions in {wall:.3f} s wall: {stop.instructions / wall / 1e6:.0f} MIPS")
    return 0 if stop.reason == "poweroff" else 1


def cmd_bench(args) -> int:
    from workbench import bench
    if args.what == "cpu":
        bench.cpu(scale=args.scale, reference=not args.no_reference)
    elif args.what == "snapshot":
        bench.snapshot(ram_mib=args.ram_mib, dirty_percent=args.dirty, repeat=args.repeat)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mrwb", description="Microreboot Workbench")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the demo on its embedded defaults")
    p.add_argument("--harts", type=int, default=2, help="simulated harts (1..8, default 2)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="measure speed: cpu (MIPS vs Unicorn), snapshot (restore time)")
    p.add_argument("what", choices=("cpu", "snapshot"))
    p.add_argument("--scale", type=int, default=1000,
                   help="cpu: program size; 1000 is about 1e9 instructions (default 1000)")
    p.add_argument("--no-reference", action="store_true", help="cpu: skip the Unicorn run")
    p.add_argument("--ram-mib", type=int, default=64, help="snapshot: RAM size in MiB (default 64)")
    p.add_argument("--dirty", type=float, default=1.0, help="snapshot: percent of pages dirtied (default 1)")
    p.add_argument("--repeat", type=int, default=20, help="snapshot: restores to time (default 20)")
    p.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    if getattr(args, "harts", 1) is not None and not 1 <= getattr(args, "harts", 1) <= 8:
        parser.error("--harts must be 1..8")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
