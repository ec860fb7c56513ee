"""A head's seal is exactly the documented formula (engine/ledger/keys.py):

    "<first 12 hex digits of sha256(key)>:" + HMAC-SHA256(key, "hatchery:head:v1\\n" ||
                                                          canonical_json([case id, head, count]))

and the operations log's seal the same over its own domain. The key's HMAC pads are
hashed once and a seal's message is written without the generic encoder; these hold the
result to `hmac.new` over `canonical_json` for any key length (longer than SHA-256's block
too) and any case id text, so a seal verifies with any implementation of the formula."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from engine.ledger.hashing import canonical_json
from engine.ledger.keys import ChainKey

KEYS = st.binary(min_size=32, max_size=200).map(ChainKey)
HEADS = st.text("0123456789abcdef", min_size=64, max_size=64)


def _formula(key: ChainKey, domain: bytes, value: list[object]) -> str:
    mac = hmac.new(key.secret, domain + canonical_json(value), hashlib.sha256).hexdigest()
    return f"{hashlib.sha256(key.secret).hexdigest()[:12]}:{mac}"


@given(key=KEYS, case_id=st.text(), head=HEADS, count=st.integers(0, 2**63))
def test_a_head_seal_is_the_hmac_of_the_canonical_head(key: ChainKey, case_id: str,
                                                        head: str, count: int) -> None:
    assert key.seal(case_id, head, count) == _formula(key, b"hatchery:head:v1\n",
                                                      [case_id, head, count])


@given(key=KEYS, head=HEADS, entries=st.integers(0, 2**40))
def test_an_operations_log_seal_is_the_hmac_of_its_canonical_head(key: ChainKey, head: str,
                                                                   entries: int) -> None:
    assert key.seal_log(head, entries) == _formula(key, b"hatchery:operations-head:v1\n",
                                                   [head, entries])


def test_a_seal_holds_for_its_head_only() -> None:
    key = ChainKey(bytes(range(32)))
    seal = key.seal("c1", "ab" * 32, 3)

    assert key.holds(seal, "c1", "ab" * 32, 3)
    assert not key.holds(seal, "c1", "ab" * 32, 4)
    assert not ChainKey(bytes(range(1, 33))).holds(seal, "c1", "ab" * 32, 3)
