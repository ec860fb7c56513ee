"""Restoring a backup (`engine.store.backup` takes them) and proving it complete.

`restore(FILE, url)` refuses a file whose size or sha256 is not the manifest's (truncated,
edited, damaged), restores into an empty target only, and then proves the result: every
chain verifies, the checkpoint of the restored cases is exactly the one written at backup
time, and so are the operations log's head and the schema revision. A SQLite restore is
built beside the target and moved into place only when all of that holds, so a refused
restore leaves nothing behind; a refused PostgreSQL restore drops what it created.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from engine.ledger.chain import ChainBreak, Checkpoint
from engine.store.backup import (
    BackupRefused,
    Manifest,
    case_checkpoint,
    checkpoint_path,
    file_sha256,
    libpq_url,
    manifest_path,
    operations_head,
    run_tool,
    schema_revision,
)
from engine.store.db import database_label, make_engine, read_connection

__all__ = ["Restored", "Verify", "restore"]


@dataclass(frozen=True)
class Restored:
    """A restore that proved complete: where it went and what was checked."""

    target: str
    cases: int
    operations: int
    checkpoint_digest: str
    revision: str | None



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
        listing = run_tool(["pg_restore", "--list", str(backup)], None)
        schema = _dumped_schema(listing)
        with read_connection(engine) as connection:
            taken = connection.execute(sa.text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :s LIMIT 1"),
                {"s": schema}).first()
        if taken is not None:
            raise BackupRefused(f"schema {schema!r} of {database_label(engine)} already has "
                                "tables: restore into an empty database")
        run_tool(["pg_restore", "--exit-on-error", "--no-owner", "--single-transaction",
              f"--dbname={libpq_url(engine.url)}", str(backup)], engine.url)
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
