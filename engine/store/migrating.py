"""Applying the schema's migrations (Alembic, engine/store/migrations): the newest revision
this code knows, the one a database is at, upgrade and downgrade, each in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from engine.store.db import read_connection, write_connection

__all__ = ["current_revision", "downgrade", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x6861746368657279


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with read_connection(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` in one transaction.

    Safe to call from several processes at once: on PostgreSQL an advisory lock, on SQLite
    the write lock, lets one of them migrate while the others wait and then find nothing
    to do.
    """
    from alembic import command

    if revision == "head" and current_revision(engine) == head_revision():
        return  # the usual start: nothing to do, and no waiting for other databases' lock
    with write_connection(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _MIGRATION_LOCK})
            # A migration may rewrite a large table: the service's statement timeout is
            # for requests, not for this.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
        command.upgrade(_alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Move the schema back to `revision` (for operators undoing a deployment)."""
    from alembic import command

    with write_connection(engine) as connection:
        command.downgrade(_alembic_config(connection), revision)

