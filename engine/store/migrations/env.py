"""Alembic environment: run by `engine.db.upgrade` with a connection already in a
transaction (`config.attributes["connection"]`), or from the `alembic` command line, which
then connects to `DATABASE_URL` (or the default SQLite file) itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from engine.store.partitions import include_object
from engine.store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_object=include_object,  # the events' month partitions are not models
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from engine.settings import Settings
    from engine.store.db import make_engine, write_connection

    engine = make_engine(Settings().resolved_database_url())
    try:
        with write_connection(engine) as fresh:
            _run(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
run_migrations_online()
