"""`mrwb`: the command line face of the workbench. Each command is a thin wrapper over a Python call."""
from __future__ import annotations

import argparse
import sys


def _config(args):
    from workbench.system import SystemConfig
    from workbench.system.config import ALL_ENHANCEMENTS
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
    seed = args.system_seed if hasattr(args, "system_seed") else args.seed
    recovery = getattr(args, "recovery", None)
    if recovery is not None:
        io["recovery"] = recovery
    enh = getattr(args, "enhancements", None)
    if enh is not None:                  # "all", "none" or names separated by commas
        io["enhancements"] = (ALL_ENHANCEMENTS if enh == "all" else
                              () if enh == "none" else tuple(e.strip() for e in enh.split(",") if e.strip()))
    return SystemConfig(harts=args.harts, appvms=appvms, iterations=iterations, seed=seed, **io)


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


def _client(args):
    if not getattr(args, "scheduler", None):
        return "processes"
    from distributed import Client
    return Client(args.scheduler)


def _print_results(results) -> None:
    print(results.summary())
    if results.path is not None:
        print(f"results: {results.path} ({'complete' if results.complete else 'incomplete: resume with mrwb resume'})")


def cmd_campaign(args) -> int:
    """Sample a fault list, run it (local processes or a Dask scheduler), save and summarise it."""
    from workbench.campaign import PAPERS_SIZES, Campaign
    n = dict(PAPERS_SIZES) if args.papers else args.n
    campaign = Campaign(args.config, args.target, args.faults, n=n, seed=args.seed, window=args.window,
                        wall_budget_s=args.wall_budget, instruction_budget=args.instruction_budget)
    print(f"{campaign}: sampling {campaign.n} faults ...", flush=True)
    executor = _client(args)
    try:
        results = campaign.run(executor, workers=args.workers, progress=not args.quiet, out=args.out,
                               batch=args.batch)
    finally:
        if executor != "processes":
            executor.close()
    _print_results(results)
    return 0 if results.complete else 1


def cmd_resume(args) -> int:
    """Run what a campaign directory lacks."""
    from workbench.campaign import Campaign
    executor = _client(args)
    try:
        results = Campaign.resume(args.dir, executor, workers=args.workers, progress=not args.quiet)
    finally:
        if executor != "processes":
            executor.close()
    _print_results(results)
    return 0 if results.complete else 1


def cmd_report(args) -> int:
    """Summary of a saved campaign: outcomes, the papers' categories, recovery rates, latencies."""
    from workbench.campaign import CampaignResults
    results = CampaignResults.load(args.dir)
    print(results.summary())
    if not results.complete:
        print(f"incomplete: {len(results.missing)} of {results.n} runs missing (mrwb resume {args.dir})")
    return 0


def cmd_ablation(args) -> int:
    """One fault list under the cumulative enhancement ladder and the baseline; print the table."""
    from workbench.analysis.ablation import ablation, parse_steps
    from workbench.faults import FaultSpace
    space = FaultSpace(args.target, tuple(t.strip() for t in args.faults.split(",") if t.strip()))
    executor = _client(args)
    try:
        result = ablation(args.config, space, parse_steps(args.steps), n=args.n, seed=args.seed,
                          baseline=None if args.baseline == "none" else args.baseline, recovery=args.ladder_recovery,
                          executor=executor, workers=args.workers, out=args.out, progress=not args.quiet)
    except NotImplementedError as e:
        print(f"mrwb ablation: {e}", file=sys.stderr)
        return 2
    finally:
        if executor != "processes":
            executor.close()
    print(result)
    if result.results:
        print(result.next_enhancement().advice)
    if args.out:
        print(f"saved in {args.out} ({'complete' if result.complete else 'incomplete: run the same command again'})")
    return 0 if result.complete else 1


def cmd_complexity(args) -> int:
    """Code lines per enhancement and per mechanism, beside the papers' counts."""
    import polars as pl

    from workbench.analysis.complexity import complexity
    table = complexity()
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200,
                   fmt_str_lengths=120, tbl_hide_column_data_types=True):
        print(table.with_columns(pl.col("lines").cast(pl.Utf8).fill_null("not built"),
                                 pl.col("files").str.split(" ").list.len().cast(pl.Utf8).alias("files"))
              .with_columns(pl.when(pl.col("status") == "built").then(pl.col("files")).otherwise(pl.lit("-")).alias("files")))
    print("code lines: not comments or blanks; a mechanism is its stack/*/recovery/<name>*.c and .h plus the shared "
          "hv/recovery/recovery.c (workbench.analysis.complexity() lists the files)")
    return 0


