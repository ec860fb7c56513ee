"""Definition versions: the shipped workflows register a new version only when changed, a case
stays on the version it started with, and an operator moves running cases to a newer version
(`CaseService.migrate_case`, `hatchery migrate plan|apply`) with a recorded migration event;
cases that cannot move stay untouched. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY, START, store_snapshot
from typer.testing import CliRunner, Result

from cli.main import app
from engine.audit import verify as audit
from engine.clock import FrozenClock
from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.core.decision import Actor
from engine.core.migration import plan_case
from engine.definitions.loader import load_text
from engine.definitions.registry import WorkflowRegistry
from engine.errors import Conflict, Refused
from engine.service import CaseService, build_service
from engine.settings import PROJECT_ROOT, Settings
from engine.store import repository
from engine.store.db import read_connection
from engine.store.operations import list_operations

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "migrate"
V1 = FIXTURES / "migrate_org_v1.yaml"
V2 = FIXTURES / "migrate_org_v2.yaml"
DESIGNER = Actor("zhou.designer", frozenset({"designer"}))
WF = "migrate_org"


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A workflows folder that holds the first version only."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(V1, folder)
    return folder


@pytest.fixture
def migrating(engine: sa.Engine, clock: FrozenClock, shipped: Path) -> CaseService:
    registry = WorkflowRegistry(engine, clock)
    registry.sync_directory(shipped)
    return CaseService(engine, registry, clock)


def ship_v2(service: CaseService, shipped: Path) -> None:
    shutil.copy(V2, shipped)
    service.registry.sync_directory(shipped)


def start(service: CaseService, name: str = "A", **data: Any) -> str:
    return service.start_case(WF, {"name": name, **data}, actor=COMMITTEE,
                              community=COMMUNITY).case.id


def timers(engine: sa.Engine, case_id: str) -> list[tuple[str, str]]:
    with read_connection(engine) as connection:
        rows = repository.timers_of(connection, case_id)
    return [(r["timer_id"], r["status"]) for r in rows]


def compiled(text: str) -> CompiledWorkflow:
    result = load_text(text, "inline.yaml")
    assert result.spec is not None, [d.format() for d in result.diagnostics]
    return compile_workflow(result.spec, text)


# -- registering the shipped workflows --------------------------------------------------------


def test_loading_unchanged_workflows_again_registers_nothing(
        migrating: CaseService, shipped: Path, clock: FrozenClock) -> None:
    [first] = migrating.registry.versions(WF)
    clock.advance(timedelta(days=1))
    assert migrating.registry.sync_directory(shipped) == []
    assert migrating.registry.versions(WF) == [first]


def test_a_new_version_registers_and_running_cases_stay_on_the_one_they_started_with(
        migrating: CaseService, shipped: Path) -> None:
    old = start(migrating)
    shutil.copy(V2, shipped)
    [added] = migrating.registry.sync_directory(shipped)
    assert (added.id, added.version) == (WF, "2.0.0")
    # `archive` exists in 1.0.0 only: the old case still runs on 1.0.0's rules.
    archived = migrating.fire(old, "archive", actor=CASEWORKER).case
    assert (archived.workflow_version, archived.state) == ("1.0.0", "archived")
    new = migrating.get_case(start(migrating))
    assert (new.workflow_version, new.data["district"]) == ("2.0.0", "cangshan")


def test_a_changed_text_under_a_registered_version_is_refused(
        migrating: CaseService, shipped: Path) -> None:
    edited = V1.read_text(encoding="utf-8").replace("Migration test organization",
                                                    "Edited without a new version")
    (shipped / "migrate_org_v1.yaml").write_text(edited, encoding="utf-8")
    assert migrating.registry.sync_directory(shipped) == []
    [rejected] = migrating.registry.rejected.values()
    assert [d.code for d in rejected.diagnostics] == ["version_changed"]
    assert "raise the version" in rejected.diagnostics[0].message
    assert [d.version for d in migrating.registry.versions(WF)] == ["1.0.0"]
    assert migrating.registry.get(WF, "1.0.0").spec.title != "Edited without a new version"


def test_the_service_at_start_registers_a_new_version_once_and_keeps_cases_on_theirs(
        tmp_path: Path, shipped: Path, clock: FrozenClock) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'start.db'}",
                        HATCHERY_WORKFLOWS_DIR=shipped)
    first = build_service(settings, clock)
    case_id = start(first)
    first.engine.dispose()
    shutil.copy(V2, shipped)
    for _ in range(2):
        again = build_service(settings, clock)
        assert [d.version for d in again.registry.versions(WF)] == ["1.0.0", "2.0.0"]
        assert again.get_case(case_id).workflow_version == "1.0.0"
        again.engine.dispose()


# -- planning (pure) --------------------------------------------------------------------------


V2_TEXT = V2.read_text(encoding="utf-8")


def test_a_state_of_the_same_name_moves_as_it_is_and_new_defaults_are_filled_in() -> None:
    move = plan_case("c1", "1.0.0", "applied", {"name": "A", "size": 3}, compiled(V2_TEXT))
    assert move.movable and (move.to_state, move.mapped) == ("applied", False)
    assert move.data == {"name": "A", "size": 3, "district": "cangshan"}


def test_the_mapping_of_the_new_version_moves_a_renamed_state() -> None:
    move = plan_case("c1", "1.0.0", "evaluation", {"name": "A"}, compiled(V2_TEXT))
    assert move.movable and (move.to_state, move.mapped) == ("final_evaluation", True)


def test_a_state_gone_without_a_mapping_cannot_move() -> None:
    move = plan_case("c1", "1.0.0", "archived", {"name": "A"}, compiled(V2_TEXT))
    assert not move.movable and move.to_state is None
    assert [p.code for p in move.problems] == ["state_missing"]
    assert "archived" in move.reasons("en") and "archived" in move.reasons("zh")


def test_fields_must_exist_and_fit_in_the_new_version() -> None:
    move = plan_case("c1", "1.0.0", "applied",
                     {"name": "A", "size": 150, "legacy_note": "kept on paper"},
                     compiled(V2_TEXT))
    assert sorted((p.code, p.field) for p in move.problems) == [
        ("field_invalid", "size"), ("field_missing", "legacy_note")]
    required = V2_TEXT.replace("district: {type: string, default: cangshan}",
                               "district: {type: string, required: true}")
    move = plan_case("c1", "1.0.0", "applied", {"name": "A"}, compiled(required))
    assert [(p.code, p.field) for p in move.problems] == [("field_required", "district")]


def test_a_case_moves_only_forward_and_never_into_a_final_state() -> None:
    v2 = compiled(V2_TEXT)
    assert [p.code for p in plan_case("c1", "2.0.0", "applied", {"name": "A"},
                                      v2).problems] == ["not_newer"]
    closing = V2_TEXT.replace('evaluation: final_evaluation', 'evaluation: done')
    move = plan_case("c1", "1.0.0", "evaluation", {"name": "A"}, compiled(closing))
    assert [p.code for p in move.problems] == ["final_state"]


# -- moving one case (the one door) ----------------------------------------------------------


def test_a_case_moves_with_a_migration_event_chained_into_its_history(
        migrating: CaseService, shipped: Path, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(migrating, size=3)
    reply_before = timers(engine, case_id)
    ship_v2(migrating, shipped)
    clock.advance(timedelta(hours=2))
    result = migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER, comment="rules of 2026")
    case, event = result.case, result.event
    assert (case.workflow_version, case.state, case.version, case.event_count) == (
        "2.0.0", "applied", 2, 2)
    assert case.data == {"name": "A", "size": 3, "district": "cangshan"}
    assert case.entered_at == START  # same state: the same entry
    assert (event.kind, event.seq, event.from_state, event.to_state) == (
        "migration", 2, "applied", "applied")
    assert (event.workflow_version, event.actor, event.role, event.comment) == (
        "2.0.0", DESIGNER.id, "designer", "rules of 2026")
    assert event.input == {"from_version": "1.0.0", "to_version": "2.0.0", "mapped": False}
    assert event.changes == {"district": "cangshan"}
    assert event.prev_hash == migrating.history(case_id)[0].hash
    assert timers(engine, case_id) == reply_before == [("reply", "pending")]
    assert audit.verify(engine) == []


def test_a_renamed_state_is_entered_afresh_with_its_timers(
        migrating: CaseService, shipped: Path, engine: sa.Engine, clock: FrozenClock) -> None:
    case_id = start(migrating)
    migrating.fire(case_id, "accept", actor=CASEWORKER)
    migrating.fire(case_id, "evaluate", actor=CASEWORKER)
    ship_v2(migrating, shipped)
    clock.advance(timedelta(days=1))
    result = migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER)
    assert (result.case.state, result.case.entered_at) == ("final_evaluation", clock.now())
    assert (result.event.from_state, result.event.to_state) == ("evaluation",
                                                                "final_evaluation")
    assert result.event.input["mapped"] is True
    assert ("decide_by", "pending") in timers(engine, case_id)
    finished = migrating.fire(case_id, "finish", actor=CASEWORKER).case
    assert (finished.state, finished.workflow_version) == ("done", "2.0.0")
    assert audit.verify(engine) == []


def test_staying_in_a_state_keeps_its_ticks_and_cancels_timers_the_new_version_lacks(
        migrating: CaseService, shipped: Path, engine: sa.Engine) -> None:
    case_id = start(migrating)
    migrating.fire(case_id, "accept", actor=CASEWORKER)
    migrating.tick(case_id, "venue", evidence="community hall", actor=CASEWORKER)
    assert ("review_due", "pending") in timers(engine, case_id)
    ship_v2(migrating, shipped)
    case = migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER).case
    assert case.checklist["venue"]["ticked"] and case.checklist["venue"]["evidence"] == \
        "community hall"
    assert not case.checklist["plan"]["ticked"]
    assert ("review_due", "cancelled") in timers(engine, case_id)
    assert not [t for t in timers(engine, case_id) if t[1] == "pending"]


def test_a_case_whose_state_vanished_is_refused_and_left_untouched(
        migrating: CaseService, shipped: Path, engine: sa.Engine) -> None:
    case_id = start(migrating)
    migrating.fire(case_id, "archive", actor=CASEWORKER)
    ship_v2(migrating, shipped)
    before = store_snapshot(engine)
    with pytest.raises(Refused) as refused:
        migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER)
    assert refused.value.refusal.code == "migration_blocked"
    assert [p["code"] for p in refused.value.refusal.details["problems"]] == ["state_missing"]
    assert store_snapshot(engine) == before


def test_data_that_does_not_fit_the_new_version_blocks_the_move(
        migrating: CaseService, shipped: Path, engine: sa.Engine) -> None:
    case_id = start(migrating, legacy_note="on paper")
    ship_v2(migrating, shipped)
    before = store_snapshot(engine)
    with pytest.raises(Refused, match="legacy_note"):
        migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER)
    assert store_snapshot(engine) == before


@pytest.mark.parametrize("who", [CASEWORKER, COMMITTEE])
def test_only_a_designer_or_an_admin_migrates(
        migrating: CaseService, shipped: Path, engine: sa.Engine, who: Actor) -> None:
    case_id = start(migrating)
    ship_v2(migrating, shipped)
    before = store_snapshot(engine)
    with pytest.raises(Refused) as refused:
        migrating.migrate_case(case_id, "2.0.0", actor=who)
    assert refused.value.refusal.code == "role_missing"
    assert store_snapshot(engine) == before
    admin = Actor("root", frozenset({"admin"}))
    assert migrating.migrate_case(case_id, "2.0.0", actor=admin).event.role == "admin"


def test_closed_cases_and_stale_versions_are_refused(
        migrating: CaseService, shipped: Path) -> None:
    closed = start(migrating)
    for trigger in ("accept", "evaluate", "finish"):
        migrating.fire(closed, trigger, actor=CASEWORKER)
    live = start(migrating)
    ship_v2(migrating, shipped)
    with pytest.raises(Refused) as refused:
        migrating.migrate_case(closed, "2.0.0", actor=DESIGNER)
    assert refused.value.refusal.code == "case_closed"
    with pytest.raises(Conflict):
        migrating.migrate_case(live, "2.0.0", actor=DESIGNER, expected_version=7)


def test_the_new_versions_automatic_transitions_follow_the_move(
        migrating: CaseService, shipped: Path, engine: sa.Engine) -> None:
    case_id = start(migrating, size=60)
    migrating.fire(case_id, "accept", actor=CASEWORKER)
    migrating.fire(case_id, "evaluate", actor=CASEWORKER)
    ship_v2(migrating, shipped)
    result = migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER)
    assert [(e.kind, e.trigger) for e in result.automatic] == [("transition", "close_large")]
    assert (result.case.state, result.case.status) == ("done", "closed")
    assert not [t for t in timers(engine, case_id) if t[1] == "pending"]
    assert audit.verify(engine) == []


def test_a_suspended_case_moves_and_its_new_timers_wait_for_the_resume(
        migrating: CaseService, shipped: Path, engine: sa.Engine) -> None:
    case_id = start(migrating)
    migrating.fire(case_id, "accept", actor=CASEWORKER)
    migrating.fire(case_id, "evaluate", actor=CASEWORKER)
    migrating.suspend(case_id, actor=COMMITTEE, reason="inspection")
    ship_v2(migrating, shipped)
    case = migrating.migrate_case(case_id, "2.0.0", actor=DESIGNER).case
    assert (case.state, case.status) == ("final_evaluation", "suspended")
    assert ("decide_by", "paused") in timers(engine, case_id)
    migrating.resume(case_id, actor=COMMITTEE)
    assert ("decide_by", "pending") in timers(engine, case_id)


# -- hatchery migrate plan|apply ---------------------------------------------------------------


runner = CliRunner()


def cli(db_url: str, shipped: Path, *args: str) -> Result:
    return runner.invoke(app, ["migrate", *args], env={
        "DATABASE_URL": db_url, "HATCHERY_WORKFLOWS_DIR": str(shipped), "COLUMNS": "200",
        "HATCHERY_ACTOR": ""})


@pytest.fixture
def population(migrating: CaseService, shipped: Path) -> dict[str, str]:
    """Cases of 1.0.0 in every situation, then 2.0.0 shipped."""
    cases = {"applied": start(migrating, "Applied"), "review": start(migrating, "Review"),
             "evaluation": start(migrating, "Evaluation"),
             "archived": start(migrating, "Archived"), "done": start(migrating, "Done")}
    migrating.fire(cases["review"], "accept", actor=CASEWORKER)
    for trigger in ("accept", "evaluate"):
        migrating.fire(cases["evaluation"], trigger, actor=CASEWORKER)
    migrating.fire(cases["archived"], "archive", actor=CASEWORKER)
    for trigger in ("accept", "evaluate", "finish"):
        migrating.fire(cases["done"], trigger, actor=CASEWORKER)
    shutil.copy(V2, shipped)
    return cases


def test_plan_lists_every_live_case_with_where_it_goes_or_why_not(
        db_url: str, shipped: Path, population: dict[str, str], engine: sa.Engine) -> None:
    before = store_snapshot(engine)
    result = cli(db_url, shipped, "plan", WF, "--to", "2.0.0", "--json")
    assert result.exit_code == 1, result.output
    plan = json.loads(result.stdout)
    rows = {r["case_id"]: r for r in plan["cases"]}
    assert population["done"] not in rows  # closed: not live
    assert {rows[population[k]]["to_state"] for k in ("applied", "review", "evaluation")} == {
        "applied", "review", "final_evaluation"}
    assert [rows[population[k]]["movable"] for k in ("applied", "review", "evaluation",
                                                     "archived")] == [True, True, True, False]
    assert rows[population["archived"]]["problems"][0]["code"] == "state_missing"
    assert store_snapshot(engine)["events"] == before["events"]  # a plan writes no event
    table = cli(db_url, shipped, "plan", WF, "--to", "2.0.0")
    assert "3 of 4 live case(s) can move" in table.stdout
    assert "archived" in table.stdout and "final_evaluation (mapped)" in table.stdout


def test_apply_moves_those_that_can_and_leaves_the_others_untouched(
        db_url: str, shipped: Path, population: dict[str, str], migrating: CaseService,
        engine: sa.Engine) -> None:
    stuck_before = migrating.get_case(population["archived"])
    result = cli(db_url, shipped, "apply", WF, "--to", "2.0.0", "--actor", "zhou",
                 "--role", "designer", "--comment", "2026 rules")
    assert result.exit_code == 1, result.output
    assert "3 of 4 live case(s) moved" in result.stdout
    for key in ("applied", "review", "evaluation"):
        case = migrating.get_case(population[key])
        assert case.workflow_version == "2.0.0"
        last = migrating.history(population[key])[-1]
        assert (last.kind, last.actor, last.comment) == ("migration", "zhou", "2026 rules")
    stuck = migrating.get_case(population["archived"])
    assert (stuck.workflow_version, stuck.state, stuck.version, stuck.head_hash) == (
        stuck_before.workflow_version, stuck_before.state, stuck_before.version,
        stuck_before.head_hash)
    assert migrating.get_case(population["done"]).workflow_version == "1.0.0"
    assert audit.verify(engine) == []
    again = cli(db_url, shipped, "apply", WF, "--to", "2.0.0", "--actor", "zhou",
                "--role", "designer")
    assert "3 case(s) already on 2.0.0" in again.stdout
    assert again.exit_code == 1  # the archived case still cannot move


def test_apply_is_recorded_in_the_operations_log(
        db_url: str, shipped: Path, population: dict[str, str], engine: sa.Engine) -> None:
    cli(db_url, shipped, "apply", WF, "--to", "2.0.0", "--actor", "zhou", "--role", "designer")
    entries, _ = list_operations(engine, action="migration")
    assert [(e.actor, e.target, e.outcome) for e in entries] == [("zhou", WF, "refused")]
    assert sorted(entries[0].detail["moved"]) == sorted(
        population[k] for k in ("applied", "review", "evaluation"))
    assert entries[0].detail["stayed"] == [population["archived"]]


def test_apply_to_one_case_and_refusals_in_one_line(
        db_url: str, shipped: Path, population: dict[str, str], migrating: CaseService
) -> None:
    one = cli(db_url, shipped, "apply", population["review"], "--to", "2.0.0", "--actor",
              "zhou", "--role", "designer", "--lang", "zh")
    assert one.exit_code == 0, one.output
    assert migrating.get_case(population["review"]).workflow_version == "2.0.0"
    assert migrating.get_case(population["applied"]).workflow_version == "1.0.0"
    forbidden = cli(db_url, shipped, "apply", population["applied"], "--to", "2.0.0",
                    "--actor", "wang", "--role", "caseworker")
    assert forbidden.exit_code == 1 and "admin, designer" in forbidden.stdout
    assert migrating.get_case(population["applied"]).workflow_version == "1.0.0"
    for args, words in ((("plan", "nothing-like-this", "--to", "2.0.0"),
                         "not found: case or workflow 'nothing-like-this'"),
                        (("plan", WF, "--to", "9.9.9"),
                         "not found: workflow version 'migrate_org@9.9.9'"),
                        (("apply", WF, "--to", "2.0.0"), "--actor is required")):
        failed = cli(db_url, shipped, *args)
        assert failed.exit_code in (1, 2) and failed.stderr.strip().count("\n") == 0
        assert words in failed.stderr


def test_hatchery_migrate_plan_runs_as_a_real_command(
        db_url: str, shipped: Path, population: dict[str, str]) -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "hatchery"), "migrate", "plan", WF, "--to",
         "2.0.0", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url,
             "HATCHERY_WORKFLOWS_DIR": str(shipped)})
    assert completed.returncode == 1, completed.stderr
    assert len(json.loads(completed.stdout)["cases"]) == 4
