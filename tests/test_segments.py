"""Every default client text fits two SMS segments in GSM-7, or says why not; the README's table is true."""

from __future__ import annotations

import pytest

from bench import segments as report

ROWS = report.rows()
# Characters that turn a text into UCS-2 by accident: typographic quotes, dashes, ellipsis, spaces.
ACCIDENTS = frozenset("‘’“”–—…\u00a0\u202f")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.locale}:{r.key}")
def test_every_default_text_fits_two_segments_or_says_why(row):
    # Spanish in UCS-2 is held to the same length: two GSM-7 segments were its accents GSM-7.
    assert not row.over_budget or row.allowed_over_two, (row.segments, row.body)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.locale}:{r.key}")
def test_no_default_text_falls_into_ucs2_by_accident(row):
    assert not ACCIDENTS & set(row.body), row.body
    if row.locale == "en":
        assert row.encoding == "GSM-7", row.body
    elif row.encoding == "UCS-2":
        # Correct Spanish needs á í ó ú (not GSM-7); nothing else may push a Spanish text to UCS-2.
        outside = {c for c in row.body if report.segments(c)[1] == "UCS-2"}
        assert outside <= report.SPANISH_LETTERS, outside


def test_every_reason_to_be_long_is_still_needed():
    long_keys = {row.key for row in ROWS if row.over_budget}
    assert set(report.OVER_TWO) <= long_keys, set(report.OVER_TWO) - long_keys


def test_the_readme_table_is_the_one_the_script_makes():
    assert report.readme_table() == report.table(ROWS), "run: .venv/bin/python -m bench.segments --write"
