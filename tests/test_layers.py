"""The package's layers (issue 7): every import of `workbench` points down, and no modules import each
other in a cycle.  Walks every module's source with `ast` (no import is executed), collecting module-
level and function-level imports alike, so a cycle hidden behind a lazy import is still one.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workbench", "cyext")

# Rank of each room: an import may point at the same rank or lower, never higher.
RANKS = {
    "cyext": 0,                  # the Cython core: knows nothing of the workbench
    "workbench.machine": 1,      # Machine over cyext; clock.py
    "workbench.hw": 1,           # compatibility re-export of workbench.machine
    "workbench.toolchain": 1,    # RV32 compiler driver: a helper that imports nothing of ours
    "workbench.stack": 2,        # abi.py (facts read from the C headers) and build.py (-> toolchain)
    "workbench.display": 2,      # text/HTML reprs of plain summaries; needs only machine.clock
    "workbench.system": 3,       # config -> images -> System on a Machine; views; reprs via display
    "workbench.faults": 4,       # fault models (created by the fault-injection issue)
    "workbench.recovery": 4,     # recovery mechanisms seen from Python (same rank as faults: peers)
    "workbench.campaign": 5,     # runs many faulted Systems
    "workbench.analysis": 6,     # reads campaign results
    "workbench.bench": 7,        # faces: thin wrappers over the calls below
    "workbench.cli": 7,
    "workbench.widgets": 7,
    "workbench": 7,              # the package root lazily re-exports System and Machine: a face
}


def rank(module: str) -> int:
    """The rank of the longest RANKS prefix (the root `workbench` only for itself: a new room must
    be ranked, not inherit the faces' rank)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        room = ".".join(parts[:n])
        if room in RANKS and (room != "workbench" or module == "workbench"):
            return RANKS[room]
    raise KeyError(f"{module}: no rank in RANKS; give its room one (with a line of why)")


def module_files() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """Modules of ours that importing `module` may import (at module level or inside functions).
    Importing a.b.c imports the packages a and a.b first, so their __init__s count too, except the
    ones `module` lives in (they are already being imported when it runs)."""
    targets = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(module, is_package, node.level, node.module) if node.level else node.module
            targets.add(mod)
            targets |= {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant):
            targets.add(node.args[0].value)
        elif isinstance(node, ast.Dict):      # workbench/__init__'s {name: module} table for import_module
            targets |= {v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
                        and v.value.split(".")[0] in PACKAGES}
    ancestors = {".".join(module.split(".")[:n]) for n in range(1, module.count(".") + 1 + is_package)}
    out = set()
    for t in targets:
        if t.split(".")[0] not in PACKAGES:
            continue
        parts = t.split(".")
        out |= {p for p in (".".join(parts[:n]) for n in range(1, len(parts) + 1)) if p in known} - ancestors
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {m: imports_of(m, f.read_text(), f.name == "__init__.py", known) for m, f in files.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} (rank {rank(m)}) imports {t} (rank {rank(t)})"
                  for m, ts in graph.items() for t in ts if rank(t) > rank(m))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_rank():
    for m in module_files():
        rank(m)


def test_imports_point_down_the_layers():
    assert upward_imports(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_walk_sees_lazy_imports_and_package_inits():
    g = import_graph()
    assert "workbench.system.views.components" in g["workbench.system.system"]      # inside a property
    assert "workbench.display.formatting" in g["workbench.system.views.components"]  # inside __repr__
    assert "workbench.machine" in g["workbench.system.results"]                      # the package __init__
    assert {"workbench.system", "workbench.machine"} <= g["workbench"]               # import_module table
    assert "workbench.system" not in g["workbench.system.config"]                    # its own package


def test_the_checks_catch_what_they_are_for():
    # a view importing System (up a layer, and a cycle through the package __init__)
    known = set(module_files())
    src = "def f():\n    from workbench.system.system import System\n"
    fake = dict(import_graph())
    fake["workbench.system.views.components"] = imports_of("workbench.system.views.components", src, False, known)
    assert cycles(fake) == [["workbench.system.system", "workbench.system.views.components"]]
    fake["workbench.machine.machine"] = imports_of("workbench.machine.machine", "import workbench.system\n", False, known)
    assert upward_imports(fake) == ["workbench.machine.machine (rank 1) imports workbench.system (rank 3)"]
    with pytest.raises(KeyError, match="no rank"):
        rank("workbench.gadgets")


# Machine methods that change its state or run it: the live views (views/) must call none of them.
MUTATORS = {"write", "write_disk", "run", "restore", "reset", "snapshot", "add_probe", "remove_probe",
            "inject_register", "inject_memory", "failstop", "configure_peer", "configure_devices", "plic_raise",
            "plic_lower", "load_elf"}


def test_views_never_write_or_run_the_machine():
    for f in sorted((ROOT / "workbench" / "system" / "views").glob("*.py")):
        calls = {n.func.attr for n in ast.walk(ast.parse(f.read_text()))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert not calls & MUTATORS, (f.name, sorted(calls & MUTATORS))
