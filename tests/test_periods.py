import pandas as pd
import pytest

from analysis.data.periods import (
    Quarter,
    between,
    latest_complete_quarter,
    quarters_covered,
    resolve_quarter,
)


def test_quarter_bounds_are_half_open():
    q = Quarter.parse("2025Q4")
    assert q.start == pd.Timestamp("2025-10-01")
    assert q.end == pd.Timestamp("2026-01-01")
    assert q.last_day == pd.Timestamp("2025-12-31")


def test_previous_and_same_quarter_last_year_cross_years():
    q = Quarter.parse("2025Q1")
    assert str(q.previous()) == "2024Q4"
    assert str(q.same_quarter_last_year()) == "2024Q1"
    assert q.trailing_12m_start == pd.Timestamp("2024-04-01")


@pytest.mark.parametrize("text", ["2025q3", " 2025-Q3 ", "2025_Q3"])
def test_parse_accepts_common_spellings(text):
    assert Quarter.parse(text) == Quarter(2025, 3)


@pytest.mark.parametrize("text", ["2025Q5", "Q3 2025", "2025", ""])
def test_parse_rejects_with_expected_form(text):
    with pytest.raises(ValueError, match="expected the form 2025Q4"):
        Quarter.parse(text)


def test_latest_complete_quarter_needs_the_last_fortnight():
    assert (
        str(latest_complete_quarter(pd.Series(pd.to_datetime(["2024-01-05", "2025-12-20"]))))
        == "2025Q4"
    )
    assert (
        str(latest_complete_quarter(pd.Series(pd.to_datetime(["2024-01-05", "2025-11-10"]))))
        == "2025Q3"
    )


def test_resolve_quarter_outside_data_is_an_error():
    dates = pd.Series(pd.to_datetime(["2024-01-05", "2025-12-20"]))
    with pytest.raises(ValueError, match="outside the data"):
        resolve_quarter("2019Q1", dates)
    assert str(resolve_quarter("2024Q2", dates)) == "2024Q2"


def test_quarters_covered_and_between():
    df = pd.DataFrame(
        {"date": pd.to_datetime(["2024-03-31", "2024-04-01", "2024-06-30", "2024-07-01"])}
    )
    assert [str(q) for q in quarters_covered(df["date"])] == ["2024Q1", "2024Q2", "2024Q3"]
    q2 = Quarter.parse("2024Q2")
    assert len(between(df, q2.start, q2.end)) == 2
