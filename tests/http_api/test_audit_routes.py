"""The auditor's desk over real HTTP (SQLite and PostgreSQL): a case at an instant, the cases
in a state at an instant, exports, integrity proofs, stage statistics; scopes, masking and
bad input. And the query plans: the audit queries are answered from indexes."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.audit.history import history_until, in_state_query
from http_api.conftest import ID_NUMBER, PHONE, WORKFLOW, Api, start_case

AUDITOR = ["auditor"]


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def q(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def journey(api: Api, area: str) -> tuple[str, list[dict[str, Any]]]:
    """A case started with personal data, accepted; returns its id and its history."""
    community = f"{area}/one"
    with api.as_(["caseworker"], area) as client:
        case = start_case(client, community, phone=PHONE)["id"]
        fired = client.post(f"/cases/{case}/events",
                            json={"trigger": "accept", "input": {"id_number": ID_NUMBER}})
        assert fired.status_code == 200, fired.text
        history = client.get(f"/cases/{case}/history").json()
    return case, history


def test_state_at_replays_the_case_and_masks_without_pii(api: Api, area: str) -> None:
    case, history = journey(api, area)
    started, accepted = at(history[0]["at"]), at(history[1]["at"])
    with api.as_(AUDITOR, area) as auditor:
        before = auditor.get(f"/cases/{case}/state-at", params={"time": q(started)})
        assert before.status_code == 200, before.text
        body = before.json()
        assert body["state"] == "submitted" and body["entered_by"]["seq"] == 1
        assert body["data"]["phone"] != PHONE
        after = auditor.get(f"/cases/{case}/state-at",
                            params={"time": q(accepted + timedelta(seconds=1))}).json()
        assert after["state"] == "review" and after["event"]["trigger"] == "accept"
        assert after["workflow_version"] == "1.0.0"
        assert after["event"]["input"]["id_number"] != ID_NUMBER
        early = auditor.get(f"/cases/{case}/state-at",
                            params={"time": q(started - timedelta(days=1))})
        assert early.status_code == 404
        # it says the case had not begun yet, not that it does not exist
        assert early.json()["code"] == "case_not_yet_started"
        assert "did not exist yet" in early.json()["detail"]
        assert at(early.json()["began_at"]) == started
    with api.as_(AUDITOR, area, ("pii",)) as reader:
        clear = reader.get(f"/cases/{case}/state-at", params={"time": q(started)}).json()
        assert clear["data"]["phone"] == PHONE
    with api.as_(AUDITOR, "elsewhere/x") as stranger:
        assert stranger.get(f"/cases/{case}/state-at",
                            params={"time": q(started)}).status_code == 404


def test_states_at_lists_the_cases_in_scope_that_stood_in_the_state(api: Api,
                                                                    area: str) -> None:
    case, history = journey(api, area)
    started = at(history[0]["at"])
    with api.as_(AUDITOR, area) as auditor:
        then = auditor.get("/states-at", params={"workflow": WORKFLOW, "state": "submitted",
                                                 "time": q(started)})
        assert then.status_code == 200, then.text
        assert [row["case_id"] for row in then.json()["data"]] == [case]
        now = auditor.get("/states-at", params={
            "workflow": WORKFLOW, "state": "review",
            "time": q(datetime.now(UTC) + timedelta(minutes=1))}).json()
        assert [row["case_id"] for row in now["data"]] == [case]
        unknown = auditor.get("/states-at", params={"workflow": WORKFLOW, "state": "nowhere",
                                                    "time": q(started)})
        assert unknown.status_code == 404


def test_exports_cover_only_the_scope_with_a_trailer(api: Api, area: str) -> None:
    case, _ = journey(api, area)
    journey(api, area + "x")  # a neighbour outside the scope
    parent = area.rsplit("/", 1)[0]
    with api.as_(AUDITOR, area) as auditor:
        response = auditor.get("/audit/export", params={"format": "jsonl",
                                                        "community": parent, "trailer": True})
        assert response.status_code == 200, response.text
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert {row["case_id"] for row in lines[:-1]} == {case}
        assert lines[-1]["trailer"]["rows"] == 2
        assert ID_NUMBER not in response.text and PHONE not in response.text
        zh = auditor.get("/audit/export", params={"format": "csv", "lang": "zh"})
        assert zh.content.startswith("\ufeff".encode())
        assert zh.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(zh.content.decode("utf-8-sig"))))
        assert rows[0][0] == "事项编号" and len(rows) == 3  # no trailer unless asked for
        xlsx = auditor.get("/audit/export", params={"format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    with api.as_(AUDITOR, area, ("pii",)) as reader:
        assert PHONE in reader.get("/audit/export", params={"format": "jsonl"}).text


def test_an_exports_trailer_is_kept_in_the_operations_log(api: Api, area: str) -> None:
    case, _ = journey(api, area)
    name = f"aud{uuid.uuid4().hex[:8]}"
    with api.client(api.token(AUDITOR, area, name=name)) as auditor:
        exported = auditor.get("/audit/export", params={"format": "csv"})
        assert exported.status_code == 200
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        entries = auditor.get("/audit/operations", params={"actor": name,
                                                           "action": "export"}).json()
        kept = auditor.get("/audit/checkpoint").json()
    [entry] = entries["data"]
    assert entry["detail"]["rows"] == len(rows) - 1 == 2
    assert entry["detail"]["cases"] == 1 and entry["detail"]["complete"] is True
    assert entry["detail"]["trailer"] is False
    assert list(kept["heads"]) == [case]
    assert entry["detail"]["chain_head_digest"] == kept["digest"]


def test_verify_and_checkpoint_answer_for_the_scope(api: Api, area: str) -> None:
    case, _ = journey(api, area)
    with api.as_(AUDITOR, area) as auditor:
        whole = auditor.post("/audit/verify")
        assert whole.status_code == 200, whole.text
        assert whole.json()["intact"] is True and whole.json()["community"] == area
        one = auditor.post("/audit/verify", json={"case_id": case}).json()
        assert (one["scope"], one["intact"]) == ("case", True)
        kept = auditor.get("/audit/checkpoint").json()
        assert kept["case_count"] == 1 and case in kept["heads"]
    with api.as_(AUDITOR, "elsewhere/x") as stranger:
        assert stranger.post("/audit/verify", json={"case_id": case}).status_code == 404
        assert stranger.post("/audit/verify",
                             json={"community": area}).status_code == 403


def test_stage_statistics_count_the_cases_in_scope(api: Api, area: str) -> None:
    journey(api, area)
    with api.as_(AUDITOR, area, lang="zh") as auditor:
        response = auditor.get("/stats/stages", params={"workflow": WORKFLOW})
        assert response.status_code == 200, response.text
        states = {row["state"]: row for row in response.json()["states"]}
        assert states["review"]["in_now"] == 1
        assert states["submitted"]["completed"] == 1
        assert states["submitted"]["passed_through"] == 1


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/audit/export", {"since": "2026-05-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"},
     "until"),
    ("/stats/stages", {"workflow": WORKFLOW, "from": "2026-05-01", "to": "2026-04-01"}, "to"),
    ("/stats/stages", {"workflow": WORKFLOW, "from": "not-a-time"}, "from"),
    ("/states-at", {"workflow": WORKFLOW, "state": "review", "time": "2026-13-45"}, "time"),
    ("/audit/export", {"format": "pdf"}, "format"),
])
def test_bad_input_is_422_naming_the_parameter(api: Api, area: str, path: str,
                                               params: dict[str, str], field: str) -> None:
    with api.as_(AUDITOR, area) as auditor:
        response = auditor.get(path, params=params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


# -- query plans ---------------------------------------------------------------------------


def _plan(engine: sa.Engine, query: Any) -> str:
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "\n".join(str(row[-1]) for row in rows)
        connection.execute(sa.text("SET enable_seqscan = off"))
        rows = connection.execute(sa.text(f"EXPLAIN {compiled}")).all()
        return "\n".join(str(row[0]) for row in rows)


def _no_scan_of_events(plan: str, dialect: str) -> None:
    if dialect == "sqlite":
        assert "SCAN e\n" not in plan + "\n" and "SCAN events\n" not in plan + "\n", plan
        assert "SCAN later" not in plan, plan
    else:
        assert "Seq Scan on events" not in plan, plan


def _fill(engine: sa.Engine, cases: int = 60, per_case: int = 40) -> None:
    """Enough rows of varied values for the planners' statistics to mean something."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tables = sa.MetaData()
    tables.reflect(engine, only=["workflow_definitions", "cases", "events"])
    definitions, case_rows, event_rows = (tables.tables[n] for n in
                                          ("workflow_definitions", "cases", "events"))
    with engine.begin() as connection:
        for n in range(4):
            connection.execute(definitions.insert(), {
                "id": f"wf{n}", "version": "1.0.0", "content_hash": "0" * 64,
                "source_text": "", "loaded_at": start})
        connection.execute(case_rows.insert(), [{
            "id": f"c{n:04d}", "workflow_id": f"wf{n % 4}", "workflow_version": "1.0.0",
            "state": "s0", "status": "active", "data": {}, "version": 1,
            "community": f"d/s/c{n % 7}", "priority": 0.0, "overdue": False,
            "entered_at": start, "state_entries": {}, "head_hash": "0" * 64,
            "event_count": per_case, "created_at": start, "updated_at": start}
            for n in range(cases)])
        connection.execute(event_rows.insert(), [{
            "case_id": f"c{n:04d}", "seq": k + 1, "workflow_id": f"wf{n % 4}",
            "workflow_version": "1.0.0", "kind": "transition", "trigger": "t",
            "from_state": f"s{k % 9}", "to_state": f"s{(k + 1) % 9}",
            "actor": f"actor{(n + k) % 40}", "role": None, "input": {}, "changes": {},
            "comment": None, "at": start + timedelta(hours=n * 7 + k * 31),
            "prev_hash": "0" * 64, "hash": "0" * 64, "body": "{}"}
            for n in range(cases) for k in range(per_case)])
        connection.execute(sa.text("ANALYZE"))


