"""The simulated virtualization stack: C sources for RV32, the ABI facts Python shares with them
(abi.py) and their build (build.py, compile and link only)."""
