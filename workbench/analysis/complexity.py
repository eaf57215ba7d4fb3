"""Complexity as the papers measure it (issue 10, item 5): lines of code per enhancement and per recovery
mechanism, counted from the C files -- code lines only: a line counts when something other than a comment
(/* */ or //) or white space is on it; preprocessor lines are code, as cloc counts them.

Files (DESIGN section 6): each enhancement is `stack/hv/recovery/<name>.c`; a mechanism is every
`stack/*/recovery/<mechanism>*.c` (and its `<mechanism>*.h`: declarations are code too) plus the shared
`stack/hv/recovery/recovery.c`; ReHype's total adds its enhancements. A mechanism is built when
include/recovery_list.h marks it implemented or it has files of its own. The papers' own counts
(data/paper/figures.csv) are rows of the same table.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.stack import abi
from workbench.system.config import ALL_ENHANCEMENTS

STACK = Path(abi.__file__).resolve().parent
SHARED = "hv/recovery/recovery.c"
BASELINES = ("halt", "reboot")       # no microreboot: their few lines live in the shared recovery.c
# the papers' counts of lines added or changed in Xen, by key of data/paper/figures.csv
PUBLISHED = {"vee11_loc": "ReHype in Xen (VEE 2011)", "tr140019_loc": "ReHype in Xen (TR 140019)",
             "dsn18_rehype_loc": "enhanced ReHype in Xen, cloc (DSN 2018)"}
SCHEMA = {"what": pl.Utf8, "kind": pl.Utf8, "lines": pl.Int64, "files": pl.Utf8, "status": pl.Utf8,
          "source": pl.Utf8}


def count_code_lines(text: str) -> int:
    """Lines of C with code on them: comments (/* */ across lines, // to the end of the line) and blank
    lines do not count; a comment marker inside a string or character literal is not a comment."""
    count, has_code, state, i, n = 0, False, "code", 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            count += has_code
            has_code = False
            if state == "line":
                state = "code"
            i += 1
            continue
        if state == "code":
            two = text[i:i + 2]
            if two == "/*":
                state, i = "block", i + 2
                continue
            if two == "//":
                state, i = "line", i + 2
                continue
            if ch in "\"'":
                state = ch
            if not ch.isspace():
                has_code = True
        elif state == "block":
            if text.startswith("*/", i):
                state, i = "code", i + 2
                continue
        elif state in "\"'":         # inside a literal: skip escapes, end at the matching quote
            if ch == "\\":
                i += 2
                continue
            if ch == state:
                state = "code"
        i += 1
    return count + has_code


def _lines(stack: Path, rel: list[str]) -> int:
    return sum(count_code_lines((stack / r).read_text(errors="replace")) for r in rel)


def complexity(stack=None) -> pl.DataFrame:
    """Code lines per enhancement, per microreboot mechanism (its files plus the shared recovery.c;
    ReHype with and without its enhancements), and the papers' published counts, as one polars table:
    what, kind (enhancement, shared, mechanism, published), lines (null: not built), files, status,
    source. `stack`: the stack directory to count (default this tree's workbench/stack)."""
    stack = STACK if stack is None else Path(stack)
    rows = []
    enh_files = []
    for name in ALL_ENHANCEMENTS:
        rel = f"hv/recovery/{name}.c"
        built = (stack / rel).is_file()
        enh_files += [rel] if built else []
        rows.append({"what": name, "kind": "enhancement", "lines": _lines(stack, [rel]) if built else None,
                     "files": rel, "status": "built" if built else "not built", "source": "this tree"})
    shared = (stack / SHARED).is_file()
    rows.append({"what": "recovery.c (shared)", "kind": "shared", "lines": _lines(stack, [SHARED]) if shared else None,
                 "files": SHARED, "status": "built" if shared else "not built", "source": "this tree"})
    for m in abi.recovery_mechanisms().values():
        if m.name in BASELINES:
            continue
        own = sorted(str(p.relative_to(stack)) for ext in ("c", "h")
                     for p in stack.glob(f"*/recovery/{m.name}*.{ext}"))
        groups = [(m.name, own)]
        if m.name == "rehype":
            groups = [("rehype (basic)", own), ("rehype (all enhancements)", own + enh_files)]
        for what, files in groups:
            files = files + ([SHARED] if shared else [])
            built = bool(own) or m.implemented
            rows.append({"what": what, "kind": "mechanism", "lines": _lines(stack, files) if built else None,
                         "files": " ".join(files) if built else f"*/recovery/{m.name}*.[ch]",
                         "status": "built" if built else "not built", "source": "this tree"})
    from workbench.analysis.data import paper_figures
    try:
        pub = paper_figures().filter(pl.col("key").is_in(list(PUBLISHED)))
    except FileNotFoundError:
        pub = pl.DataFrame()
    for r in pub.iter_rows(named=True):
        rows.append({"what": PUBLISHED[r["key"]], "kind": "published", "lines": int(r["value"]),
                     "files": None, "status": "published", "source": r["citation"]})
    return pl.DataFrame(rows, schema=SCHEMA)
