"""People for the demo community, one for each kind of work, so that a newcomer can sign in
to the console at once (`DEMO=1 make run`). Their passwords are generated and printed once;
they need not be changed (a demo, not a service holding real people's data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.access.passwords import generate_password
from engine.access.users import UserStore

__all__ = ["DEMO_PEOPLE", "DemoPerson", "create_demo_people"]


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


def create_demo_people(store: UserStore, *, community: str, now: datetime
                       ) -> list[tuple[DemoPerson, str]]:
    """Create the demo people who do not exist yet; returns them with their passwords."""
    existing = {record.name for record in store.list(include_disabled=True)}
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
