"""Migrated databases made once per session and copied for each test.

Running the whole Alembic chain for every test made the suite slower with every migration
and every test added. Here the real chain runs once per session (once per xdist worker) and
each test gets a copy of its result:

- SQLite: the migrated file, checkpointed (nothing left in its WAL) and copied.
- PostgreSQL: a schema of the test's own, filled by replaying, in one transaction, the
  statements the real upgrade sent to the server (recorded once per session while it
  migrated a template schema). The test's URL chooses the schema through
  `options=-csearch_path=...`, so other processes given the URL land in it too. Replaying
  costs a few dozen statements; a `CREATE DATABASE ... TEMPLATE` copy was measured slower
  here (PostgreSQL 15 checkpoints on every `DROP DATABASE`).

The first copy made in a session is compared with the template's catalogue (tables,
columns, indexes, triggers, functions, the Alembic revision), so a migration that a replay
cannot reproduce (one that talks to the driver behind SQLAlchemy's back, say) fails the
suite loudly instead of handing tests a different schema. The migration tests themselves
(`tests/test_migrations.py`) ask for an empty database and run the real chain.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from engine.store.db import make_engine
from engine.store.migrating import upgrade

Statement = tuple[str, Any]


def schema_url(base: str, schema: str) -> str:
    """`base` with the connection's search path set to `schema` (seen by every process)."""
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def migrated_sqlite_file(directory: Path) -> Path:
    """A SQLite file migrated to the newest revision by the real chain, WAL emptied."""
    path = directory / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    """A copy of the migrated file at `target`; its URL."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@dataclass
class PostgresTemplate:
    """The statements of one real upgrade, replayed into a new schema per test."""

    base: str
    statements: Sequence[Statement]
    catalogue: Mapping[str, object]
    admin: sa.Engine
    checked: bool = False
    made: list[str] = field(default_factory=list)

    @classmethod
    def record(cls, base: str) -> PostgresTemplate:
        """Migrate a template schema with the real chain, keeping every statement sent."""
        admin = sa.create_engine(base)
        schema = f"tpl_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        migrating = make_engine(schema_url(base, schema))
        statements: list[Statement] = []

        @event.listens_for(migrating, "before_cursor_execute")
        def _keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                  executemany: bool) -> None:
            assert not executemany, "a migration sent an executemany: replay it by hand"
            if not statement.startswith("SELECT pg_advisory_xact_lock"):
                # The lock that serialises upgrades of one database is server-wide: a
                # replay into a schema of its own needs none, and taking it made every
                # copy wait for every other test's copy or upgrade.
                statements.append((statement, parameters))

        try:
            upgrade(migrating)
        finally:
            migrating.dispose()
        template = cls(base, statements, {}, admin)
        template.catalogue = template.describe(schema)
        template.drop(schema)
        return template

    def copy(self) -> str:
        """A new schema holding the migrated database; its name."""
        schema = f"test_{uuid.uuid4().hex[:12]}"
        raw = self.admin.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            cursor.execute(f'SET LOCAL search_path TO "{schema}"')
            for statement, parameters in self.statements:
                cursor.execute(statement, _plain(parameters))
            raw.commit()
        finally:
            raw.close()
        if not self.checked:
            found = self.describe(schema)
            assert found == self.catalogue, (
                "a copied test database differs from the migrated template: a migration "
                f"did something a replay of its statements cannot repeat\n{found}\n!=\n"
                f"{self.catalogue}")
            self.checked = True
        return schema

    def describe(self, schema: str) -> dict[str, object]:
        """What the schema holds, without its name: compared between template and copy."""
        queries = {
            "columns": "SELECT table_name, column_name, data_type, is_nullable, "
                       "column_default FROM information_schema.columns "
                       "WHERE table_schema = :s",
            "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
                       "WHERE schemaname = :s",
            "triggers": "SELECT event_object_table, trigger_name, event_manipulation, "
                        "action_statement FROM information_schema.triggers "
                        "WHERE trigger_schema = :s",
            "functions": "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n "
                         "ON n.oid = p.pronamespace WHERE n.nspname = :s",
        }
        found: dict[str, object] = {}
        with self.admin.connect() as connection:
            for name, sql in queries.items():
                rows = connection.execute(sa.text(sql), {"s": schema})
                found[name] = sorted(
                    tuple(str(value).replace(schema, "<schema>") for value in row)
                    for row in rows)
            found["revision"] = connection.execute(sa.text(
                f'SELECT version_num FROM "{schema}".alembic_version')).scalar_one()
        return found

    def drop(self, schema: str) -> None:
        with self.admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))

    def dispose(self) -> None:
        self.admin.dispose()


def _plain(parameters: Any) -> Any:
    """Recorded parameters as the driver takes them (SQLAlchemy hands it immutabledicts)."""
    if isinstance(parameters, Mapping):
        return dict(parameters)
    return parameters
