"""What a change carries must be storable and hashable: refused at the door otherwise.

`refuse_unstorable` asks `engine.language.untrusted` for the first flaw of the whole
request only when a quick look cannot vouch for it: the quick look (`_clean`) accepts
only values it knows `untrusted.flaws` finds nothing in (text without NUL or lone
surrogates, 64-bit integers, booleans, finite floats, None, and dicts with text keys,
lists and tuples of those, not nested too deeply) and leaves anything else to
`untrusted`, which names the flaw and where it is. Every change passes here: the
common clean request costs a walk with no paths, generators or flaw objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.core.refusals import input_refusal
from engine.core.snapshot import Actor
from engine.errors import Refused
from engine.language import untrusted
from engine.language.values import FieldProblem

__all__ = ["refuse_unstorable"]


def refuse_unstorable(request: Mapping[str, Any], actor: Actor, key: str | None) -> None:
    """Text nothing can store or hash (NUL, a lone surrogate) and numbers beyond what is
    stored, anywhere in what a change carries (its comment, input, ids, the actor, the
    key), are refused here for every interface, not only at the HTTP edge: before anything
    is fingerprinted, written or logged."""
    # The request's own keys are the engine's (each operation names them): what is
    # looked at quickly is what the caller gave, its values, the actor and the key.
    if _clean((actor.id, key, *request.values())):
        return
    value = {**request, "actor": actor.id, "idempotency_key": key}
    flaw = untrusted.first_flaw(value)
    if flaw is not None:
        raise Refused(input_refusal([FieldProblem(flaw.where(), flaw.code, flaw.en,
                                                  flaw.zh)], {}))


def _clean(value: dict[Any, Any] | tuple[Any, ...]) -> bool:
    """True only when `untrusted.flaws` finds nothing in `value` (a request, or the values
    of one); False when it may find something (then `untrusted` decides). The
    text met on the way (keys too) is checked at the end, in one search: joined, it
    holds a NUL or a lone surrogate exactly when one of its parts does (a str is a
    sequence of code points; nothing pairs up)."""
    texts: list[str] = []
    return _walk(value, 0, texts) and untrusted.clean_text("".join(texts))


def _walk(container: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int,
          texts: list[str]) -> bool:
    """Whether the scalars of `container` (at `depth`) and of what it holds are clean
    but for their text, which goes to `texts`."""
    if depth >= untrusted.MAX_DEPTH:
        return False  # its items may lie too deep: `untrusted` says where
    if type(container) is dict:
        for key in container:
            if type(key) is not str:
                return False
            texts.append(key)
        items: Any = container.values()
    else:
        items = container
    for item in items:
        kind = type(item)
        if kind is str:
            texts.append(item)
        elif item is None or kind is bool:
            continue
        elif kind is int:
            number: int = item
            if not untrusted.INT64_MIN <= number <= untrusted.INT64_MAX:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is dict or kind is list or kind is tuple:
            if not _walk(item, depth + 1, texts):
                return False
        else:
            return False
    return True
