"""Compatibility name for the hardware layer: `from workbench.hw import Machine` keeps working.

The layer lives in `workbench.machine`; this module only re-exports it.
"""
from workbench.machine import *  # noqa: F401,F403
from workbench.machine import __all__  # noqa: F401
