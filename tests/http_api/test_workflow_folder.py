"""The workflows folder: a bad file never stops the service, and changes are picked up."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app as cli
from engine.definitions.registry import WorkflowRegistry
from engine.definitions.watch import FolderWatch
from engine.settings import Settings
from engine.store.db import make_engine
from engine.store.migrating import upgrade
from http_api.conftest import FIXTURE, LiveServer

BROKEN = "id: broken\nversion: 1.0.0\ntitle: t\nstates:\n  a: {initial: tru}\ntransitions: []\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    shutil.copy(FIXTURE, workflows / FIXTURE.name)
    (workflows / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("HATCHERY_WORKFLOWS_DIR", str(workflows))
    return workflows


def test_a_bad_file_is_reported_in_the_log_readiness_and_listing_and_the_rest_runs(
        folder: Path, log_records: list[logging.LogRecord]) -> None:
    settings = Settings(HATCHERY_WORKFLOWS_POLL_SECONDS=0)
    with LiveServer(create_app(settings)) as server:
        ready = httpx.get(server.url + "/readyz").json()
        [rejected] = ready["rejected_definitions"]
        assert rejected["path"].endswith("broken.yaml")
        assert [(d["line"], d["severity"]) for d in rejected["diagnostics"]] == [(5, "error")]
        assert ready["status"] == "ready"
    said = "\n".join(r.getMessage() for r in log_records if r.levelno >= logging.WARNING)
    assert "broken.yaml:5:" in said and "Traceback" not in said


def test_a_new_version_in_the_folder_becomes_the_latest_on_reload(folder: Path) -> None:
    engine = make_engine(Settings().resolved_database_url())
    upgrade(engine)
    registry = WorkflowRegistry(engine)
    watch = FolderWatch(registry, folder)
    registry.sync_directory(folder)
    assert watch.check() is False  # nothing changed since the watch looked
    text = FIXTURE.read_text(encoding="utf-8")
    (folder / FIXTURE.name).write_text(text.replace("version: 1.0.0", "version: 1.1.0"),
                                       encoding="utf-8")
    assert watch.check() is True
    assert registry.latest_version("api_resident_service") == "1.1.0"
    engine.dispose()


def test_a_changed_file_that_kept_its_version_is_reported_not_loaded(folder: Path) -> None:
    engine = make_engine(Settings().resolved_database_url())
    upgrade(engine)
    registry = WorkflowRegistry(engine)
    registry.sync_directory(folder)
    before = registry.get("api_resident_service").spec
    text = FIXTURE.read_text(encoding="utf-8")
    (folder / FIXTURE.name).write_text(text + "\n# edited\n", encoding="utf-8")
    assert FolderWatch(registry, folder).check(force=True) is True
    codes = {Path(p).name: [d.code for d in r.diagnostics]
             for p, r in registry.rejected.items()}
    assert codes[FIXTURE.name] == ["version_changed"]
    assert registry.get("api_resident_service").spec == before
    engine.dispose()


def test_the_reload_command_registers_the_good_files_and_names_the_bad_ones(
        folder: Path) -> None:
    result = CliRunner().invoke(cli, ["workflows", "reload", "--lang", "zh"])
    assert result.exit_code == 1
    assert "已登记：api_resident_service 1.0.0" in result.stdout
    assert "未加载" in result.stderr and "broken.yaml:5:" in result.stderr
    again = CliRunner().invoke(cli, ["workflows", "reload"])
    assert "nothing new to register" in again.stdout


def test_the_retire_command_takes_a_version_out_of_use(folder: Path) -> None:
    CliRunner().invoke(cli, ["workflows", "reload"])
    result = CliRunner().invoke(cli, ["workflows", "retire", "api_resident_service",
                                      "--version", "1.0.0", "--actor", "designer_li"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "retired: api_resident_service 1.0.0"
    again = CliRunner().invoke(cli, ["workflows", "retire", "api_resident_service",
                                     "--actor", "designer_li"])
    assert again.stdout.strip() == "already retired: nothing changed"
    missing = CliRunner().invoke(cli, ["workflows", "retire", "nope", "--actor", "x"])
    assert missing.exit_code == 1