def cmd_run(args) -> int:
    """One fault, one run: the report and its timeline."""
    from workbench.faults import fault_from_row
    from workbench.system import System
    fault = fault_from_row({"target": args.target, "fault_type": args.fault, "hart": args.hart, "at": args.at,
                            "reg": args.reg, "bit": args.bit, "addr": args.addr})
    system = System(args.config)
    system.boot()
    report = system.inject(fault)
    print(report)
    return 0


DEMO_FAULTS = ("reg", "code", "mem", "failstop")


def cmd_demo(args) -> int:
    """Boot the default system, run a small hypervisor campaign, print its report and where it is."""
    import tempfile

    from workbench.campaign import Campaign
    from workbench.machine import cycles_to_ms
    from workbench.system import System
    system = System(args.config)
    boot = system.boot()
    c = system.config
    print(f"Booted {c.harts} harts: hypervisor, PrivVM{', driver VM' if c.dvm else ''}, AppVMs "
          f"{', '.join(c.appvms)}; steady state after {cycles_to_ms(boot.cycles):.1f} ms simulated "
          f"({boot.wall_seconds:.2f} s wall)")
    out = args.out or tempfile.mkdtemp(prefix="mrwb-demo-")
    campaign = Campaign(c, "hv", DEMO_FAULTS, n=args.n, seed=args.campaign_seed)
    print(f"Injecting {args.n} faults into the hypervisor ({', '.join(DEMO_FAULTS)}), recovery {c.recovery!r} ...",
          flush=True)
    results = campaign.run("processes", workers=args.workers, out=out)
    print(results.summary())
    print(f"saved in {results.path} (mrwb report {results.path})")
    return 0


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
    elif args.what == "campaign":
        from workbench.bench.campaign import campaign
        campaign(n=args.runs, workers=args.workers)
    return 0


