"""What a Chinese caseworker reads is words, never codes: enumerated values by their
titles (in the forms and on the record's page), a quoted title inside quotes with single
quotes, a step that stays in its stage said so, a timer's note as the deadline's title
and time."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from api.console.history import comment_of, what_of
from api.console.i18n import text
from api.console.reading import Reading
from console.conftest import COMMUNITY, Console
from engine.core.decision import Actor
from engine.service.firing import _comment

COMMITTEE = Actor("seed.committee", frozenset({"party_committee", "branch"}))


def test_an_enumerated_field_offers_and_shows_its_values_by_their_titles(
        console: Console) -> None:
    client = console.signed_in(console.person(roles=("caseworker", "party_committee",
                                                     "branch")))
    form = client.get("/cases/new/membership_transfer").text
    assert '<option value="full_member"' in form and ">正式党员</option>" in form
    case_id = console.app.state.service.start_case("membership_transfer", {
        "name": "党员乙", "birth_date": "1985-01-01", "status_on_arrival": "probationary",
        "joined_on": "2025-07-01", "from_organization": "原单位党支部",
        "letter_number": "转〔2026〕2号", "letter_issued_on": "2026-01-05"},
        actor=COMMITTEE, community=COMMUNITY).case.id
    page = client.get(f"/cases/{case_id}").text
    assert "预备党员" in page and ">probationary<" not in page


def test_a_title_with_quotes_is_quoted_with_single_quotes_inside() -> None:
    assert text("case.fill_in", "zh", what="“四个一”逾期未落实") == "填写并办理“‘四个一’逾期未落实”"


def _reading(console: Console) -> Reading:
    principal = console.users.list()[0].principal
    return Reading(console.app.state.service, console.app.state.presenter, principal, "zh")


def test_a_timers_note_reads_as_its_deadline_and_time(console: Console) -> None:
    console.person()
    wf = console.app.state.service.registry.get("social_org_incubation")
    due = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    note = _comment({"state": "selection", "timer_id": "reply_due", "id": 7, "due_at": due})
    event = SimpleNamespace(comment=note, actor="system:timer")
    assert comment_of(_reading(console), wf, event) == (
        "期限“入驻申请答复期限”已到（2026年3月9日 09:00）")


def test_a_step_that_stays_in_its_stage_says_so(console: Console) -> None:
    console.person()
    wf = console.app.state.service.registry.get("social_org_incubation")
    event = SimpleNamespace(kind="transition", trigger="record_delivery",
                            from_state="cultivation", to_state="cultivation")
    assert what_of(_reading(console), wf, event)[1] == "仍在“社会组织培育”阶段"


def test_a_record_named_by_another_shows_by_its_title_not_its_id(console: Console) -> None:
    service = console.app.state.service
    party = service.start_case("party_organization", {"name": "金州社区联合党支部"},
                               actor=COMMITTEE, community=COMMUNITY).case.id
    record = service.start_case("social_org_incubation", {
        "name": "有党组织的组织", "residents_need": "助老", "party_organization": party},
        actor=COMMITTEE, community=COMMUNITY).case.id
    page = console.signed_in(console.person()).get(f"/cases/{record}").text
    assert "<dd>金州社区联合党支部</dd>" in page and party not in page


def test_a_list_of_enumerated_values_reads_by_their_titles(console: Console) -> None:
    from engine.definitions.loader import load_file
    from engine.settings import PROJECT_ROOT

    console.person()
    loaded = load_file(PROJECT_ROOT / "workflows" / "committee_election.yaml")
    assert loaded.spec is not None
    spec = loaded.spec.fields["sources_recommended"]
    assert _reading(console).shown(spec, ["residents", "party_members"]) == "居民推荐、党员推荐"


def test_a_deadline_of_a_stage_the_version_lacks_is_named_by_its_id(console: Console) -> None:
    from api.console.history import values_of

    console.person()
    wf = console.app.state.service.registry.get("social_org_incubation")
    event = SimpleNamespace(kind="escalation", trigger=None,
                            input={"timer": "periodic_evaluation"})
    assert values_of(_reading(console), wf, event) == [("期限", "periodic_evaluation")]
