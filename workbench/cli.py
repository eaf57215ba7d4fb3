"""`mrwb`: the command line face of the workbench. Each command is a thin wrapper over a Python call."""
from __future__ import annotations

import argparse
import sys


def _config(args):
    from workbench.system import SystemConfig
    appvms = tuple(a.strip() for a in args.appvms.split(",") if a.strip())
    iterations = None
    if args.iterations:
        try:
            parts = [int(x) for x in args.iterations.split(",")]
        except ValueError:
            raise ValueError(f"--iterations {args.iterations!r}: expected integers separated by commas") from None
        iterations = parts[0] if len(parts) == 1 else tuple(parts)
    io = {k: getattr(args, k) for k in ("disk_region", "peer_interval", "peer_payload")
          if getattr(args, k, None) is not None}
    return SystemConfig(harts=args.harts, appvms=appvms, iterations=iterations, seed=args.seed, **io)


def cmd_boot(args) -> int:
    """Boot the system, run it to the end, print each domain's console and the domain table."""
    import polars as pl

    from workbench.machine import cycles_to_ms
    from workbench.system import System
    system = System(args.config)
    print(f"Booting {len(system.config.appvms)} AppVM(s) on {system.config.harts} simulated hart(s) ...", flush=True)
    boot = system.boot()
    print(f"steady state after {boot.cycles:,} cycles ({cycles_to_ms(boot.cycles):.2f} ms simulated)")
    run = system.run("done", progress=True)
    for who, lines in system.consoles().items():
        print(f"--- console: {who} ---")
        print("\n".join(lines))
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_rows=-1, tbl_cols=-1, tbl_width_chars=160):
        print(system.domain_table())
        if system.dvm is not None:
            print("I/O per AppVM (requests the workload completed; its frontend; its backend in the driver VM, "
                  "since the current connection; the network peer's view):")
            print(system.io_table())
            print(f"driver VM counters: {', '.join(f'{k} {v}' for k, v in system.dvm.stats.items())}")
    if system.config.net_appvms:
        print(f"network peer: {system.peer.report()}")
    print(f"stop: {run.reason} (code {run.code}) at {run.cycles:,} cycles = {cycles_to_ms(run.cycles):.1f} ms simulated; "
          f"{run.instructions:,} instructions, {boot.wall_seconds + run.wall_seconds:.2f} s wall")
    if system.hv.panic is not None:
        print(f"hypervisor panic: {system.hv.panic}")
    lost = system.peer.report().lost if system.config.net_appvms else 0
    return 0 if run.reason == "poweroff" and all(r.status == "ok" for r in system.results()) and not lost else 1


def cmd_qemu(args) -> int:
    """Print (and with --run, run) the QEMU command line for this configuration."""
    import shlex

    import polars as pl

    from workbench.system import System
    system = System(args.config)
    if not args.run:
        import tempfile
        workdir = tempfile.mkdtemp(prefix="mrwb-qemu-")
        print(shlex.join(system.qemu_command(workdir)))
        return 0
    q = system.run_qemu(timeout=args.timeout)
    print(shlex.join(q.command))
    print("--- QEMU console ---")
    print(q.console, end="" if q.console.endswith("\n") else "\n")
    print("--------------------")
    if q.timed_out:
        print(f"QEMU did not power off within {args.timeout} s")
    table = system.compare_with_qemu(q)
    same = bool(table["match"].all())
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_rows=-1, tbl_width_chars=160):
        print(table)
    print("results match" if same else "RESULTS DIFFER")
    if system.config.dvm:
        system.boot()
        system.run("done")
        disk_same = bytes(system.machine.disk) == q.disk
        print(f"disk: {'the same bytes' if disk_same else 'DIFFERENT'} on both ({len(q.disk):,} bytes)")
        same = same and disk_same
    if system.config.net_appvms:
        answered = sum(1 for r in q.peer if r["reply"] is not None and r["ok"])
        want = system.config.net_count * len(system.config.net_appvms)
        print(f"QEMU's network peer: {answered} of {want} requests answered correctly")
        same = same and answered == want == len(q.peer)
    return 0 if same and not q.timed_out else 1


def cmd_demo(args) -> int:
    """Until campaigns exist, the demo boots the default virtualized system."""
    return cmd_boot(args)


def cmd_bench(args) -> int:
    from workbench import bench
    if args.what == "boot":
        bench.boot()
    elif args.what == "io":
        bench.io()
    elif args.what == "cpu":
        bench.cpu(scale=args.scale, reference=not args.no_reference)
    elif args.what == "snapshot":
        bench.snapshot(ram_mib=args.ram_mib, dirty_percent=args.dirty, repeat=args.repeat)
    return 0


def main(argv: list[str] | None = None) -> int:
    from workbench.stack.abi import DEFAULT_APPVMS     # not workbench.system: --help without the core
    parser = argparse.ArgumentParser(prog="mrwb", description="Microreboot Workbench")
    sub = parser.add_subparsers(dest="command", required=True)

    def system_options(p):
        p.add_argument("--harts", type=int, default=2, help="simulated harts (1..8, default 2)")
        default_appvms = ",".join(a[0] for a in DEFAULT_APPVMS)
        p.add_argument("--appvms", default=default_appvms,
                       help=f"workload per AppVM, comma separated (default {default_appvms})")
        p.add_argument("--iterations", default="",
                       help="iterations: one number for all AppVMs or one per AppVM (default: per workload; "
                            "for net, the requests the network peer sends)")
        p.add_argument("--seed", type=int, default=1, help="system seed (default 1)")
        p.add_argument("--disk-region", type=int, default=None, help="bytes of disk per AppVM (default 1 MiB)")
        p.add_argument("--peer-interval", type=int, default=None,
                       help="cycles between two requests of the network peer (default 100000 = 1 ms)")
        p.add_argument("--peer-payload", type=int, default=None, help="bytes per network request (default 64)")

    p = sub.add_parser("boot", help="boot the virtualized system, run it, print consoles and domains")
    system_options(p)
    p.set_defaults(func=cmd_boot)

    p = sub.add_parser("demo", help="boot the default virtualized system (same as boot)")
    system_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("qemu", help="print (or --run) the QEMU command line for a configuration")
    system_options(p)
    p.add_argument("--run", action="store_true", help="run it and compare results with the machine model")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before QEMU is stopped (default 60)")
    p.set_defaults(func=cmd_qemu)

    p = sub.add_parser("bench", help="measure speed: boot (default system), io (block requests and network "
                                     "round trips per second), cpu (MIPS vs Unicorn), snapshot (restore time)")
    p.add_argument("what", choices=("boot", "io", "cpu", "snapshot"))
    p.add_argument("--scale", type=int, default=1000,
                   help="cpu: program size; 1000 is about 1e9 instructions (default 1000)")
    p.add_argument("--no-reference", action="store_true", help="cpu: skip the Unicorn run")
    p.add_argument("--ram-mib", type=int, default=64, help="snapshot: RAM size in MiB (default 64)")
    p.add_argument("--dirty", type=float, default=1.0, help="snapshot: percent of pages dirtied (default 1)")
    p.add_argument("--repeat", type=int, default=20, help="snapshot: restores to time (default 20)")
    p.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    if hasattr(args, "appvms"):
        try:
            args.config = _config(args)
        except (ValueError, NotImplementedError) as e:
            parser.error(str(e))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
