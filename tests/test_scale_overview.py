"""Page 00's counts at scale: the fast forms equal the plain ones they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import overview as ov


@pytest.fixture
def lines():
    rng = np.random.default_rng(7)
    n = 3_000
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice([f"C{i}" for i in range(200)], n), dtype="string"),
            "date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
            + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"),
            "amount": np.round(rng.normal(100, 80, n), 0),
            "cost": np.where(rng.random(n) < 0.1, np.nan, 50.0),
        }
    )
    return pd.concat([tx, tx.sample(300, random_state=1)], ignore_index=True)  # exact repeats


def test_order_count_is_the_number_of_customer_days(lines):
    keys = lines["customer_id"] + "|" + lines["date"].dt.strftime("%Y-%m-%d")
    assert ov.order_count(lines) == keys.nunique()
    # by hand: C1 twice on one day (one order) and once the next day; C2 once
    tiny = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1", "C2"],
            "date": pd.to_datetime(
                ["2025-01-01 09:00", "2025-01-01 17:00", "2025-01-02 08:00", "2025-01-01 10:00"]
            ),
        }
    )
    assert ov.order_count(tiny) == 3
    assert ov.order_count(tiny.assign(order_id=["a", "b", "b", "c"])) == 3
    assert ov.order_count(tiny.iloc[:0]) == 0


def test_duplicated_lines_equal_pandas_duplicated(lines):
    want = lines.duplicated(keep="first").to_numpy()
    assert want.sum() >= 300
    np.testing.assert_array_equal(ov.duplicated_lines(lines), want)
    assert not ov.duplicated_lines(lines.drop_duplicates()).any()


def _kpis_by_sets(tx, start, end):
    cur = tx[(tx["date"] >= start) & (tx["date"] < end)]
    seen = set(tx.loc[tx["date"] < start, "customer_id"])
    active = set(cur.loc[cur["amount"] > 0, "customer_id"])
    return len(active), len(active - seen)


def test_new_and_active_customers_equal_the_set_definition(lines):
    for start, end in [("2024-01-01", "2024-04-01"), ("2025-10-01", "2026-01-01")]:
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        k = ov.period_kpis(lines, start, end)
        assert (k["active_customers"], k["new_customers"]) == _kpis_by_sets(lines, start, end)
    q = ov.quarter_kpis(lines, "2025Q4").set_index("kpi")
    assert (
        q.loc["active_customers", "this_quarter"]
        == _kpis_by_sets(lines, pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"))[0]
    )


def test_a_customer_whose_first_line_is_a_return_is_not_new():
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "date": pd.to_datetime(["2025-06-01", "2025-11-01", "2025-11-02"]),
            "amount": [-10.0, 50.0, 20.0],
        }
    )
    k = ov.period_kpis(tx, pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"))
    assert (k["active_customers"], k["new_customers"], k["orders"]) == (2, 1, 2)
