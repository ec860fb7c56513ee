"""The install: the service's lock holds only what the service needs, every exact pin of
pyproject.toml is locked at the same version, and every locked package carries hashes.

A pin added to pyproject.toml without `make lock` fails here, naming the package, instead
of leaving a fresh machine to install something the lock never saw."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from engine.errors import StoreUnavailable
from engine.settings import PROJECT_ROOT
from engine.store.db import make_engine

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCKS = PROJECT_ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")
NOT_FOR_THE_SERVICE = ["pytest", "pytest-xdist", "hypothesis", "ruff", "mypy", "schemathesis",
                       "psycopg", "matplotlib"]


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def locked(path: Path) -> dict[str, str]:
    """name -> version of every package a lock file pins."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def pins(requirements: list[str]) -> dict[str, str]:
    """name -> version of the exact pins in a pyproject list (self-references skipped)."""
    return {_name(m.group(1)): m.group(2) for r in requirements if (m := PIN.match(r))}


def extras() -> dict[str, list[str]]:
    found: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
    return found


def test_every_dependency_of_the_service_is_locked_at_its_pinned_version() -> None:
    service = locked(LOCKS / "service.txt")
    wanted = pins(PYPROJECT["project"]["dependencies"])
    assert {n: service.get(n) for n in wanted} == wanted, "run `make lock`"


def test_every_pin_of_every_extra_is_locked_for_development() -> None:
    dev = locked(LOCKS / "dev.txt")
    wanted = pins([r for group in extras().values() for r in group])
    wanted |= pins(PYPROJECT["project"]["dependencies"])
    assert {n: dev.get(n) for n in wanted} == wanted, "run `make lock`"


def test_the_service_install_leaves_out_tests_lint_and_optional_features() -> None:
    service = locked(LOCKS / "service.txt")
    assert [n for n in NOT_FOR_THE_SERVICE if n in service] == []


@pytest.mark.parametrize("lock", ["service.txt", "dev.txt", "uv.txt"])
def test_every_locked_package_carries_its_hashes(lock: str) -> None:
    text = (LOCKS / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    unhashed = [e.split()[0] for e in entries
                if PIN.match(e) and "--hash=sha256:" not in e]
    assert unhashed == []


def test_postgres_and_charts_are_extras_asked_for_by_name() -> None:
    assert pins(extras()["postgres"]) == {"psycopg": "3.3.9"}
    assert set(pins(extras()["plot"])) == {"matplotlib"}


def test_postgres_without_its_driver_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(StoreUnavailable) as caught:
        make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert "pip install 'hatchery[postgres]'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_chart_without_matplotlib_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    result = CliRunner().invoke(app, ["stats", "--workflow", "x", "--plot",
                                      str(tmp_path / "chart.png")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --plot draws with matplotlib, which is not installed: "
        "pip install 'hatchery[plot]'"]
    assert not (tmp_path / "chart.png").exists()
