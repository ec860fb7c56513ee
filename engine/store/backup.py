"""Backups that restore: a consistent copy of the database and the proof of what it holds.

`take(engine, FILE)` writes three files:

- `FILE`: the database. SQLite: the online backup API copies the file in one step, under
  one read snapshot, while the service keeps writing (WAL readers never block writers).
  PostgreSQL: `pg_dump --format=custom` of the schema in use, run on a snapshot exported
  from the transaction in which the proof below is read, so both see the same moment.
- `FILE.checkpoint.json`: the checkpoint of every case's head at that moment (the format of
  `hatchery audit checkpoint`, so `hatchery audit verify --checkpoint` reads it too).
- `FILE.manifest.json`: the backup's size and sha256, the checkpoint's digest, the head of
  the operations log (entries, last id, a digest over them), the schema revision, and what
  a backup of the database cannot hold (`outside_the_database`).

`engine.store.restore` restores a backup and proves it complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.errors import HatcheryError
from engine.ledger.chain import Checkpoint, canonical_json
from engine.store import repository as repo
from engine.store.db import make_engine, read_connection
from engine.store.tables import OPERATIONS

__all__ = ["BackupRefused", "Manifest", "OperationsHead", "case_checkpoint", "checkpoint_path",
           "file_sha256", "libpq_url", "manifest_path", "operations_head", "run_tool",
           "schema_revision", "take"]

FORMAT = "hatchery-backup"
VERSION = 1
CHUNK = 1 << 20


class BackupRefused(HatcheryError):
    """A backup could not be taken, or a restore is refused; the message says why."""


@dataclass(frozen=True)
class OperationsHead:
    """Where the operations log stood: how many entries, the last id, a digest over all."""

    entries: int
    last_id: int | None
    digest: str


@dataclass(frozen=True)
class Manifest:
    """What a backup file holds and how to prove it (written beside it as JSON)."""

    backend: str
    taken_at: datetime
    revision: str | None
    size: int
    sha256: str
    checkpoint_digest: str
    cases: int
    operations: OperationsHead
    outside_the_database: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "version": VERSION, "backend": self.backend,
            "taken_at": self.taken_at.isoformat(), "revision": self.revision,
            "file": {"size": self.size, "sha256": self.sha256},
            "checkpoint": {"digest": self.checkpoint_digest, "cases": self.cases},
            "operations": {"entries": self.operations.entries,
                           "last_id": self.operations.last_id,
                           "digest": self.operations.digest},
            "outside_the_database": self.outside_the_database,
        }, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Read a manifest; `BackupRefused` naming what is wrong with a malformed one."""
        try:
            document = json.loads(text)
            if document.get("format") != FORMAT or document.get("version") != VERSION:
                raise ValueError("not a Hatchery backup manifest of version 1")
            ops = document["operations"]
            return cls(
                backend=str(document["backend"]),
                taken_at=datetime.fromisoformat(document["taken_at"]),
                revision=document["revision"],
                size=int(document["file"]["size"]), sha256=str(document["file"]["sha256"]),
                checkpoint_digest=str(document["checkpoint"]["digest"]),
                cases=int(document["checkpoint"]["cases"]),
                operations=OperationsHead(int(ops["entries"]), ops["last_id"],
                                          str(ops["digest"])),
                outside_the_database=list(document.get("outside_the_database", [])))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupRefused(f"the manifest is unreadable: {error}") from error


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".manifest.json")


def checkpoint_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".checkpoint.json")


# ---------------------------------------------------------------------------------------
# Taking a backup


def take(engine: Engine, target: Path, *, now: datetime,
         outside_the_database: list[str] | None = None) -> Manifest:
    """Copy the database behind `engine` to `target` and write the proof beside it."""
    if target.exists():
        raise BackupRefused(f"{target} exists already: choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            checkpoint, operations, revision = _take_sqlite(engine, target, now)
        else:
            checkpoint, operations, revision = _take_postgres(engine, target, now)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    manifest = Manifest(engine.dialect.name, now, revision, target.stat().st_size,
                        file_sha256(target), checkpoint.digest, len(checkpoint.heads),
                        operations, list(outside_the_database or []))
    checkpoint_path(target).write_text(checkpoint.to_json(), encoding="utf-8")
    manifest_path(target).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _take_sqlite(engine: Engine, target: Path,
                 now: datetime) -> tuple[Checkpoint, OperationsHead, str | None]:
    source = sqlite3.connect(engine.url.database or "", timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # pages=-1: the whole file in one step, one read snapshot
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    except sqlite3.Error as error:
        raise BackupRefused(f"the SQLite backup failed: {error}") from error
    finally:
        copy.close()
        source.close()
    # The proof is read from the copy itself: exactly the moment the copy holds.
    copied = make_engine(f"sqlite:///{target}")
    try:
        with read_connection(copied) as connection:
            return (case_checkpoint(connection, now), operations_head(connection),
                    schema_revision(connection))
    finally:
        copied.dispose()


def _take_postgres(engine: Engine, target: Path,
                   now: datetime) -> tuple[Checkpoint, OperationsHead, str | None]:
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(sa.text("SET TRANSACTION READ ONLY"))
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            proof = (case_checkpoint(connection, now), operations_head(connection),
                     schema_revision(connection))
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
            run_tool(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                  f"--schema={schema}", f"--file={target}"], engine.url)
    return proof


def case_checkpoint(connection: Connection, now: datetime) -> Checkpoint:
    """Every case's head in `connection`'s snapshot, and the digest over them."""
    heads: list[tuple[str, str, int]] = []
    after: str | None = None
    while True:
        page = repo.case_heads(connection, after=after, limit=1000)
        if not page:
            return Checkpoint.take(heads, now)
        heads.extend((r["id"], r["head_hash"], int(r["event_count"])) for r in page)
        after = page[-1]["id"]


def operations_head(connection: Connection) -> OperationsHead:
    """The operations log as it stands in `connection`'s snapshot."""
    digest = hashlib.sha256()
    entries, last_id = 0, None
    for row in connection.execute(sa.select(OPERATIONS).order_by(OPERATIONS.c.id)).mappings():
        digest.update(canonical_json(dict(row)) + b"\n")
        entries, last_id = entries + 1, int(row["id"])
    return OperationsHead(entries, last_id, digest.hexdigest())


def schema_revision(connection: Connection) -> str | None:
    """The Alembic revision of the schema (None when there is none)."""
    try:
        found: str | None = connection.execute(
            sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except sa.exc.DBAPIError:
        return None
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def libpq_url(url: sa.URL) -> str:
    """The URL for libpq tools: no driver name, no password (given in PGPASSWORD)."""
    plain = url.set(drivername="postgresql", password=None)
    query = {k: v for k, v in plain.query.items() if k != "options"}
    return plain.set(query=query).render_as_string(hide_password=False)


def run_tool(command: list[str], url: sa.URL | None) -> str:
    env: Mapping[str, str] = dict(os.environ)
    if url is not None:
        command = [*command, f"--dbname={libpq_url(url)}"] if command[0] == "pg_dump" \
            else command
        if url.password:
            env = {**env, "PGPASSWORD": str(url.password)}
    if shutil.which(command[0]) is None:
        raise BackupRefused(f"{command[0]} is not installed: PostgreSQL backups need the "
                            "PostgreSQL client tools of the server's version "
                            "(Debian: apt-get install postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupRefused(f"{command[0]} failed: {detail}")
    return done.stdout
