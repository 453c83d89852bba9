"""The export's and the verifier's fast paths give exactly what the general
code gives: a hand-made JSON line, a statement entry rendered as text, and
journal rows read without the generic reader."""

from __future__ import annotations

import json
import string
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from wallets.audit import export as ex
from wallets.audit.export import JOURNAL_FIELDS, camt053
from wallets.audit.verify import journal as vj
from wallets.audit.verify.verifier import _Verifier

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12
) | st.sampled_from(["", "0", "-5", "12", "²", "٣", "a&b", "<x>", 'q"q', "\r\n", "北京", "\x00"])
ints = st.integers(min_value=0, max_value=10**12)
opt_ints = st.none() | ints
opt_texts = st.none() | texts


@st.composite
def journal_values(draw):
    return (
        draw(ints),
        draw(ints),
        draw(texts),
        draw(texts),
        draw(texts),
        draw(texts),
        draw(st.sampled_from(["0.01", "12.50", "-3.00"])),
        draw(ints),
        draw(st.sampled_from(["2026-06-01T02:00:00.000000Z", "x"])),
        draw(st.text(string.hexdigits, max_size=4)),
        draw(st.text(string.hexdigits, max_size=4)),
        draw(opt_ints),
        draw(opt_ints),
        draw(opt_texts),
        draw(opt_texts),
        draw(opt_texts),
    )


@settings(max_examples=300)
@given(journal_values())
def test_a_jsonl_line_is_the_json_of_the_row(v):
    assert json.loads(ex.jsonl_line(v)) == dict(zip(JOURNAL_FIELDS, v, strict=True))


def _generic(raw, from_csv: bool) -> dict:
    verifier = _Verifier(Path("."), None, [])
    check = verifier.check("rows")
    return verifier._typed(raw, "journal", 2, check, from_csv=from_csv)


@settings(max_examples=500)
@given(st.lists(texts, min_size=16, max_size=16))
def test_the_csv_fast_path_agrees_with_the_generic_reader(raw):
    fast = vj._fast_csv(raw)
    if fast is not None:
        assert fast == _generic(vj._as_dict(raw), from_csv=True)
        assert list(fast) == list(JOURNAL_FIELDS)


json_values = st.none() | st.booleans() | ints | st.floats(allow_nan=False) | texts


@settings(max_examples=500)
@given(st.fixed_dictionaries({k: json_values for k in JOURNAL_FIELDS}))
def test_the_json_fast_path_agrees_with_the_generic_reader(raw):
    fast = vj._fast_json(raw)
    if fast is not None:
        assert fast == _generic(raw, from_csv=False)


@given(journal_values())
def test_well_formed_rows_take_the_fast_paths(v):
    csv_row = ["" if x is None else str(x) for x in v]
    if all(csv_row[i] for i in (2, 3, 4, 5, 8, 9, 10)):
        assert vj._fast_csv(csv_row) == _generic(vj._as_dict(csv_row), from_csv=True)
    row = json.loads(ex.jsonl_line(v))
    if all(
        row[k] for k in ("kind", "debit_account", "credit_account", "asset", "prev_hash", "hash")
    ):
        assert vj._fast_json(row) == _generic(row, from_csv=False)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(camt053._EntryTemplate.SLOTS), texts), st.booleans())
def test_a_statement_entry_as_text_is_lxmls_serialization(given_values, with_reference):
    values = {k: given_values.get(k, "v") for k in camt053._EntryTemplate.SLOTS}
    template = camt053._TEMPLATES[with_reference]
    try:
        expected = etree.tostring(template.render(values), encoding="unicode")
    except ValueError:  # lxml refuses control characters: so must the text path
        try:
            template.render_text(values)
        except ValueError:
            return
        raise AssertionError("render_text accepted what lxml refuses") from None
    assert template.render_text(values) == expected


def test_hash_times_are_read_as_the_ledger_printed_them():
    assert vj._hash_time("2026-06-01T02:00:00.000000Z") == "2026-06-01T02:00:00.000000Z"
    # %f accepts fewer digits; the hash covers the time as the ledger prints it.
    assert vj._hash_time("2026-06-01T02:00:00.5Z") == "2026-06-01T02:00:00.500000Z"
    assert vj._hash_time("2026-06-01 02:00:00") is None
