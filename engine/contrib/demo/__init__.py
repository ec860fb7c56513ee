"""A demo community modelled on Jinzhou (金洲社区, Cangshan, Fuzhou), loaded through the one door.

`load_demo` replays a community's life from November 2024, on a `FrozenClock`: every case
is started, fired, ticked and linked through `CaseService` exactly as caseworkers would,
and the clock is moved forward between steps, firing the timers that fall due on the way
(see `engine.contrib.demo.script`). Every case's history is a real one: its events, its
hash chain, its automatic transitions and its timers.

By default the story stops on 30 October 2026 (`DEMO_END`); `until` runs it further, up to
30 June 2027 (`STORY_END`): past April 2027 陈静's probation ends and she is converted, the
Shanggu branch reaches seven full members and must elect a committee, and does in June.

What the article names (seeds/jinzhou-dual-incubation.zh.txt), and where it is:

- six incubated social organizations (`social_org_incubation`), Jinzhou's incubation period
  being two years and graduation asking for party members and an instructor at least:
  上古健康服务中心 in cultivation, its services and activities recorded against its
  agreement and its evaluations showing its party-building rung; 熠家心理工作室 and 青禾社工
  in cultivation; 乐探机器人工作室 graduated (its party record handed over); 科普工作室
  whose four ones are late (its instructor not yet assigned); 番薯乐园自然科学推广中心
  selected late (its reply deadline marked overdue) and confirming its agreement;
- the dual incubation: each organization's party record (`party_organization`) is linked to
  its incubation record. Shanggu's, registered with two transferred members before the
  centre was selected (so it led the selection queue), joined the incubator joint branch,
  became eligible with the third full member, was approved by the Jinshan street party
  working committee, elected its secretary, missed one themed party day (May 2025), then
  kept its 三会一课 register on schedule for twelve calendar months and was recognised as
  having a mechanism;
- the Shanggu branch's people: full members who transferred their membership in with their
  true dates (`membership_transfer`), 陈静 developed inside through the five stages
  (`member_development`), and two activists with their thought reports: 6 full members,
  1 probationary member and 2 activists at `DEMO_END`, as the article says;
- co-building agreements (`co_building_agreement`), the big party committee's five part-time
  members (`committee_election`), and the 9 volunteer teams (`self_organization`).

People's names, unit names other than those the article gives, dates and numbers are
illustrative; no contact data is made up. Loading twice does not duplicate anything:
`load_demo` writes only into a community that holds no case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.clock import FrozenClock
from engine.contrib.demo.actors import COMMITTEE, DEMO_ACTORS
from engine.contrib.demo.organizations import (
    big_party_committee,
    co_building,
    social_organizations,
    volunteer_teams,
)
from engine.contrib.demo.party import other_party_records, shanggu_party
from engine.contrib.demo.script import Community, Script, advance
from engine.service import CaseService
from engine.timers.calendar import CHINA_TZ

__all__ = ["DEMO_ACTORS", "DEMO_COMMUNITY", "DEMO_END", "DEMO_START", "STORY_END",
           "DemoSummary", "advance", "holds_the_demo", "home_for_demo", "load_demo",
           "summarise"]

DEMO_COMMUNITY = "fuzhou/cangshan/jinshan/jinzhou"
DEMO_START = datetime(2024, 11, 4, 9, 0, tzinfo=CHINA_TZ)
DEMO_END = datetime(2026, 10, 30, 17, 30, tzinfo=CHINA_TZ)
STORY_END = datetime(2027, 6, 30, 17, 30, tzinfo=CHINA_TZ)

# Jinzhou's local rules (parameters of the workflows, set for the demo community).
LOCAL_RULES = (
    ("social_org_incubation", "incubation_period", "P2Y"),
    ("social_org_incubation", "graduation_party_rung", 1),
)


def _script() -> Script:
    s = Script()
    social_organizations(s)
    shanggu_party(s)
    other_party_records(s)
    co_building(s)
    big_party_committee(s)
    volunteer_teams(s)
    return s


@dataclass(frozen=True)
class DemoSummary:
    """What the demo community holds: `loaded` is False when it was found already there."""

    community: str
    loaded: bool
    cases: int
    events: int
    by_workflow: dict[str, int]
    by_state: dict[str, dict[str, int]]


def summarise(service: CaseService, community: str, *, loaded: bool) -> DemoSummary:
    """Count the cases and events of `community` (and the communities under it)."""
    cases = events = 0
    by_workflow: dict[str, int] = {}
    by_state: dict[str, dict[str, int]] = {}
    cursor: str | None = None
    while True:
        page, cursor = service.list_cases(community_prefix=community, order="updated",
                                          limit=500, cursor=cursor)
        for case in page:
            cases += 1
            events += case.event_count
            by_workflow[case.workflow_id] = by_workflow.get(case.workflow_id, 0) + 1
            states = by_state.setdefault(case.workflow_id, {})
            states[case.state] = states.get(case.state, 0) + 1
        if cursor is None:
            break
    return DemoSummary(community, loaded, cases, events, dict(sorted(by_workflow.items())),
                       {k: dict(sorted(v.items())) for k, v in sorted(by_state.items())})


def holds_the_demo(service: CaseService, community: str) -> bool:
    """Whether `community` holds the demo: its first organization, started by the demo's
    party committee member."""
    found, _ = service.list_cases(workflow_id="social_org_incubation",
                                  community_prefix=community, text="上古健康服务中心", limit=5)
    return any(case.community == community and service.history(case.id)[0].actor
               == COMMITTEE.id for case in found)


def home_for_demo(service: CaseService, preferred: str = DEMO_COMMUNITY) -> tuple[str, bool]:
    """Where the demo lives: `preferred`, or when that path holds other cases, the first of
    `preferred`-demo, `preferred`-demo-2, ... that holds the demo or no case at all (the
    demo never writes among other cases). The second value says whether the demo is
    already there."""
    candidates = [preferred, f"{preferred}-demo", *(f"{preferred}-demo-{n}"
                                                    for n in range(2, 100))]
    for community in candidates:
        if holds_the_demo(service, community):
            return community, True
        existing, _ = service.list_cases(community_prefix=community, limit=1)
        if not existing:
            return community, False
    raise ValueError(f"no free community found beside {preferred}")


def load_demo(service: CaseService, clock: FrozenClock, *, community: str = DEMO_COMMUNITY,
              until: datetime = DEMO_END) -> DemoSummary:
    """Replay the demo community's story through `service`, on `clock`, up to `until`.

    `clock` must be the service's clock; it is set to `DEMO_START` and left at `until`
    (at most `STORY_END`). If `community` already holds cases, nothing is written and they
    are summarised.
    """
    if not DEMO_START < until <= STORY_END:
        raise ValueError(f"the demo's story runs from {DEMO_START:%Y-%m-%d} to "
                         f"{STORY_END:%Y-%m-%d}; {until:%Y-%m-%d} is outside it")
    existing, _ = service.list_cases(community_prefix=community, limit=1)
    if existing:
        return summarise(service, community, loaded=False)
    for workflow_id, name, value in LOCAL_RULES:
        service.set_parameter(workflow_id, name, value, community=community)
    clock.set(DEMO_START)
    _script().run(Community(service, clock, community), until)
    return summarise(service, community, loaded=True)

