"""What the command line writes is sealed like what the service writes: a token, a person
or a workflows reload recorded in the operations log leaves its head sealed with the chain
key, so `hatchery audit verify` stays clean after an administrator's first steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from engine.service import build_service
from engine.settings import Settings

runner = CliRunner()


@pytest.fixture
def installation(tmp_path: Path) -> dict[str, str]:
    """An installation whose service started once (so its chain key exists), as the
    commands read its settings from the environment."""
    url = f"sqlite:///{tmp_path / 'hatchery.db'}"
    build_service(Settings(database_url=url, HATCHERY_DATA_DIR=tmp_path)).engine.dispose()
    return {"DATABASE_URL": url, "HATCHERY_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def hatchery(env: dict[str, str], *args: str) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def verified(env: dict[str, str]) -> str:
    return hatchery(env, "audit", "verify").stdout


@pytest.mark.parametrize("command", [
    ("token", "create", "--name", "admin", "--role", "admin", "--community", "*"),
    ("user", "create", "--name", "wang", "--role", "caseworker", "--community", "fuzhou",
     "--generate-password"),
    ("workflows", "reload"),
], ids=["token", "user", "workflows"])
def test_an_entry_the_command_line_writes_leaves_the_log_sealed(
        installation: dict[str, str], command: tuple[str, ...]) -> None:
    hatchery(installation, *command)
    assert "intact" in verified(installation)