def _window(text: str):
    try:
        lo, hi = (int(x, 0) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--window {text!r}: expected two integers LO,HI") from None
    return (lo, hi)


def main(argv: list[str] | None = None) -> int:
    from workbench.stack.abi import DEFAULT_APPVMS     # not workbench.system: --help without the core
    parser = argparse.ArgumentParser(prog="mrwb", description="Microreboot Workbench")
    sub = parser.add_subparsers(dest="command", required=True)

    def system_options(p, seed="--seed", recovery=False):
        p.add_argument("--harts", type=int, default=2, help="simulated harts (1..8, default 2)")
        default_appvms = ",".join(a[0] for a in DEFAULT_APPVMS)
        p.add_argument("--appvms", default=default_appvms,
                       help=f"workload per AppVM, comma separated (default {default_appvms})")
        p.add_argument("--iterations", default="",
                       help="iterations: one number for all AppVMs or one per AppVM (default: per workload; "
                            "for net, the requests the network peer sends)")
        p.add_argument(seed, type=int, default=1, help="system seed (default 1)")
        if recovery:
            p.add_argument("--recovery", default=None,
                           help="recovery per component: a name (the hypervisor's, or dvm_reboot / privvm_reboot) or "
                                "'hv=rehype,dvm=dvm_reboot,privvm=privvm_reboot' (components left out: halt; default halt)")
            p.add_argument("--enhancements", default=None,
                           help="rehype's enhancements: all (default), none, or names separated by commas")
        p.add_argument("--disk-region", type=int, default=None, help="bytes of disk per AppVM (default 1 MiB)")
        p.add_argument("--peer-interval", type=int, default=None,
                       help="cycles between two requests of the network peer (default 100000 = 1 ms)")
        p.add_argument("--peer-payload", type=int, default=None, help="bytes per network request (default 64)")

    p = sub.add_parser("boot", help="boot the virtualized system, run it, print consoles and domains")
    system_options(p)
    p.set_defaults(func=cmd_boot)

    p = sub.add_parser("demo", help="boot the default system, run a small hypervisor campaign, print its report")
    system_options(p, recovery=True)
    p.add_argument("-n", type=int, default=40, help="faults to inject (default 40)")
    p.add_argument("--campaign-seed", type=int, default=7, help="seed of the fault sample (default 7)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--out", default=None, help="directory for the results (default: a new temporary one)")
    p.set_defaults(func=cmd_demo, recovery="rehype")      # the workbench's main job: recover by microreboot

    def campaign_exec(p):
        p.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
        p.add_argument("--scheduler", default=None, help="address of a Dask scheduler (runs there, not locally)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("campaign", help="run a fault-injection campaign and save its results")
    system_options(p, seed="--system-seed", recovery=True)
    p.add_argument("--target", default="hv", help='"hv", "privvm", "dvm" or "appvm:<i>" (default hv)')
    p.add_argument("--faults", default="reg,code,failstop", help="fault types: reg, code, mem, failstop (default "
                                                                 "reg,code,failstop)")
    p.add_argument("-n", type=int, default=100, help="faults to inject (default 100)")
    p.add_argument("--papers", action="store_true",
                   help="the papers' sizes instead of -n/--faults: 1000 failstop, 5000 reg, 2000 code")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault sample (default 0)")
    p.add_argument("--window", default=None, type=_window,
                   help="instruction window LO,HI of the target to sample from (default: the fault space's)")
    p.add_argument("--out", default=None, help="directory for manifest.json and results.parquet")
    p.add_argument("--batch", type=int, default=None, help="runs per atomic write (default: automatic)")
    p.add_argument("--wall-budget", type=float, default=None, metavar="SECONDS",
                   help="per-run guard: cut a run after this much wall time (reason workbench_timeout; default none)")
    p.add_argument("--instruction-budget", type=int, default=None, metavar="N",
                   help="per-run guard: cut a run after N simulated instructions (reason workbench_timeout; "
                        "default none)")
    campaign_exec(p)
    p.set_defaults(func=cmd_campaign)

    p = sub.add_parser("resume", help="run what a campaign directory still lacks")
    p.add_argument("dir")
    campaign_exec(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("report", help="summary of a saved campaign")
    p.add_argument("dir")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ablation", help="one fault list under basic ReHype, each enhancement added in turn, and the "
                                        "reboot baseline: recovery success per step, causes, next enhancement")
    system_options(p, seed="--system-seed")
    p.add_argument("--target", default="hv", help='"hv", "privvm", "dvm" or "appvm:<i>" (default hv)')
    p.add_argument("--faults", default="reg,code,failstop", help="fault types: reg, code, mem, failstop (default "
                                                                 "reg,code,failstop)")
    p.add_argument("-n", type=int, default=100, help="faults in the list (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault sample (default 0)")
    p.add_argument("--steps", default="",
                   help="enhancements to add in turn, comma separated, '+' joining several added in one step "
                        "(default: all nine in the papers' order)")
    p.add_argument("--baseline", default="reboot", help="baseline mechanism on the same faults, or none (default reboot)")
    p.add_argument("--recovery", default="rehype", dest="ladder_recovery",
                   help="mechanism the ladder runs under (default rehype; another one only tests the plumbing)")
    p.add_argument("--out", default=None, help="directory: the plan and one campaign folder per step (resumable)")
    campaign_exec(p)
    p.set_defaults(func=cmd_ablation)

    p = sub.add_parser("complexity", help="code lines per ReHype enhancement and per recovery mechanism, beside "
                                          "the papers' counts")
    p.set_defaults(func=cmd_complexity)

    p = sub.add_parser("run", help="inject one fault and print its report and timeline")
    system_options(p, recovery=True)
    p.add_argument("--target", default="hv", help='"hv", "privvm", "dvm" or "appvm:<i>" (default hv)')
    p.add_argument("--fault", required=True, help="reg, code, mem or failstop")
    p.add_argument("--at", type=int, required=True, help="instructions executed in the target after steady state")
    p.add_argument("--reg", default=None, help="reg: x1..x31 or an ABI name, or pc")
    p.add_argument("--bit", type=int, default=None, help="bit to flip (reg, code: 0..31; mem: 0..7)")
    p.add_argument("--addr", type=lambda v: int(v, 0), default=None, help="mem (and code, optional): address")
    p.add_argument("--hart", type=int, default=0, help="hart running the target (default 0)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("qemu", help="print (or --run) the QEMU command line for a configuration")
    system_options(p)
    p.add_argument("--run", action="store_true", help="run it and compare results with the machine model")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before QEMU is stopped (default 60)")
    p.set_defaults(func=cmd_qemu)

    p = sub.add_parser("bench", help="measure speed: boot (default system), io (block requests and network "
                                     "round trips per second), cpu (MIPS vs Unicorn), snapshot (restore time), "
                                     "campaign (runs per second of a 200-run hypervisor campaign)")
    p.add_argument("what", choices=("boot", "io", "cpu", "snapshot", "campaign"))
    p.add_argument("--runs", type=int, default=200, help="campaign: runs (default 200)")
    p.add_argument("--workers", type=int, default=None, help="campaign: worker processes (default: all cores)")
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
    except (ValueError, FileExistsError, FileNotFoundError) as e:   # bad input or a damaged campaign file
        print(f"mrwb {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
