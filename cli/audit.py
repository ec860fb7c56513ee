"""`hatchery audit verify|checkpoint`: is the recorded history still what was written?

    hatchery audit verify                       # every case's hash chain
    hatchery audit verify --case CASE           # one case
    hatchery audit checkpoint --output cp.json  # one digest over every case's head, kept
    hatchery audit verify --checkpoint cp.json --digest DIGEST

`verify` walks every case's chain (`engine.audit.verify`) and names, for each case whose
history no longer matches, the first broken place by case id and sequence number: an edited
field, a deleted, inserted or reordered event, a case whose state or head no longer
matches its last event. With `--checkpoint` it also proves that nothing recorded before the
checkpoint was removed or rewritten (`engine.audit.verify_checkpoint`); `--digest` is the
digest the auditor wrote down when the checkpoint was taken, so that a checkpoint file
replaced by a consistent forgery is caught too.

`checkpoint` prints the digest on standard output (one line, to be kept somewhere the
database's administrators cannot change) and writes the checkpoint file (every case's head
hash and event count) for a later `verify --checkpoint`.

These commands read the configured database as it is: they neither upgrade its schema nor
register workflows, so they also run on a copy handed to an auditor. Exit status: 0 when
everything verifies, 1 when anything is broken, 2 when the command cannot run (no such
database, unreadable checkpoint file, corrupt or locked database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli._shell import (
    REFUSED,
    Language,
    fail,
    operator_errors,
    print_json,
    tolerate_any_terminal,
)
from engine.catalogue import Catalogue

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.ledger.chain import ChainBreak, Checkpoint

audit_app = typer.Typer(help="Integrity of the recorded history: verify chains, take "
                             "checkpoints.", no_args_is_help=True)

_WORDS = Catalogue.en_zh("cli.audit", {
    "broken": ("BROKEN case {case} at event {seq}: {message} [{reason}]",
               "已破坏：事项 {case}，第 {seq} 条事件：{message} [{reason}]"),
    "broken_file": ("BROKEN checkpoint: {message} [{reason}]", "检查点无效：{message} [{reason}]"),
    "intact": ("{count} case(s) verified: every history is intact",
               "已核验 {count} 个事项：全部历史记录完整"),
    "some_broken": ("{count} case(s) verified: {broken} broken",
                    "已核验 {count} 个事项：{broken} 处破坏"),
    "checkpoint_ok": ("checkpoint {digest} of {cases} case(s), taken {taken}: nothing recorded "
                      "before it was removed or rewritten",
                      "检查点 {digest}（{cases} 个事项，{taken}）：此前的记录未被删除或改写"),
    "written": ("checkpoint of {cases} case(s) taken {taken}, written to {path}; keep the "
                "digest above where the database's administrators cannot change it",
                "已生成 {cases} 个事项的检查点（{taken}），写入 {path}；请将上面的摘要保存在数据库"
                "管理员无法修改的地方"),
})


def _w(key: str, lang: str, **args: Any) -> str:
    return _WORDS.text(key, lang, **args)


@audit_app.command("verify")
def verify(
    case: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="A checkpoint file taken earlier: prove nothing before it was "
                             "removed or rewritten.")] = None,
    digest: Annotated[str | None, typer.Option(
        "--digest", help="The checkpoint's digest as the auditor kept it.")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the output.")]
        = Language.en,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Walk every case's hash chain and report the first broken link of each; exit 1 when
    anything is broken."""
    from engine.audit import verify as audit

    tolerate_any_terminal()
    language = lang.value
    if digest is not None and checkpoint is None:
        fail("error: --digest goes with --checkpoint FILE")
    with operator_errors(language):
        kept = _read_checkpoint(checkpoint) if checkpoint is not None else None
        with _store() as engine:
            breaks = audit.verify(engine, case)
            if case is not None and [b.reason for b in breaks] == ["case_missing"]:
                fail(f"not found: case '{case}'" if language == "en"
                     else f"未找到事项“{case}”", REFUSED)
            count = 1 if case is not None else _case_count(engine)
            against: list[ChainBreak] = []
            if kept is not None:
                against = audit.checkpoint_breaks(
                    engine, kept, expected_digest=digest.strip().lower() if digest else None)
        _report(breaks, against, kept, count, language, as_json)
    if breaks or against:
        raise typer.Exit(REFUSED)


