"""The layering the design promises, checked on the source: one door writes cases."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRITES = re.compile(
    r"\b(insert_case|update_case|write_change|insert_event|insert_tick|delete_tick|insert_link|"
    r"delete_link|arm_timers|cancel_timers|cancel_timer_rows|pause_timers|resume_timers|"
    r"finish_timer|insert_idempotency)\b")
DOOR = ROOT / "engine" / "service"
STORE = ROOT / "engine" / "store"


def _sources() -> list[Path]:
    return [p for folder in ("engine", "api", "cli") for p in (ROOT / folder).rglob("*.py")]


def test_only_the_door_calls_the_stores_case_writes() -> None:
    outside = [str(p.relative_to(ROOT)) for p in _sources()
               if DOOR not in p.parents and STORE not in p.parents
               and WRITES.search(p.read_text(encoding="utf-8"))]
    assert outside == []


def test_the_pure_core_imports_neither_the_store_the_door_the_definitions_nor_the_api(
) -> None:
    core = ROOT / "engine" / "core"
    layers = r"(engine\.(store|service|definitions)|api)\b"
    reaching = [str(p.relative_to(ROOT)) for p in core.rglob("*.py")
                if re.search(rf"^\s*(from|import) {layers}", p.read_text(encoding="utf-8"),
                             re.MULTILINE)]
    assert reaching == []


def test_every_module_of_the_door_is_under_four_hundred_lines() -> None:
    long = {p.name: n for p in DOOR.glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 400}
    assert long == {}


def test_every_module_of_the_store_is_under_four_hundred_lines() -> None:
    modules = [p for p in STORE.rglob("*.py") if "migrations" not in p.parts]
    long = {str(p.relative_to(STORE)): n for p in modules
            if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 400}
    assert long == {}
