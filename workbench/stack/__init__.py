"""The simulated virtualization stack: C sources for RV32 and their build (build.py)."""
