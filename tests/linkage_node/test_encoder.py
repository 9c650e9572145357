"""Our encoder is clkhash, byte for byte, on the schemas we accept; and it fills about
half the filter with the default schema on realistic data."""

from __future__ import annotations

import statistics
from pathlib import Path

from clkhash import clk
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage_node import Encoder, encode_all, load_schema, validate_roster
from linkage_node.features import feature_values
from linkage_node.schema import LinkageSchema
from linkage_node.synthetic import synthetic_roster

SECRET = b"pprl-hub test secret, 32 bytes!!"
letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=14)


def digits(n: int) -> st.SearchStrategy[str]:
    """Empty (a missing field) or exactly n digits."""
    return st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=n, max_size=n))


# record_id, given_name, family_name, date_of_birth, dob_year_month, dob_year_day,
# dob_year_monthday, ssn, ssn_head, ssn_tail (schema v3), then address_zip_year and
# phone_year (schema v4); schema v5 puts names_any_order after the (ignored) names
V3_FIELDS = (
    st.text(max_size=5),
    letters,
    letters,
    digits(8),
    digits(6),
    digits(6),
    digits(8),
    digits(9),
    digits(5),
    digits(4),
)
V4_EXTRA = (st.text(alphabet="abc 0123456789", max_size=30), digits(14))
records_v3 = st.tuples(*V3_FIELDS)
records = st.tuples(*V3_FIELDS, *V4_EXTRA)
records_v5 = st.tuples(
    *V3_FIELDS[:3], st.text(alphabet="abc xyz", max_size=29), *V3_FIELDS[3:], *V4_EXTRA
)
# record_id, given_name, family_name, dob_year, dob_month, dob_day, ssn, zip (schema v2)
records_v2 = st.tuples(
    st.text(max_size=5), letters, letters, digits(4), digits(2), digits(2), digits(9), digits(5)
)
SCHEMA_V2 = Path(__file__).parents[2] / "linkage_node" / "schemas" / "default-v2.json"
SCHEMA_V3 = SCHEMA_V2.with_name("default-v3.json")
SCHEMA_V5 = SCHEMA_V2.with_name("default-v5.json")


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(records, min_size=1, max_size=40))
def test_encoder_matches_clkhash_byte_for_byte(batch: list[tuple[str, ...]]) -> None:
    _assert_matches_clkhash(load_schema(), batch)


def _assert_matches_clkhash(schema: LinkageSchema, batch: list[tuple[str, ...]]) -> None:
    expected = [c.tobytes() for c in clk.generate_clks(batch, schema.schema, SECRET, max_workers=1)]
    encoder = Encoder(schema, SECRET)
    assert [encoder.encode(r) for r in batch] == expected


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(records_v5, min_size=1, max_size=20))
def test_encoder_matches_clkhash_on_schema_v5(batch: list[tuple[str, ...]]) -> None:
    _assert_matches_clkhash(load_schema(SCHEMA_V5), batch)


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(records_v3, min_size=1, max_size=20))
def test_encoder_matches_clkhash_on_schema_v3(batch: list[tuple[str, ...]]) -> None:
    _assert_matches_clkhash(load_schema(SCHEMA_V3), batch)


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(records_v2, min_size=1, max_size=20))
def test_encoder_matches_clkhash_on_schema_v2(batch: list[tuple[str, ...]]) -> None:
    _assert_matches_clkhash(load_schema(SCHEMA_V2), batch)


def test_parallel_encoding_gives_the_same_clks_in_order(tmp_path: Path) -> None:
    synthetic_roster(tmp_path / "r.csv", 12_000, seed=3)
    schema = load_schema()
    values = [feature_values(schema, r) for r in validate_roster(tmp_path / "r.csv").records]
    assert encode_all(schema, SECRET, values, workers=2) == encode_all(
        schema, SECRET, values, workers=1
    )


def test_default_schema_sets_about_half_the_bits(tmp_path: Path) -> None:
    synthetic_roster(tmp_path / "r.csv", 3_000, seed=5)
    schema = load_schema()
    encoder = Encoder(schema, SECRET)
    counts = [
        int.from_bytes(encoder.encode(feature_values(schema, r)), "big").bit_count()
        for r in validate_roster(tmp_path / "r.csv").records
    ]
    assert 0.40 <= statistics.mean(counts) / schema.bits <= 0.60
