"""Small RV32 programs the workbench ships (the demo); built with workbench.toolchain on first use."""
from __future__ import annotations

import tempfile
from pathlib import Path

from workbench import toolchain

HERE = Path(__file__).parent


def demo_program(nharts: int) -> Path:
    """Build the demo (per-hart CRC, AMO lock, console) for `nharts` harts; cached by toolchain."""
    out = Path(tempfile.gettempdir()) / "mrwb-programs" / "demo.elf"
    script = Path(tempfile.gettempdir()) / "mrwb-programs" / "demo.ld"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(toolchain.default_linker_script(stack=0x1000 * 8))
    toolchain.build([HERE / "demo_start.S", HERE / "demo.c"], out, script=script)
    return out
