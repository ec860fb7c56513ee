"""`hatchery backup FILE` / `hatchery restore FILE`: copies that prove themselves complete.

    hatchery backup /srv/backups/hatchery-2026-03-02.db     # while the service runs
    hatchery restore /srv/backups/hatchery-2026-03-02.db --to sqlite:///data/restored.db

`backup` writes FILE, FILE.checkpoint.json and FILE.manifest.json (`engine.store.backup`)
and prints the checkpoint digest (keep it apart from the backups, as an auditor keeps a
checkpoint's) and what the database cannot hold: keep those beside the backups yourself.
`restore` restores into an empty database only (`--to`, default DATABASE_URL) and exits 0
only when every chain verifies and the restored cases, operations log and schema are
exactly those backed up; otherwise it exits 1 with the reason, leaving nothing half-done.
Exit 2 when the command cannot run at all (no database, no pg_dump).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli._shell import REFUSED, fail, tolerate_any_terminal
from engine.errors import HatcheryError
from engine.settings import Settings


def outside_the_database(settings: Settings) -> list[str]:
    """What a restore needs that no database backup holds: keep these with the backups."""
    return [
        f"the workflows folder ({settings.workflows_dir}): the shipped definitions are "
        "registered from it at start (every version a case ran on is also in the database)",
        "the settings (the environment or the systemd unit): DATABASE_URL and every "
        "HATCHERY_* value",
        f"the other files of the data folder ({settings.data_dir}), such as the console's "
        "session secret generated there when HATCHERY_SESSION_SECRET is not set: without "
        "it everyone signs in again",
        f"the chain key (HATCHERY_CHAIN_KEY, or {settings.data_dir / 'chain.key'}), kept "
        "out of the database by design: without it the heads' seals cannot be verified; "
        "keep it apart from the backups, as you keep the checkpoint digest (whoever holds "
        "a backup and its key could forge a history)",
    ]


def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
) -> None:
    """A consistent copy of the configured database, taken while the service runs, with
    the checkpoint digest and the operations log's head written beside it."""
    tolerate_any_terminal()
    from engine.store.backup import manifest_path, take
    from engine.store.db import make_engine

    settings = Settings()
    try:
        engine = make_engine(settings.resolved_database_url())
        try:
            manifest = take(engine, file, now=datetime.now(UTC),
                            outside_the_database=outside_the_database(settings))
        finally:
            engine.dispose()
    except HatcheryError as error:
        fail(f"error: {error}")
    typer.echo(manifest.checkpoint_digest)
    typer.echo(f"backup of {manifest.cases} case(s) and {manifest.operations.entries} "
               f"operations-log entries written to {file} ({manifest.size} bytes); "
               f"manifest {manifest_path(file)}", err=True)
    typer.echo("keep the digest above apart from the backups; not in the backup, keep "
               "these with it:", err=True)
    for item in manifest.outside_the_database:
        typer.echo(f"  - {item}", err=True)


def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `hatchery backup`.")],
    to: Annotated[str | None, typer.Option(
        "--to", help="The empty database to restore into (default: DATABASE_URL).")] = None,
) -> None:
    """Restore a backup into an empty database, and prove it complete before saying so."""
    tolerate_any_terminal()
    from engine.audit.verify import verify
    from engine.store.backup import BackupRefused
    from engine.store.restore import restore as restore_backup

    target = to or Settings().resolved_database_url()
    try:
        restored = restore_backup(file, target, verify=verify)
    except BackupRefused as error:
        fail(f"refused: {error}", REFUSED)
    except HatcheryError as error:
        fail(f"error: {error}")
    typer.echo(f"restored {restored.cases} case(s) and {restored.operations} operations-log "
               f"entries into {restored.target}: every chain verifies and checkpoint "
               f"{restored.checkpoint_digest} matches the backup's")


def copy(
    to: Annotated[str, typer.Option(
        "--to", help="The empty database to move to, e.g. postgresql+psycopg://...")],
) -> None:
    """Copy the configured database (DATABASE_URL) into another, empty one: every table,
    chains intact, then verified (every chain, the checkpoint digest, the operations log).
    Stop the service first, so nothing is written during the copy."""
    tolerate_any_terminal()
    from engine.audit.verify import verify
    from engine.store.copy import CopyRefused, copy_store
    from engine.store.db import database_label, make_engine

    try:
        source = make_engine(Settings().resolved_database_url())
        target = make_engine(to)
        try:
            copied = copy_store(source, target, verify=verify)
        finally:
            source.dispose()
            target.dispose()
    except CopyRefused as error:
        fail(f"refused: {error}", REFUSED)
    except HatcheryError as error:
        fail(f"error: {error}")
    typer.echo(f"copied {copied.cases} case(s), {copied.rows.get('events', 0)} event(s) and "
               f"{copied.rows.get('timers', 0)} timer(s) to {database_label(to)}: every chain "
               f"verifies and checkpoint {copied.checkpoint_digest} matches the source's; "
               "point DATABASE_URL at it and start the service")
