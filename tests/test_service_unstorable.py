"""The service itself refuses what nothing can store or hash: NUL and lone surrogates (a
command-line argument that is not UTF-8 arrives as one) in a comment, an input, an id, the
actor or the idempotency key, from any interface, with the field named and nothing
written or logged (SQLite and PostgreSQL; the HTTP edge refuses them before, see
tests/http_api/test_hostile_input.py)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, store_snapshot
from test_audit_chain_store import grown_case
from test_cli_case import COMMITTEE_ARGS, case, started
from test_service import INCUBATION

from engine.audit import verify as audit
from engine.core.snapshot import Actor
from engine.errors import Refused
from engine.service import CaseService
from engine.store.operations import list_operations


def _refused_field(call: object) -> tuple[str, str, str]:
    with pytest.raises(Refused) as refused:
        call()  # type: ignore[operator]
    error = refused.value.refusal
    [problem] = error.details["errors"]
    return error.code, problem["field"], problem["code"]


@pytest.mark.parametrize(("bad", "code"), [("a\x00b", "nul_character"),
                                           ("\udcff", "lone_surrogate"),
                                           ("x\ud800y", "lone_surrogate")])
def test_a_comment_nothing_can_store_is_refused_by_the_service(
        service: CaseService, engine: sa.Engine, bad: str, code: str) -> None:
    case_id = grown_case(service, 1)
    before, logged = store_snapshot(engine), list_operations(engine)[0]
    assert _refused_field(lambda: service.fire(case_id, "grow", input={"by": 1},
                                               comment=bad, actor=CASEWORKER)) == (
        "input_invalid", "comment", code)
    assert store_snapshot(engine) == before
    assert list_operations(engine)[0] == logged
    assert audit.verify(engine) == []


def test_input_ids_actor_and_key_are_checked_too(service: CaseService) -> None:
    case_id = grown_case(service, 1)
    assert _refused_field(lambda: service.fire(case_id, "grow", input={"by": 1, "n\x00": 2},
                                               actor=CASEWORKER))[1:] == (
        "input.n\\u0000", "nul_character")
    assert _refused_field(lambda: service.fire(case_id + "\x00", "grow", input={"by": 1},
                                               actor=CASEWORKER))[1] == "case_id"
    assert _refused_field(lambda: service.fire(
        case_id, "grow", input={"by": 1},
        actor=Actor("wang\udcff", CASEWORKER.roles)))[1] == "actor"
    assert _refused_field(lambda: service.fire(case_id, "grow", input={"by": 1},
                                               actor=CASEWORKER,
                                               idempotency_key="k\x00"))[1] == (
        "idempotency_key")
    assert _refused_field(lambda: service.fire(case_id, "grow", input={"by": 2**70},
                                               actor=CASEWORKER))[1:] == (
        "input.by", "integer_too_large")


def test_the_command_line_refuses_a_comment_that_is_not_utf8(db_url: str) -> None:
    found = started(db_url)
    # What Python makes of the argument bytes b"\xff" (surrogateescape).
    result = case(db_url, "fire", found["id"], "select", "--input",
                  '{"not_on_abnormal_lists": true}', "--comment", "\udcff", *COMMITTEE_ARGS)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "comment" in result.output
    shown = case(db_url, "show", found["id"], "--json")
    assert shown.exit_code == 0, shown.output
    assert [e["trigger"] for e in json.loads(shown.stdout)["history"]] == [None]


def test_a_community_nothing_can_store_is_refused_before_its_path_is_judged(
        service: CaseService, engine: sa.Engine) -> None:
    before = store_snapshot(engine)
    assert _refused_field(lambda: service.start_case(
        INCUBATION, {"name": "x", "residents_need": "y"}, actor=COMMITTEE, community="a\x00b")) == (
        "input_invalid", "community", "nul_character")
    assert store_snapshot(engine) == before
