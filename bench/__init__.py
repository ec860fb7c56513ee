"""Benchmarks: `python -m bench` (or `make bench`, `QUICK=1` for a short run).

Each module here that defines `run(quick: bool) -> dict[str, float]` is one area; its
figures are named `area.figure`. Every figure that depends on the machine comes with a
ratio against a floor measured in the same run, so that results compare across machines.
"""
