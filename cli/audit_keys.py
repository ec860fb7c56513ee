"""`hatchery audit seal` and `hatchery audit rotate-key`: the chain key's seals on the case
heads (see engine/ledger/keys.py and docs/operations.md).

    hatchery audit seal          # seal the heads that carry none (rows from before the key)
    hatchery audit rotate-key    # a new key; every head the old key vouches for resealed

Both verify first and refuse (exit 1) while any history is broken: sealing a broken or
forged history would vouch for it. Each is recorded in the operations log.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from cli._shell import REFUSED, Language, fail, operator_errors
from cli.audit import _store, audit_app


def _intact_or_refuse(engine: Engine, lang: str, *, ignore: frozenset[str]) -> None:
    from engine.audit import verify as audit

    breaks = [b for b in audit.verify(engine) if b.reason not in ignore]
    if breaks:
        for found in breaks[:20]:
            typer.echo(f"BROKEN case {found.case_id}: {found.message} [{found.reason}]")
        fail("refused: fix or explain the broken histories first" if lang == "en"
             else "已拒绝：请先处理被破坏的历史记录", REFUSED)


@audit_app.command("seal")
def seal(lang: Annotated[Language, typer.Option("--lang")] = Language.en) -> None:
    """Seal, with the chain key, every case head that carries no seal yet."""
    from datetime import UTC, datetime

    from engine.audit.seals import HEAD_UNSEALED, seal_heads
    from engine.ledger.keys import key_of
    from engine.store.operations import record

    with operator_errors(lang.value), _store() as engine:
        key = key_of(engine)
        if key is None:
            fail("error: there is no chain key to seal with (HATCHERY_CHAIN_KEY or chain.key)")
        _intact_or_refuse(engine, lang.value, ignore=frozenset({HEAD_UNSEALED}))
        sealed = seal_heads(engine, key, only_unsealed=True)
        record(engine, actor="system:cli", action="heads_sealed", at=datetime.now(UTC),
               detail={"sealed": sealed, "key": key.id})
    typer.echo(f"{sealed} head(s) sealed with key {key.id}")


@audit_app.command("rotate-key")
def rotate_key(lang: Annotated[Language, typer.Option("--lang")] = Language.en) -> None:
    """Make a new chain key in the data folder and reseal every head with it."""
    from datetime import UTC, datetime

    from engine.audit.seals import seal_heads
    from engine.ledger.keys import attach, key_of, write_new
    from engine.settings import Settings
    from engine.store.operations import record

    settings = Settings()
    if settings.chain_key:
        fail("error: the key comes from HATCHERY_CHAIN_KEY, and this command rotates the "
             "key file: put the key in chain.key in the data folder, unset the variable, "
             "then rotate (docs/operations.md)")
    with operator_errors(lang.value), _store() as engine:
        old = key_of(engine)
        if old is None:
            fail("error: there is no chain key to rotate (chain.key in the data folder)")
        _intact_or_refuse(engine, lang.value, ignore=frozenset())
        new, kept = write_new(settings.data_dir)
        attach(engine, new)
        sealed = seal_heads(engine, new, only_unsealed=False, previous=old)
        record(engine, actor="system:cli", action="chain_key_rotated", at=datetime.now(UTC),
               detail={"from": old.id, "to": new.id, "resealed": sealed})
    typer.echo(f"new chain key {new.id}; {sealed} head(s) resealed; the old key {old.id} "
               f"is kept as {kept}. Restart the service so that it seals with the new key.")
