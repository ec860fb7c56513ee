"""Are the database's own guards of the history in place? The append-only triggers of
`events` (every partition too, on PostgreSQL) and `operations` must exist, be enabled, and
on PostgreSQL fire in every session (`ENABLE ALWAYS`, so that a session set to
`session_replication_role = replica` cannot edit the history either). A dropped or disabled
trigger is what someone about to rewrite the history does first: `/readyz` and verify say
so (this module only reads the catalogue).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.ledger.chain import ChainBreak
from engine.store.db import read_connection

GUARD_MISSING = "append_only_guard_missing"
"""An append-only trigger of the history or of the operations log is missing or disabled."""

SQLITE_TRIGGERS = ("events_no_update", "events_no_delete", "operations_no_update",
                   "operations_no_delete")
POSTGRES_TRIGGERS = {"events": ("events_append_only", "events_no_truncate"),
                     "operations": ("operations_append_only", "operations_no_truncate")}

_PG_TRIGGERS = sa.text(
    "SELECT c.relname AS tablename, t.tgname AS name, t.tgenabled AS enabled "
    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal")
_PG_PARTITIONS = sa.text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_class p ON p.oid = i.inhparent "
    "WHERE p.relname = 'events' AND p.relnamespace = current_schema()::regnamespace")


ALWAYS_SINCE = "0016_triggers_always"
"""The migration from which the PostgreSQL triggers fire in replica sessions too."""


def _applied(connection: Connection, revision: str) -> bool:
    """Whether the database's schema includes the migration `revision`."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from engine.store.migrating import _alembic_config

    current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        return False
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        return any(r.revision == revision for r in script.iterate_revisions(current, "base"))
    except Exception:  # a revision this code does not know: newer than it, so included
        return True


def missing_guards(connection: Connection) -> list[str]:
    """Each guard that is not in place, as `table.trigger: why` (empty: all in place). A
    table the schema does not have yet (an auditor's copy of an old database) needs none;
    firing in replica sessions is asked of a schema from migration 0016 on."""
    tables = set(sa.inspect(connection).get_table_names())
    if connection.dialect.name == "sqlite":
        present = set(connection.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        return [f"{name.split('_no_')[0]}.{name}: missing" for name in SQLITE_TRIGGERS
                if name not in present and name.split("_no_")[0] in tables]
    always = _applied(connection, ALWAYS_SINCE)
    found = {(r.tablename, r.name): r.enabled for r in connection.execute(_PG_TRIGGERS)}
    required = {t: names for t, names in POSTGRES_TRIGGERS.items() if t in tables}
    for partition in connection.execute(_PG_PARTITIONS).scalars():
        required[partition] = POSTGRES_TRIGGERS["events"]
    problems = []
    for table, names in sorted(required.items()):
        for name in names:
            enabled = found.get((table, name))
            if enabled is None:
                problems.append(f"{table}.{name}: missing")
            elif enabled == "D":
                problems.append(f"{table}.{name}: disabled")
            elif enabled != "A" and always:
                problems.append(f"{table}.{name}: does not fire in replica sessions")
    return problems


def guard_breaks(engine: Engine) -> list[ChainBreak]:
    """The missing guards as breaks of the whole store (no case, no sequence number)."""
    with read_connection(engine) as connection:
        problems = missing_guards(connection)
    return [ChainBreak("", None, GUARD_MISSING,
                       f"The database's append-only guard {problem}: the history can be "
                       "edited in place.") for problem in problems]
