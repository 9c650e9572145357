"""canonical_json is RFC 8785: its fast path must agree with the reference library."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.canonical import EncodingError, canonical_json, strict_json_loads

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(),
)
keys = st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127)))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500)
@given(value=json_values)
def test_canonical_json_matches_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(EncodingError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@pytest.mark.parametrize("value", [1.5, 2**60, {"k": float("nan")}])
def test_values_outside_the_fast_path_still_follow_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(EncodingError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_strict_parser_refuses_duplicates_and_constants() -> None:
    with pytest.raises(EncodingError, match="duplicate key 'a'"):
        strict_json_loads(b'{"a":1,"a":2}')
    with pytest.raises(EncodingError):
        strict_json_loads(b'{"a":NaN}')
