"""The chain key: a secret kept outside the database that seals every case's head.

A hash chain proves a history was not edited *unless* whoever edits it recomputes the
hashes: someone who can write the database can append an event with a valid hash and move
the head. So every case row also keeps a *seal* of its head,

    head_seal = "<key id>:" + HMAC-SHA256(key, "hatchery:head:v1\\n" ||
                                          canonical_json([case id, head hash, event count]))

written in the same transaction as the head. Without the key nobody can make a valid seal,
so a forged append (or a whole history rewritten) shows at the next verify. The key id is
the first 12 hex digits of sha256(key): a verify with another key says so plainly.

Where the key lives: `HATCHERY_CHAIN_KEY` (64 hex digits or more), else the file
`chain.key` in the data folder, made once (readable by the service's user only) when the
service first starts. Keep a copy apart from the database and its backups: a backup with
its key beside it lets whoever holds both forge. Rotation: `hatchery audit rotate-key`
verifies every head with the current key, makes a new one and reseals every head with it
(docs/operations.md).

The service attaches its key to its engine (`attach`); the store seals with the key
attached to the engine it writes through (`key_of`). Pure helpers otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine.ledger.chain import canonical_json

_string = json.encoder.encode_basestring  # a str as canonical_json writes it

KEY_FILE = "chain.key"
_DOMAIN = b"hatchery:head:v1\n"
_LOG_DOMAIN = b"hatchery:operations-head:v1\n"
_BLOCK = 64  # SHA-256's block size, in bytes
_INNER = bytes(x ^ 0x36 for x in range(256))
_OUTER = bytes(x ^ 0x5C for x in range(256))
_ATTACHED: weakref.WeakKeyDictionary[Engine, ChainKey] = weakref.WeakKeyDictionary()


class ChainKeyError(ValueError):
    """The configured chain key cannot be used (the message says why)."""


@dataclass(frozen=True)
class ChainKey:
    """A chain key and its id."""

    secret: bytes

    @cached_property
    def id(self) -> str:
        """The first 12 hex digits of sha256(secret) (worked out once: every seal
        starts with it)."""
        return hashlib.sha256(self.secret).hexdigest()[:12]

    @cached_property
    def _pads(self) -> tuple[Any, Any]:
        """SHA-256 after the key's inner and outer HMAC pads (RFC 2104), kept: a seal is
        taken at every change, and hashing the two pads again each time (as `hmac.new` or
        OpenSSL's one-shot HMAC do, with their set-up) cost more than the message."""
        key = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        key = key.ljust(_BLOCK, b"\0")
        return hashlib.sha256(key.translate(_INNER)), hashlib.sha256(key.translate(_OUTER))

    def _hmac(self, message: bytes) -> str:
        """`hmac.new(self.secret, message, hashlib.sha256).hexdigest()`, from the kept pads
        (the hash objects are only copied, never updated: shared by threads safely)."""
        inner, outer = self._pads
        inner = inner.copy()
        inner.update(message)
        outer = outer.copy()
        outer.update(inner.digest())
        return str(outer.hexdigest())

    @classmethod
    def parse(cls, text: str) -> ChainKey:
        text = text.strip()
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise ChainKeyError("the chain key must be hexadecimal digits") from None
        if len(secret) < 32:
            raise ChainKeyError("the chain key must be at least 64 hexadecimal digits (32 bytes)")
        return cls(secret)

    @classmethod
    def generate(cls) -> ChainKey:
        return cls(secrets.token_bytes(32))

    def seal(self, case_id: str, head_hash: str, event_count: int) -> str:
        count = int(event_count)
        if type(case_id) is str and type(head_hash) is str:
            # canonical_json of the list, as its C encoder writes it (ensure_ascii off)
            text = f"[{_string(case_id)},{_string(head_hash)},{count}]"
            message = _DOMAIN + text.encode("utf-8")
        else:
            message = _DOMAIN + canonical_json([case_id, head_hash, count])
        return f"{self.id}:{self._hmac(message)}"

    def holds(self, seal: str | None, case_id: str, head_hash: str, event_count: int) -> bool:
        return seal is not None and hmac.compare_digest(
            seal, self.seal(case_id, head_hash, event_count))

    def seal_log(self, head_hash: str, entries: int) -> str:
        """The seal of the operations log's head (engine/ledger/oplog.py)."""
        message = _LOG_DOMAIN + canonical_json([head_hash, int(entries)])
        return f"{self.id}:{self._hmac(message)}"

    def holds_log(self, seal: str | None, head_hash: str, entries: int) -> bool:
        return seal is not None and hmac.compare_digest(seal, self.seal_log(head_hash, entries))


def load(configured: str | None, data_dir: Path, *, create: bool = True
         ) -> tuple[ChainKey | None, bool]:
    """The configured key, else the data folder's (made now when `create` and missing).
    Returns the key and whether it was made now."""
    if configured:
        return ChainKey.parse(configured), False
    path = data_dir / KEY_FILE
    made = False
    if not path.exists() and create:
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(ChainKey.generate().secret.hex() + "\n")
        try:
            os.link(temporary, path)  # atomic, and never over another process's key
            made = True
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    if not path.exists():
        return None, False
    return ChainKey.parse(path.read_text(encoding="ascii")), made


def write_new(data_dir: Path) -> tuple[ChainKey, Path | None]:
    """Make a new key file in the data folder; the old one (if any) is kept renamed as
    `chain.key.<its id>`. Returns the new key and where the old one went."""
    path = data_dir / KEY_FILE
    kept = None
    if path.exists():
        old = ChainKey.parse(path.read_text(encoding="ascii"))
        kept = path.with_name(f"{KEY_FILE}.{old.id}")
        os.replace(path, kept)
    key = ChainKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.secret.hex() + "\n")
    return key, kept


def attach(engine: Engine, key: ChainKey | None) -> None:
    """Seal every head written through `engine` with `key` (None: stop sealing)."""
    if key is None:
        _ATTACHED.pop(engine, None)
    else:
        _ATTACHED[engine] = key


def key_of(engine: Engine) -> ChainKey | None:
    return _ATTACHED.get(engine)
