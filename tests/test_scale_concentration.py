"""The concentration trend's one-pass quarter totals equal one customer summary per quarter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.classify import concentration as conc
from analysis.config import SAMPLE_DIR
from analysis.data import io as aio
from analysis.data.periods import Quarter
from analysis.engine.aggregate import customer_summary


@pytest.fixture(scope="module")
def tx():
    return aio.load_dataset(SAMPLE_DIR).transactions


@pytest.mark.parametrize("value", ["monetary", "gross_profit"])
def test_quarter_totals_equal_the_summary_of_each_quarter(tx, value):
    quarters = [Quarter.parse("2025Q4").shift(-k) for k in range(8)]
    totals = conc.quarter_totals(tx, quarters, value=value)
    for q in quarters:
        s = customer_summary(tx, start=q.start, as_of=q.end, engine="pandas")
        got = totals[totals["quarter"] == str(q)].set_index("customer_id")[value].sort_index()
        want = s.set_index("customer_id")[value].sort_index()
        assert list(got.index) == list(want.index)
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)


def test_quarter_totals_by_hand():
    lines = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B", "A", "C"],
            "date": pd.to_datetime(
                ["2025-01-05", "2025-03-31", "2025-02-01", "2025-04-01", "2024-12-31"]
            ),
            "amount": [100.0, -30.0, 50.0, 20.0, 999.0],
            "cost": [60.0, np.nan, 20.0, 5.0, 1.0],
        }
    )
    got = conc.quarter_totals(lines, ["2025Q1", "2025Q2"], value="gross_profit")
    assert got.to_dict("list") == {
        "quarter": ["2025Q1", "2025Q1", "2025Q2"],
        "customer_id": ["A", "B", "A"],
        "gross_profit": [40.0, 30.0, 15.0],  # A's return has no cost: left out
    }
    sales = conc.quarter_totals(lines, ["2025Q1"], value="monetary")
    assert sales["monetary"].tolist() == [70.0, 50.0]
