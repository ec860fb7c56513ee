"""`hatchery audit verify|checkpoint`: the first broken link of each case by id and sequence,
exit 1 when anything is broken, checkpoint files that round-trip and catch a history
removed or rewritten before them; one-line errors, never a traceback. SQLite and
PostgreSQL (the append-only triggers are bypassed the way tests/test_audit_chain_store.py
does)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER
from test_audit_chain_store import cut_tail, grown_case, tampering
from typer.testing import CliRunner, Result

from cli.main import app
from engine.ledger.chain import GENESIS, canonical_json, event_hash
from engine.service import CaseService

runner = CliRunner()
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def audit(db_url: str, *args: str) -> Result:
    return runner.invoke(app, ["audit", *args],
                         env={"DATABASE_URL": db_url, "COLUMNS": "200"})


def one_line(result: Result) -> str:
    """The error of a failed command: exactly one line on standard error, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# -- verify --------------------------------------------------------------------------------


def test_an_intact_store_verifies_with_exit_0(service: CaseService, db_url: str) -> None:
    grown_case(service)
    grown_case(service, 0)
    result = audit(db_url, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2 case(s) verified: every history is intact"
    assert audit(db_url, "verify", "--lang", "zh").stdout.strip() == \
        "已核验 2 个事项：全部历史记录完整"


def test_an_edited_field_is_reported_by_case_and_sequence_with_exit_1(
        service: CaseService, engine: sa.Engine, db_url: str) -> None:
    intact, broken = grown_case(service), grown_case(service)
    with tampering(engine) as connection:
        connection.execute(sa.text(
            "UPDATE events SET actor = 'mallory' WHERE case_id = :c AND seq = 3"),
            {"c": broken})
    result = audit(db_url, "verify")
    assert result.exit_code == 1
    [line, summary] = result.stdout.strip().splitlines()
    assert line.startswith(f"BROKEN case {broken} at event 3: ")
    assert "'actor'" in line and line.endswith("[content_changed]")
    assert summary == "2 case(s) verified: 1 broken"
    assert audit(db_url, "verify", "--case", intact).exit_code == 0
    assert audit(db_url, "verify", "--case", broken).exit_code == 1


def test_a_deleted_event_is_reported_with_exit_1(
        service: CaseService, engine: sa.Engine, db_url: str) -> None:
    case_id = grown_case(service)
    with tampering(engine) as connection:
        connection.execute(sa.text("DELETE FROM events WHERE case_id = :c AND seq = 2"),
                           {"c": case_id})
    result = audit(db_url, "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["intact"] is False
    assert report["breaks"] == [{"case_id": case_id, "seq": 2, "reason": "seq_gap",
                                 "message": report["breaks"][0]["message"]}]


def test_verify_of_a_case_that_does_not_exist_is_not_found(
        service: CaseService, db_url: str) -> None:
    grown_case(service, 0)
    result = audit(db_url, "verify", "--case", "nope")
    assert result.exit_code == 1
    assert one_line(result) == "not found: case 'nope'"


# -- checkpoints -----------------------------------------------------------------------------


def test_a_checkpoint_file_round_trips_and_allows_later_events(
        service: CaseService, db_url: str, tmp_path: Path) -> None:
    first, _ = grown_case(service), grown_case(service, 1)
    kept = tmp_path / "cp.json"
    taken = audit(db_url, "checkpoint", "--output", str(kept))
    assert taken.exit_code == 0, taken.output
    digest = taken.stdout.strip()
    assert HEX64.match(digest)
    assert "2 case(s)" in taken.stderr and str(kept) in taken.stderr
    document = json.loads(kept.read_text(encoding="utf-8"))
    assert (document["digest"], document["case_count"]) == (digest, 2)
    service.fire(first, "grow", input={"by": 1}, actor=CASEWORKER)
    grown_case(service, 0)
    result = audit(db_url, "verify", "--checkpoint", str(kept), "--digest", digest.upper())
    assert result.exit_code == 0, result.output
    assert f"checkpoint {digest} of 2 case(s)" in result.stdout
    assert "3 case(s) verified: every history is intact" in result.stdout


def test_a_history_cut_short_before_the_checkpoint_is_caught(
        service: CaseService, engine: sa.Engine, db_url: str, tmp_path: Path) -> None:
    case_id = grown_case(service)
    kept = tmp_path / "cp.json"
    assert audit(db_url, "checkpoint", "-o", str(kept)).exit_code == 0
    with tampering(engine) as connection:  # the tail and the case row, consistently
        cut_tail(connection, case_id, keep=3)
    assert audit(db_url, "verify").exit_code == 0  # the chain alone cannot tell
    result = audit(db_url, "verify", "--checkpoint", str(kept))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"BROKEN case {case_id} at event 4: ")
    assert "[checkpoint_events_missing]" in result.stdout


def test_a_history_rewritten_end_to_end_is_caught_by_the_checkpoint(
        service: CaseService, engine: sa.Engine, db_url: str, tmp_path: Path) -> None:
    case_id = grown_case(service, 1)
    kept = tmp_path / "cp.json"
    assert audit(db_url, "checkpoint", "-o", str(kept)).exit_code == 0
    with tampering(engine) as connection:
        rows = connection.execute(sa.text(
            "SELECT seq, body FROM events WHERE case_id = :c ORDER BY seq"),
            {"c": case_id}).all()
        prev = GENESIS
        for seq, text in rows:
            body = json.loads(text)
            body["actor"] = "mallory"
            digest = event_hash(prev, body)
            connection.execute(sa.text(
                "UPDATE events SET actor = :a, body = :b, prev_hash = :p, hash = :h "
                "WHERE case_id = :c AND seq = :s"),
                {"a": "mallory", "b": canonical_json(body).decode(), "p": prev,
                 "h": digest, "c": case_id, "s": seq})
            prev = digest
        connection.execute(sa.text("UPDATE cases SET head_hash = :h WHERE id = :c"),
                           {"h": prev, "c": case_id})
    result = audit(db_url, "verify", "--checkpoint", str(kept))
    assert result.exit_code == 1
    assert f"BROKEN case {case_id} at event 2" in result.stdout
    assert "[checkpoint_rewritten]" in result.stdout


def test_an_altered_or_replaced_checkpoint_file_is_caught(
        service: CaseService, db_url: str, tmp_path: Path) -> None:
    grown_case(service)
    kept = tmp_path / "cp.json"
    digest = audit(db_url, "checkpoint", "-o", str(kept)).stdout.strip()
    document = json.loads(kept.read_text(encoding="utf-8"))
    [entry] = document["heads"].values()
    entry["event_count"] = 1
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(document), encoding="utf-8")
    result = audit(db_url, "verify", "--checkpoint", str(altered))
    assert result.exit_code == 1
    assert result.stdout.startswith("BROKEN checkpoint: ")
    assert "[checkpoint_digest_mismatch]" in result.stdout
    wrong = audit(db_url, "verify", "--checkpoint", str(kept), "--digest", "0" * 64)
    assert wrong.exit_code == 1 and "not the digest kept by the auditor" in wrong.stdout
    assert audit(db_url, "verify", "--checkpoint", str(kept), "--digest",
                 digest).exit_code == 0