def test_the_audit_queries_are_answered_from_indexes(engine: sa.Engine) -> None:
    dialect = engine.dialect.name
    _fill(engine)
    moment = datetime(2026, 1, 20, tzinfo=UTC)
    events = sa.table("events", sa.column("actor"), sa.column("at"), sa.column("seq"),
                      sa.column("case_id"))

    states = _plan(engine, in_state_query("wf1", ["s3"], moment))
    _no_scan_of_events(states, dialect)
    assert "ix_events_workflow_state_case" in states, states

    history = _plan(engine, history_until("c1", moment))
    _no_scan_of_events(history, dialect)

    by_actor = _plan(engine, sa.select(events.c.case_id, events.c.seq)
                     .where(events.c.actor == "actor7", events.c.at >= moment,
                            events.c.at < moment + timedelta(days=20))
                     .order_by(events.c.at))
    _no_scan_of_events(by_actor, dialect)
    assert "ix_events_actor_at" in by_actor, by_actor


def test_exports_and_verifications_are_kept_in_the_operations_log(api: Api, area: str) -> None:
    case, _ = journey(api, area)
    with api.as_(AUDITOR, area) as auditor:
        assert auditor.get("/audit/export", params={"format": "jsonl"}).status_code == 200
        assert auditor.post("/audit/verify", json={"case_id": case}).status_code == 200
        log = auditor.get("/audit/operations")
        assert log.status_code == 200, log.text
        entries = log.json()["data"]
        assert [e["action"] for e in entries][-2:] == ["export", "verify"]
        assert entries[-1]["target"] == case and entries[-1]["detail"]["intact"] is True
        assert all(e["community"] and e["community"].startswith(area) for e in entries)
    with api.as_(["caseworker"], area) as worker:
        assert worker.get("/audit/operations").status_code == 403
