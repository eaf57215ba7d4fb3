"""Microreboot Workbench: `from workbench import System, SystemConfig` (DESIGN section 7).

Names are imported on first use, so `import workbench` works before the Cython core is built.
"""

_LAZY = {"System": "workbench.system", "SystemConfig": "workbench.system", "Machine": "workbench.machine",
         "ALL_ENHANCEMENTS": "workbench.system.config"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
