"""The CPU benchmark program computes what its Python model says, on our machine and on Unicorn,
and its instruction count is exactly linear in the scale (what the hook-free Unicorn timing relies on)."""
import pytest

from workbench.bench import programs as benchprog


def test_checksum_on_machine(machine_run):
    for scale in (1, 2):
        m, info = machine_run(benchprog.cpu_program(scale))
        assert info.reason == "poweroff"
        assert m.harts[0].x[10] == benchprog.expected_checksum(scale)
        # the machine also counts the power-off sequence (li, li, sw) after bench_done
        assert info.instructions - benchprog.instruction_count(benchprog.cpu_program(scale), scale) in range(0, 8)


def test_unicorn_count_is_linear():
    pytest.importorskip("unicorn")
    path = benchprog.cpu_program(3)
    assert benchprog._count(path, 3) == benchprog.instruction_count(path, 3)
    n, seconds = benchprog.run_unicorn_bench(path)      # raises if unicorn's checksum is wrong
    assert n == benchprog.instruction_count(path, 3) and seconds > 0
    assert 1_000_000 <= benchprog.instruction_count(path, 1) <= 1_200_000


def test_bad_scale():
    with pytest.raises(ValueError, match="scale"):
        benchprog.cpu_program(0)
