"""The door's quick look at a request (`engine.service.unstorable`) vouches only for what
`engine.language.untrusted` finds no flaw in, and lets the common clean request through
without asking it; anything it cannot vouch for is left to `untrusted`, which names the
flaw."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.core.snapshot import Actor
from engine.errors import Refused
from engine.language import untrusted
from engine.service.unstorable import _clean, refuse_unstorable

_TEXT = st.text(alphabet=st.sampled_from(["a", "组", "\x00", "\ud800", "\udfff", "é", "/"]),
                max_size=4)
_SCALARS = st.one_of(st.none(), st.booleans(), _TEXT,
                     st.integers(min_value=-(2**64), max_value=2**64),
                     st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from([b"x", object(), 1j]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.one_of(_TEXT, st.integers(0, 3)), inner, max_size=3)), max_leaves=12)


@given(st.dictionaries(_TEXT, _VALUES, max_size=4))
def test_the_quick_look_vouches_only_for_what_untrusted_finds_clean(
        value: dict[str, Any]) -> None:
    if _clean(value):
        assert untrusted.first_flaw(value) is None


_PLAIN_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                             blacklist_characters="\x00"), max_size=8)
_PLAIN = st.recursive(
    st.one_of(st.none(), st.booleans(), _PLAIN_TEXT,
              st.integers(min_value=untrusted.INT64_MIN, max_value=untrusted.INT64_MAX),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(_PLAIN_TEXT, inner, max_size=3)), max_leaves=12)


@given(st.dictionaries(_PLAIN_TEXT, _PLAIN, max_size=5))
def test_a_clean_json_request_passes_the_quick_look(value: dict[str, Any]) -> None:
    assert _clean(value)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_nesting_near_the_limit_is_left_to_untrusted() -> None:
    too_deep = _nested(untrusted.MAX_DEPTH)
    assert untrusted.first_flaw(too_deep) is not None
    assert not _clean(too_deep)
    assert _clean(_nested(untrusted.MAX_DEPTH - 2))


@given(st.dictionaries(st.sampled_from(["case_id", "trigger", "input", "comment"]), _VALUES,
                       max_size=4), _TEXT, st.none() | _TEXT)
def test_the_door_refuses_exactly_what_untrusted_finds_a_flaw_in(
        request: dict[str, Any], actor: str, key: str | None) -> None:
    flaw = untrusted.first_flaw({**request, "actor": actor, "idempotency_key": key})
    try:
        refuse_unstorable(request, Actor(actor), key)
    except Refused:
        assert flaw is not None
    else:
        assert flaw is None