@audit_app.command("checkpoint")
def checkpoint(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The checkpoint file to write (default: "
                               "hatchery-checkpoint-<UTC time>.json here).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the output file if it exists.")] = False,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the output.")]
        = Language.en,
) -> None:
    """Print one digest over every case's head and write the checkpoint file."""
    from engine.audit import verify as audit

    tolerate_any_terminal()
    language = lang.value
    with operator_errors(language):
        with _store() as engine:
            taken = audit.checkpoint(engine)
        path = output or Path(f"hatchery-checkpoint-{taken.taken_at:%Y%m%dT%H%M%SZ}.json")
        _write(path, taken.to_json(), force)
        typer.echo(taken.digest)
        typer.echo(_w("written", language, cases=len(taken.heads),
                      taken=taken.taken_at.isoformat(timespec="seconds"), path=path), err=True)


# ---------------------------------------------------------------------------------------


@contextmanager
def _store() -> Iterator[Engine]:
    """The configured database as it is (a SQLite file must exist: no new empty one)."""
    from sqlalchemy.engine import make_url

    from engine.settings import Settings
    from engine.store.db import make_engine

    settings = Settings()
    url = settings.resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and \
            not Path(parsed.database).expanduser().is_file():
        fail(f"error: there is no database at {parsed.database} (set DATABASE_URL to the "
             "database to audit)")
    engine = make_engine(url)
    try:
        attach_configured_key(engine, settings)
        yield engine
    finally:
        engine.dispose()


def attach_configured_key(engine: Engine, settings: Any) -> None:
    """Check (and write) seals with the configured chain key, when there is one here: an
    auditor's copy of the database may come without it, and then seals are not checked."""
    from engine.ledger.keys import ChainKeyError, attach, load

    try:
        key, _ = load(settings.chain_key, settings.data_dir, create=False)
    except (ChainKeyError, OSError) as error:
        fail(f"error: the chain key cannot be read: {error}")
    attach(engine, key)


def _case_count(engine: Engine) -> int:
    import sqlalchemy as sa

    from engine.store.db import read_connection
    from engine.store.tables import CASES

    with read_connection(engine) as connection:
        return int(connection.execute(
            sa.select(sa.func.count()).select_from(CASES)).scalar_one())


def _read_checkpoint(path: Path) -> Checkpoint:
    from engine.ledger.chain import Checkpoint

    try:
        return Checkpoint.from_json(path.read_bytes())
    except OSError as error:
        fail(f"error: cannot read the checkpoint file {path}: {error.strerror or error}")
    except ValueError as error:
        fail(f"error: {path}: {error}")


def _write(path: Path, text: str, force: bool) -> None:
    """Write the file whole or not at all; an existing checkpoint is kept unless forced."""
    if path.exists() and not force:
        fail(f"error: {path} exists: an earlier checkpoint is evidence; choose another "
             "--output (or --force to replace it)")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        fail(f"error: cannot write the checkpoint file {path}: {error.strerror or error}")


def _report(breaks: Sequence[ChainBreak], against: Sequence[ChainBreak],
            kept: Checkpoint | None, count: int, lang: str, as_json: bool) -> None:
    if as_json:
        print_json({
            "cases": count, "intact": not breaks and not against,
            "breaks": [_break_json(b) for b in breaks],
            "checkpoint": None if kept is None else {
                "digest": kept.digest, "taken_at": kept.taken_at, "cases": len(kept.heads),
                "break": _break_json(against[0]) if against else None,
                "breaks": [_break_json(b) for b in against]},
        })
        return
    for found in breaks:
        typer.echo(_w("broken", lang, case=found.case_id,
                      seq="—" if found.seq is None else found.seq,
                      message=found.message, reason=found.reason))
    for found in against:
        if found.case_id:
            typer.echo(_w("broken", lang, case=found.case_id,
                          seq="—" if found.seq is None else found.seq,
                          message=found.message, reason=found.reason))
        else:
            typer.echo(_w("broken_file", lang, message=found.message,
                          reason=found.reason))
    if kept is not None and not against:
        typer.echo(_w("checkpoint_ok", lang, digest=kept.digest, cases=len(kept.heads),
                      taken=kept.taken_at.astimezone(UTC).isoformat(timespec="seconds")))
    broken = len(breaks)
    typer.echo(_w("intact", lang, count=count) if not broken
               else _w("some_broken", lang, count=count, broken=broken))


def _break_json(found: ChainBreak) -> dict[str, Any]:
    return {"case_id": found.case_id, "seq": found.seq, "reason": found.reason,
            "message": found.message}


from cli import audit_keys as _audit_keys  # noqa: E402,F401  (its commands join audit_app)
