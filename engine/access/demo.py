"""People for the demo community, one for each kind of work, so that a newcomer can sign in
to the console at once (`DEMO=1 make run`). Their passwords are generated and printed once;
they need not be changed (a demo, not a service holding real people's data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.access.passwords import generate_password
from engine.access.users import UserStore

__all__ = ["DEMO_PEOPLE", "STORY_PEOPLE", "DemoPerson", "create_demo_people"]


@dataclass(frozen=True)
class DemoPerson:
    name: str
    display_name: str
    roles: tuple[str, ...]
    permissions: tuple[str, ...] = ()
    scope: str | None = None  # None: the demo community


DEMO_PEOPLE = (
    DemoPerson("demo.caseworker", "王丽（社工）", ("caseworker", "party_committee")),
    DemoPerson("demo.secretary", "陈建国（社区党委书记）", ("caseworker", "party_committee",
                                                         "branch"), ("pii",)),
    DemoPerson("demo.auditor", "赵敏（街道党工委）", ("auditor",), ("pii",), "fuzhou"),
    DemoPerson("demo.designer", "林峰（区委组织部）", ("designer",), (), "fuzhou"),
    DemoPerson("demo.admin", "系统管理员", ("admin",), ("pii",), "*"),
)


STORY_PEOPLE = (
    DemoPerson("chen.hong", "陈红（社区党委）", ("party_committee", "higher_committee")),
    DemoPerson("liu.jian", "刘建（街道党工委）", ("street_committee",)),
    DemoPerson("xu.li", "徐丽（孵化器支部）", ("branch",)),
    DemoPerson("huang.min", "黄敏（上古中心）", ("branch",)),
    DemoPerson("wang.fang", "王芳（社工）", ("caseworker",)),
)
"""Who acted in the demo's two years of history (`engine.contrib.demo.actors`): kept as
disabled accounts, so that the timeline names them (陈红) rather than by their sign-in
names; nobody signs in as them."""


def create_demo_people(store: UserStore, *, community: str, now: datetime
                       ) -> list[tuple[DemoPerson, str]]:
    """Create the demo people who do not exist yet; returns them with their passwords
    (the story's people are made too, disabled, and not returned)."""
    existing = {record.name for record in store.list(include_disabled=True)}
    for person in STORY_PEOPLE:
        if person.name not in existing:
            store.create(person.name, person.roles, community, person.permissions,
                         display_name=person.display_name, password=generate_password(),
                         now=now, actor="demo", must_change=False)
            store.disable(person.name, now=now, actor="demo")
    created = []
    for person in DEMO_PEOPLE:
        if person.name in existing:
            continue
        password = generate_password()
        store.create(person.name, person.roles, person.scope or community, person.permissions,
                     display_name=person.display_name, password=password, now=now,
                     actor="demo", must_change=False)
        created.append((person, password))
    return created
