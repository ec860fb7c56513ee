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

`restore(FILE, url)` refuses a file whose size or sha256 is not the manifest's (truncated,
edited, damaged), restores into an empty target only, and then proves the result: every
chain verifies, the checkpoint of the restored cases is exactly the one written at backup
time, and so are the operations log's head and the schema revision. A SQLite restore is
built beside the target and moved into place only when all of that holds, so a refused
restore leaves nothing behind; a refused PostgreSQL restore drops what it created.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from engine.errors import HatcheryError
from engine.ledger.chain import ChainBreak, Checkpoint, canonical_json
from engine.store import repository as repo
from engine.store.db import database_label, make_engine, read_connection
from engine.store.tables import OPERATIONS

__all__ = ["BackupRefused", "Manifest", "OperationsHead", "Restored", "case_checkpoint",
           "manifest_path", "operations_head", "restore", "schema_revision", "take"]

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


@dataclass(frozen=True)
class Restored:
    """A restore that proved complete: where it went and what was checked."""

    target: str
    cases: int
    operations: int
    checkpoint_digest: str
    revision: str | None


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
            _run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
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


# ---------------------------------------------------------------------------------------
# Restoring


Verify = Callable[[Engine], list[ChainBreak]]


def restore(backup: Path, target_url: str, *, verify: Verify) -> Restored:
    """Restore `backup` into the empty database at `target_url` and prove it complete.

    `verify` is the store-wide verification (every chain, and every case row against its
    events); it is passed in because it belongs to the audit package, above the store.
    """
    manifest = _checked_manifest(backup)
    checkpoint = _checked_checkpoint(backup, manifest)
    backend = make_url(target_url).get_backend_name()
    if backend != manifest.backend:
        raise BackupRefused(f"the backup is of a {manifest.backend} database; it restores "
                            f"into {manifest.backend} only (to move between databases, use "
                            "`hatchery copy`)")
    if backend == "sqlite":
        return _restore_sqlite(backup, target_url, manifest, checkpoint, verify)
    return _restore_postgres(backup, target_url, manifest, checkpoint, verify)


def _checked_manifest(backup: Path) -> Manifest:
    if not backup.is_file():
        raise BackupRefused(f"{backup} does not exist or is not a file")
    beside = manifest_path(backup)
    if not beside.is_file():
        raise BackupRefused(f"{beside} is missing: without the manifest written at backup "
                            "time nothing proves the backup complete")
    manifest = Manifest.from_json(beside.read_text(encoding="utf-8"))
    size = backup.stat().st_size
    if size != manifest.size:
        raise BackupRefused(f"{backup} is {size} bytes but was {manifest.size} when it was "
                            "taken: the file was truncated or changed; restore another copy")
    if file_sha256(backup) != manifest.sha256:
        raise BackupRefused(f"{backup} is not the file that was backed up (its sha256 "
                            "differs from the manifest's): it was edited or damaged; "
                            "restore another copy")
    return manifest


def _checked_checkpoint(backup: Path, manifest: Manifest) -> Checkpoint:
    beside = checkpoint_path(backup)
    try:
        checkpoint = Checkpoint.from_json(beside.read_bytes())
    except (OSError, ValueError) as error:
        raise BackupRefused(f"the checkpoint {beside} is unreadable: {error}") from error
    if checkpoint.digest != manifest.checkpoint_digest or \
            checkpoint.recomputed_digest() != checkpoint.digest:
        raise BackupRefused(f"the checkpoint {beside} is not the one written with the "
                            "backup (its digest differs from the manifest's)")
    return checkpoint


def _restore_sqlite(backup: Path, target_url: str, manifest: Manifest,
                    checkpoint: Checkpoint, verify: Verify) -> Restored:
    target = Path(make_url(target_url).database or "")
    if target.exists() and target.stat().st_size > 0:
        raise BackupRefused(f"{target} exists and is not empty: restore into a new file "
                            "(or move the old one away first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(target.name + ".restoring")
    building.unlink(missing_ok=True)
    shutil.copyfile(backup, building)
    try:
        engine = make_engine(f"sqlite:///{building}")
        try:
            restored = _prove(engine, str(target), manifest, checkpoint, verify)
        finally:
            engine.dispose()
        for suffix in ("-wal", "-shm", "-writer.lock"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        os.replace(building, target)
        return restored
    except BaseException:
        for suffix in ("", "-wal", "-shm", "-writer.lock"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        raise


def _restore_postgres(backup: Path, target_url: str, manifest: Manifest,
                      checkpoint: Checkpoint, verify: Verify) -> Restored:
    engine = make_engine(target_url)
    try:
        listing = _run(["pg_restore", "--list", str(backup)], None)
        schema = _dumped_schema(listing)
        with read_connection(engine) as connection:
            taken = connection.execute(sa.text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :s LIMIT 1"),
                {"s": schema}).first()
        if taken is not None:
            raise BackupRefused(f"schema {schema!r} of {database_label(engine)} already has "
                                "tables: restore into an empty database")
        _run(["pg_restore", "--exit-on-error", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(engine.url)}", str(backup)], engine.url)
        try:
            return _prove(engine, database_label(engine), manifest, checkpoint, verify)
        except BackupRefused:
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            raise
    finally:
        engine.dispose()


def _dumped_schema(listing: str) -> str:
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[3] == "SCHEMA" and not line.startswith(";"):
            return parts[5]
    raise BackupRefused("the archive holds no schema: it is not a Hatchery backup")


def _prove(engine: Engine, where: str, manifest: Manifest, checkpoint: Checkpoint,
           verify: Verify) -> Restored:
    """Refuse unless the restored database is exactly, and verifiably, the one backed up."""
    with read_connection(engine) as connection:
        revision = schema_revision(connection)
        found = case_checkpoint(connection, checkpoint.taken_at)
        operations = operations_head(connection)
    if revision != manifest.revision:
        raise BackupRefused(f"the restored schema is at {revision}, the backup's at "
                            f"{manifest.revision}")
    breaks = verify(engine)
    if breaks:
        first = breaks[0]
        raise BackupRefused(f"the restored history does not verify: {len(breaks)} case(s) "
                            f"broken, first {first.case_id} at event {first.seq}: "
                            f"{first.message}")
    if found.digest != checkpoint.digest:
        missing = sorted(set(checkpoint.heads) - set(found.heads))
        raise BackupRefused("the restored cases are not those backed up: checkpoint digest "
                            f"{found.digest}, expected {checkpoint.digest}"
                            + (f"; missing {', '.join(missing[:5])}" if missing else ""))
    if operations != manifest.operations:
        raise BackupRefused(f"the restored operations log ({operations.entries} entries) "
                            f"is not the one backed up ({manifest.operations.entries})")
    return Restored(where, len(found.heads), operations.entries, found.digest, revision)


def _libpq_url(url: sa.URL) -> str:
    """The URL for libpq tools: no driver name, no password (given in PGPASSWORD)."""
    plain = url.set(drivername="postgresql", password=None)
    query = {k: v for k, v in plain.query.items() if k != "options"}
    return plain.set(query=query).render_as_string(hide_password=False)


def _run(command: list[str], url: sa.URL | None) -> str:
    env: Mapping[str, str] = dict(os.environ)
    if url is not None:
        command = [*command, f"--dbname={_libpq_url(url)}"] if command[0] == "pg_dump" \
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
