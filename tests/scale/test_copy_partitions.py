"""`hatchery copy` from a SQLite store into PostgreSQL: the copied events land in the
partitions of their months (made for the source's whole history), not in the default
one."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY, START, STORE_FIXTURES
from database_copies import copy_sqlite, schema_url

from engine.audit.verify import verify
from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService
from engine.store.copy import copy_store
from engine.store.db import make_engine
from engine.store.partitions import partition_name

pytestmark = pytest.mark.postgres


def test_copied_events_land_in_the_partitions_of_their_months(
        sqlite_template: Path, postgres_server: str, tmp_path: Path) -> None:
    source = make_engine(copy_sqlite(sqlite_template, tmp_path / "h.db"))
    clock = FrozenClock(START)
    registry = WorkflowRegistry(source, clock)
    registry.sync_directory(STORE_FIXTURES)
    CaseService(source, registry, clock).start_case(
        "store_incubation", {"name": "乐探", "residents_need": "养老"}, actor=COMMITTEE,
        community=COMMUNITY)
    schema = f"copied_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    target = make_engine(schema_url(postgres_server, schema))
    try:
        copy_store(source, target, verify=verify)
        with target.connect() as connection:
            where = connection.execute(sa.text(
                "SELECT DISTINCT tableoid::regclass::text FROM events")).scalars().all()
        assert where == [partition_name(START.year, START.month)]
    finally:
        target.dispose()
        source.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
