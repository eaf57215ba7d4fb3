"""Complexity (issue 10, item 5): code lines, not comments or blanks, per enhancement and per mechanism,
beside the papers' 880 / 900 / 2,770 lines; `mrwb complexity` prints the table."""
from __future__ import annotations

import polars as pl
import pytest

from workbench import ALL_ENHANCEMENTS
from workbench.analysis.complexity import STACK, complexity, count_code_lines
from workbench.cli import main

SNIPPET = r'''/* A file header
 * over three lines */
#include "hv.h"

// a line comment
static int x = 1;   /* trailing comment */
/* before */ int y;
const char *s = "not // a comment /* either */";
char c = '"';       // a quote in a char literal does not open a string
    /* a comment
       that ends */ int z;

#define TWICE(v) \
    ((v) * 2)
int f(void) { return x + y + z; } //
'''
# code lines: #include, static int x, int y, const char *s, char c, int z (after the comment),
# #define, its continuation, int f  -> 9


def test_a_known_snippet_counts_right():
    assert count_code_lines(SNIPPET) == 9
    assert count_code_lines("") == 0 and count_code_lines("\n\n   \n") == 0
    assert count_code_lines("int a;") == 1                        # no final newline
    assert count_code_lines("/* one */\n/* two\n three */\n") == 0
    assert count_code_lines('char *p = "/*";\nint b;\n') == 2      # a string does not open a comment
    assert count_code_lines("char q = '\\'';\nint d; // x\n") == 2  # an escaped quote does not end the literal


def fake_stack(root):
    files = {"hv/recovery/recovery.c": "int shared;\n/* c */\nint more;\n",        # 2
             "hv/recovery/reset_locks.c": "// why\nvoid reset(void) {\n}\n",        # 2
             "hv/recovery/ack_irqs.c": "#include \"hv.h\"\nvoid ack(void);\n\n",    # 2
             "hv/recovery/rehype.c": "int a;\nint b;\nint c;\n",                    # 3
             "hv/recovery/rehype_boot.c": "int d;\n",                               # 1
             "hv/recovery/rehype.h": "/* why */\nstruct r { int a; };\n",          # 1
             "privvm/recovery/dvm_reboot_toolstack.c": "int e;\n",                  # 1
             "dvm/recovery/dvm_reboot.c": "int f;\nint g;\n",                       # 2
             "hv/sched.c": "int not_recovery;\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_mechanisms_are_their_files_plus_the_shared_recovery_c(tmp_path):
    t = complexity(fake_stack(tmp_path))
    row = {r["what"]: r for r in t.iter_rows(named=True)}
    assert row["reset_locks"]["lines"] == 2 and row["ack_irqs"]["lines"] == 2
    assert row["sched_rebuild"]["lines"] is None and row["sched_rebuild"]["status"] == "not built"
    assert row["recovery.c (shared)"]["lines"] == 2
    assert row["rehype (basic)"]["lines"] == 3 + 1 + 1 + 2
    assert row["rehype (all enhancements)"]["lines"] == 3 + 1 + 1 + 2 + 2 + 2
    assert "hv/recovery/rehype.h" in row["rehype (basic)"]["files"].split()
    assert row["dvm_reboot"]["lines"] == 2 + 1 + 2 and "dvm/recovery/dvm_reboot.c" in row["dvm_reboot"]["files"]
    # implemented (recovery_list.h) with no file of its own in this tree: the shared file alone
    assert row["privvm_reboot"]["status"] == "built" and row["privvm_reboot"]["lines"] == 2
    assert [r["what"] for r in t.iter_rows(named=True) if r["kind"] == "enhancement"] == list(ALL_ENHANCEMENTS)


def test_the_real_files_count():
    t = complexity()
    shared = t.filter(pl.col("kind") == "shared").row(0, named=True)
    text = (STACK / "hv/recovery/recovery.c").read_text()
    assert shared["lines"] == count_code_lines(text)
    assert 0 < shared["lines"] < len(text.splitlines())           # its comments do not count
    for r in t.filter(pl.col("kind").is_in(["enhancement", "mechanism"])).iter_rows(named=True):
        files = [STACK / f for f in r["files"].split()] if r["status"] == "built" else []
        if r["status"] == "built":
            assert r["lines"] == sum(count_code_lines(f.read_text()) for f in files)
        else:
            assert r["lines"] is None
    if (STACK / "hv/recovery/reset_locks.c").exists():
        assert t.filter(pl.col("what") == "reset_locks")["status"].item() == "built"


def test_published_counts_are_beside(capsys):
    t = complexity().filter(pl.col("kind") == "published")
    assert sorted(t["lines"].to_list()) == [880, 900, 2770]
    assert all("Tamir" in s for s in t["source"])
    assert main(["complexity"]) == 0
    out = capsys.readouterr().out
    for s in ("880", "900", "2770", "recovery.c (shared)", "rehype (all enhancements)", "VEE 2011", "TR 140019"):
        assert s in out


@pytest.mark.parametrize("bad", [["ablation", "--steps", "nope"], ["ablation", "--faults", "zap"]])
def test_ablation_command_reports_bad_input(bad, capsys):
    assert main(bad + ["--recovery", "reboot", "-n", "2"]) == 2
    assert "invalid" in capsys.readouterr().err


def test_ablation_command_prints_the_table(tmp_path, capsys):
    out = tmp_path / "ab"
    argv = ["ablation", "--iterations", "16,20,40", "-n", "4", "--faults", "reg,failstop", "--seed", "2",
            "--steps", "reset_locks,ack_irqs+event_kick", "--recovery", "reboot", "--baseline", "halt",
            "--workers", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    for s in ("basic", "+reset_locks", "+ack_irqs+event_kick", "halt", "recovery success", "complete"):
        assert s in text
    assert (out / "ablation.json").exists() and (out / "02-ack_irqs+event_kick" / "results.parquet").exists()
    assert main(argv) == 0                                  # again: continued, nothing left to run
