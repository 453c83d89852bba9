"""The batch body's fast path accepts only what marshmallow accepts, and loads
it to the same values."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings
from marshmallow import Schema, ValidationError

from app.schemas.transfers import BatchBody, _fast_batch

SCHEMA = BatchBody()


def _valid_or_not(valid, invalid):
    return st.one_of(valid, valid, valid, invalid)


ITEM = st.fixed_dictionaries(
    {
        "id": _valid_or_not(
            st.from_regex(r"[\x21-\x7e]{1,64}", fullmatch=True),
            st.one_of(st.text(max_size=70), st.integers(), st.none()),
        ),
        "from_wallet": _valid_or_not(
            st.integers(1, 2**53), st.one_of(st.integers(), st.booleans(), st.floats())
        ),
        "to_wallet": _valid_or_not(
            st.integers(1, 2**53), st.one_of(st.integers(), st.text(max_size=3))
        ),
        "amount": _valid_or_not(
            st.from_regex(r"[0-9]{1,9}(\.[0-9]{1,2})?", fullmatch=True),
            st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.none()),
        ),
    },
    optional={
        "reference": st.one_of(st.none(), st.text(max_size=150), st.integers()),
        "linked": st.one_of(st.booleans(), st.none(), st.integers(0, 1), st.text(max_size=4)),
        "other": st.integers(),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEM, max_size=4), st.booleans())
def test_the_fast_path_agrees_with_marshmallow(items, extra_key):
    data = {"transfers": items, **({"more": 1} if extra_key else {})}
    fast = _fast_batch(data)
    try:
        slow = Schema.load(SCHEMA, data)
    except ValidationError:
        slow = None
    if fast is not None:
        assert slow is not None, data
        assert [dict(i) for i in slow["transfers"]] == fast["transfers"]


def test_a_bad_item_is_named_by_marshmallow():
    body = {"transfers": [{"id": "a", "from_wallet": 1, "to_wallet": 2, "amount": "1.001"}]}
    try:
        SCHEMA.load(body)
    except ValidationError as exc:
        assert "amount" in exc.messages["transfers"][0]
    else:
        raise AssertionError("1.001 was accepted")
