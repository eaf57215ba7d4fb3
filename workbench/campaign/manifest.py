"""What a campaign records about itself so a reader can reproduce it: configuration, seeds, package
version, git commit, image hashes and the fault list (DESIGN section 8)."""
from __future__ import annotations

import dataclasses
import hashlib
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

from workbench.campaign.results import FORMAT
from workbench.system import SystemConfig


# The packages whose versions can change a campaign's rows or its files; recorded for the paper's appendix.
RECORDED_PACKAGES = ("numpy", "polars", "Cython", "pyelftools", "ziglang")


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def package_version() -> str:
    try:
        from importlib.metadata import version
        return version("microreboot-workbench")
    except Exception:                  # running from a source tree that was never installed
        return "unknown"


CODE_PATHS = ("workbench", "cyext", "setup.py", "pyproject.toml")   # what decides a campaign's rows


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """HEAD of the source tree the package runs from, with "-dirty" when its code (not data/ or the
    notebooks, which a campaign being saved changes) has local changes; None outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                *CODE_PATHS],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def image_hashes(system) -> dict[str, str]:
    """sha256 of every image the configuration boots (hypervisor, PrivVM, DVM, one per AppVM slot)."""
    names = {"hv": system.images["hv"], "privvm": system.images["privvm"]}
    if system.config.dvm:
        names["dvm"] = system.images["dvm"]
    for i in range(len(system.config.appvms)):
        names[f"appvm{i}"] = system.appvm_image(i)
    return {k: hashlib.sha256(Path(p).read_bytes()).hexdigest() for k, p in names.items()}


def config_dict(config: SystemConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(d: dict) -> SystemConfig:
    names = {f.name for f in dataclasses.fields(SystemConfig)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"manifest config has fields this version does not know: {', '.join(unknown)}")
    return SystemConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def manifest(campaign, system) -> dict:
    c = campaign.config
    return {"format": FORMAT, "target": campaign.target, "fault_types": list(campaign.fault_types),
            "n": len(campaign.faults), "sizes": campaign.sizes, "seed": campaign.seed, "window": campaign.window,
            "wall_budget_s": campaign.wall_budget_s, "instruction_budget": campaign.instruction_budget,
            "recovery": c.recovery_spec, "config": config_dict(c),
            "seeds": {"campaign": campaign.seed, "system": c.seed, "appvms": list(c.appvm_seeds),
                      "peer": c.peer_seed},
            "package_version": package_version(), "versions": package_versions(), "git_commit": git_commit(),
            "python": platform.python_version(), "image_hashes": image_hashes(system),
            "faults_given": bool(getattr(campaign, "given", False)),
            "faults": [dict(f) for f in campaign.fault_rows]}
