"""The databases benchmarks measure on: the PostgreSQL server when one answers, and a
scratch schema of its own per run so figures never mix with another run's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

CI_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """The PostgreSQL URL to measure on, or None when no server answers."""
    url = (os.environ.get("HATCHERY_BENCH_POSTGRES_URL")
           or os.environ.get("HATCHERY_TEST_POSTGRES_URL") or CI_POSTGRES_URL)
    probe = sa.create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception:
        return None
    finally:
        probe.dispose()
    return url


@contextmanager
def scratch_store(url: str, prefix: str = "bench") -> Iterator[str]:
    """The SQLite file as is; on PostgreSQL a schema of its own, dropped afterwards."""
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
