"""Run every benchmark module and print one JSON object of `area.figure` keys.

    python -m bench            # the full run
    python -m bench --quick    # or QUICK=1: a small version, under a minute

The object is also written to `bench/results.json`. A module that fails is reported on
standard error with its traceback; the others still run, and the exit status is 1.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench

KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
RESULTS = Path(__file__).resolve().parent / "results.json"


def quick_requested(argv: list[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """`--quick`, or QUICK set to anything but empty, 0, false or no."""
    flag = environ.get("QUICK", "").strip().lower()
    return "--quick" in argv or flag not in ("", "0", "false", "no")


def discover() -> list[tuple[str, Callable[[bool], dict[str, float]]]]:
    """`(name, run)` of every module of the package that defines `run`, by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        run = getattr(module, "run", None)
        if callable(run):
            found.append((info.name, run))
    return found


def check(name: str, figures: Any, merged: dict[str, float]) -> dict[str, float]:
    """The module's figures, after checking their names and values."""
    if not isinstance(figures, dict):
        raise TypeError(f"bench.{name}.run returned {type(figures).__name__}, not a dict")
    clean: dict[str, float] = {}
    for key, value in figures.items():
        if not isinstance(key, str) or not KEY.match(key):
            raise ValueError(f"bench.{name}: {key!r} is not an 'area.figure' key")
        if key in merged:
            raise ValueError(f"bench.{name}: {key!r} is already reported by another module")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"bench.{name}: {key} is {value!r}, not a number")
        clean[key] = float(value)
    return clean


def main(argv: list[str]) -> int:
    quick = quick_requested(argv, os.environ)
    merged: dict[str, float] = {}
    failed = False
    for name, run in discover():
        started = time.perf_counter()
        print(f"bench: {name} ({'quick' if quick else 'full'}) ...", file=sys.stderr, flush=True)
        try:
            merged.update(check(name, run(quick), merged))
        except Exception:
            failed = True
            print(f"bench: {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        print(f"bench: {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    text = json.dumps(dict(sorted(merged.items())), indent=2) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