def test_an_earlier_checkpoint_is_not_overwritten_unless_forced(
        service: CaseService, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    grown_case(service, 0)
    monkeypatch.chdir(tmp_path)
    first = audit(db_url, "checkpoint")
    assert first.exit_code == 0, first.output
    [written] = tmp_path.glob("hatchery-checkpoint-*.json")
    before = written.read_text(encoding="utf-8")
    again = audit(db_url, "checkpoint", "-o", written.name)
    assert again.exit_code == 2
    assert "exists" in one_line(again)
    assert written.read_text(encoding="utf-8") == before
    assert audit(db_url, "checkpoint", "-o", written.name, "--force").exit_code == 0


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot read the checkpoint file"),
    ("{not json", "not valid JSON"),
    ('{"format": "something else"}', "not a Hatchery checkpoint"),
])
def test_an_unreadable_checkpoint_file_is_one_line_with_exit_2(
        service: CaseService, db_url: str, tmp_path: Path, content: str | None,
        words: str) -> None:
    grown_case(service, 0)
    path = tmp_path / "cp.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = audit(db_url, "verify", "--checkpoint", str(path))
    assert result.exit_code == 2
    assert words in one_line(result)


# -- the database itself ---------------------------------------------------------------------


def test_a_missing_or_corrupt_database_is_one_line_with_exit_2(tmp_path: Path) -> None:
    missing = audit(f"sqlite:///{tmp_path / 'none.db'}", "verify")
    assert missing.exit_code == 2
    assert "there is no database at" in one_line(missing)
    assert not (tmp_path / "none.db").exists()
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database at all " * 200)
    for command in (("verify",), ("checkpoint", "-o", str(tmp_path / "cp.json"))):
        result = audit(f"sqlite:///{corrupt}", *command)
        assert result.exit_code == 2
        assert "corrupt or not a SQLite database" in one_line(result)


def test_hatchery_audit_verify_runs_as_a_real_command(
        service: CaseService, engine: sa.Engine, db_url: str) -> None:
    case_id = grown_case(service, 1)
    command = [str(Path(sys.executable).parent / "hatchery"), "audit", "verify"]
    environment = {"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url,
                   "HATCHERY_DATA_DIR": os.environ["HATCHERY_DATA_DIR"]}
    intact = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            check=False, env=environment)
    assert (intact.returncode, intact.stdout.strip()) == (
        0, "1 case(s) verified: every history is intact"), intact.stderr
    with tampering(engine) as connection:
        connection.execute(sa.text("DELETE FROM events WHERE case_id = :c AND seq = 2"),
                           {"c": case_id})
    broken = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            check=False, env=environment)
    assert broken.returncode == 1
    assert f"BROKEN case {case_id} at event 2" in broken.stdout


def test_verify_against_a_checkpoint_reports_every_case_cut_short_not_only_the_first(
        service: CaseService, engine: sa.Engine, db_url: str, tmp_path: Path) -> None:
    cases = sorted(grown_case(service) for _ in range(3))
    kept = tmp_path / "cp.json"
    assert audit(db_url, "checkpoint", "-o", str(kept)).exit_code == 0
    with tampering(engine) as connection:
        for case_id in cases[:2]:
            cut_tail(connection, case_id, keep=3)
    result = audit(db_url, "verify", "--checkpoint", str(kept), "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)["checkpoint"]["breaks"]
    assert [(b["case_id"], b["reason"]) for b in found] == [
        (case_id, "checkpoint_events_missing") for case_id in cases[:2]]
