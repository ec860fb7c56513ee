"""`hatchery backup` / `hatchery restore` (engine.store.backup): a backup taken while cases
are being changed restores everything acknowledged before it began, and proves it; a
backup that was truncated or edited is refused with the reason."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cli.main import app
from engine.audit.verify import verify
from engine.clock import FrozenClock
from engine.ledger.chain import Checkpoint
from engine.service import CaseService
from engine.store.backup import BackupRefused, Manifest, manifest_path, take
from engine.store.db import make_engine
from engine.store.restore import restore

INCUBATION = "store_incubation"


@pytest.fixture
def restore_url(db_url: str, tmp_path: Path,
                request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database to restore into: a new SQLite file, or a new PostgreSQL database
    (the backup brings its schema, named as where it was taken)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'hatchery.db'}"
        return
    base = make_url(request.getfixturevalue("postgres_server"))
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        schema_option = make_url(db_url).query["options"]
        yield base.set(database=name).update_query_dict({"options": schema_option}) \
            .render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def start(service: CaseService, name: str) -> str:
    return service.start_case(INCUBATION, {"name": name, "residents_need": "养老"},
                              actor=COMMITTEE, community=COMMUNITY).case.id


def test_a_backup_under_write_load_restores_everything_acknowledged_before_it(
        service: CaseService, engine: sa.Engine, restore_url: str, tmp_path: Path,
        clock: FrozenClock) -> None:
    # Given caseworkers starting and advancing cases without pause
    acknowledged: list[tuple[str, int, str]] = []  # (case, seq, hash) the service confirmed
    lock, stop = threading.Lock(), threading.Event()

    def caseworker(n: int) -> None:
        while not stop.is_set():
            case_id = start(service, f"组织{n}")
            result = service.fire(case_id, "select", input={"not_on_abnormal_lists": True},
                                  actor=COMMITTEE)
            with lock:
                acknowledged.append((case_id, 1, ""))
                acknowledged.append((case_id, result.case.event_count, result.case.head_hash))

    writers = [threading.Thread(target=caseworker, args=(n,)) for n in range(3)]
    for writer in writers:
        writer.start()
    try:
        while len(acknowledged) < 20:
            stop.wait(0.01)
        # When a backup begins while they go on
        with lock:
            before = list(acknowledged)
        manifest = take(engine, tmp_path / "backup.db", now=clock.now())
        with lock:
            during = len(acknowledged) - len(before)
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert during >= 0 and manifest.cases >= len(before) // 2

    # Then it restores, proving every chain and the checkpoint written at backup time
    restored = restore(tmp_path / "backup.db", restore_url, verify=verify)
    assert restored.checkpoint_digest == manifest.checkpoint_digest
    # and nothing acknowledged before the backup began is missing
    copy = make_engine(restore_url)
    try:
        with copy.connect() as connection:
            stored = {(r.case_id, r.seq): r.hash for r in connection.execute(
                sa.text("SELECT case_id, seq, hash FROM events"))}
        assert [a for a in before if (a[0], a[1]) not in stored] == []
        assert [a for a in before if a[2] and stored[(a[0], a[1])] != a[2]] == []
        assert verify(copy) == []
    finally:
        copy.dispose()


def test_the_checkpoint_digest_and_what_the_database_cannot_hold_are_written_beside_it(
        service: CaseService, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    start(service, "乐探")
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["backup", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    manifest = Manifest.from_json(manifest_path(tmp_path / "b.db").read_text("utf-8"))
    assert result.stdout.strip() == manifest.checkpoint_digest
    assert manifest.cases == 1 and manifest.operations.entries >= 0
    assert any("workflows folder" in item for item in manifest.outside_the_database)
    assert "not in the backup" in result.stderr
    audit = CliRunner().invoke(app, ["audit", "verify", "--checkpoint",
                                     str(tmp_path / "b.db.checkpoint.json"), "--digest",
                                     manifest.checkpoint_digest])
    assert audit.exit_code == 0, audit.output


@pytest.fixture
def backed_up(service: CaseService, engine: sa.Engine, tmp_path: Path,
              clock: FrozenClock) -> Path:
    for name in ("乐探", "青禾", "上古"):
        start(service, name)
    take(engine, tmp_path / "backup.db", now=clock.now())
    return tmp_path / "backup.db"


def test_a_truncated_backup_is_refused_and_restores_nothing(
        backed_up: Path, restore_url: str) -> None:
    data = backed_up.read_bytes()
    backed_up.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupRefused, match="truncated"):
        restore(backed_up, restore_url, verify=verify)
    if restore_url.startswith("sqlite"):
        assert not Path(make_url(restore_url).database or "").exists()


def test_an_edited_backup_is_refused_and_restores_nothing(
        backed_up: Path, restore_url: str) -> None:
    data = bytearray(backed_up.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backed_up.write_bytes(bytes(data))
    with pytest.raises(BackupRefused, match="edited or damaged"):
        restore(backed_up, restore_url, verify=verify)


def test_a_restore_whose_cases_do_not_match_the_checkpoint_is_refused(
        backed_up: Path, restore_url: str) -> None:
    # A checkpoint and manifest rewritten to fit each other (the backup file itself intact)
    # are not trusted: the proof after restoring compares the restored cases with them.
    checkpoint = backed_up.with_name("backup.db.checkpoint.json")
    forged = Checkpoint.from_json(checkpoint.read_bytes())
    case_id, (head, _) = next(iter(sorted(forged.heads.items())))
    forged = Checkpoint.take([(c, h, n) for c, (h, n) in forged.heads.items()
                              if c != case_id] + [(case_id, head, 2)], forged.taken_at)
    checkpoint.write_text(forged.to_json(), "utf-8")
    manifest = manifest_path(backed_up)
    kept = Manifest.from_json(manifest.read_text("utf-8"))
    manifest.write_text(replace(kept, checkpoint_digest=forged.digest).to_json(), "utf-8")
    with pytest.raises(BackupRefused, match="not those backed up"):
        restore(backed_up, restore_url, verify=verify)
    if restore_url.startswith("sqlite"):
        assert not Path(make_url(restore_url).database or "").exists()
    else:  # what the refused restore created is gone: a second attempt finds it empty
        with pytest.raises(BackupRefused, match="not those backed up"):
            restore(backed_up, restore_url, verify=verify)


def test_restore_refuses_a_database_that_is_not_empty(backed_up: Path, db_url: str) -> None:
    with pytest.raises(BackupRefused, match=r"not empty|already has tables"):
        restore(backed_up, db_url, verify=verify)


def test_the_command_line_restore_says_refused_in_one_line_with_exit_1(
        backed_up: Path, restore_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    backed_up.write_bytes(backed_up.read_bytes()[:100])
    result = CliRunner().invoke(app, ["restore", str(backed_up), "--to", restore_url])
    assert result.exit_code == 1
    assert result.stderr.startswith("refused: ") and len(result.stderr.splitlines()) == 1
    ok = CliRunner().invoke(app, ["restore", str(backed_up) + ".missing", "--to",
                                  restore_url])
    assert ok.exit_code == 1 and "does not exist" in ok.stderr
