"""Page 00 helpers, with hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from analysis.data import overview as ov


@pytest.fixture
def tx():
    # Q3 2025: a buys 100 (cost 60); Q4 2025: a buys 300 (cost 200) and returns 50 (cost -30), b (new) buys 100 (cost 70)
    # Q4 2024: a buys 200 (cost 150)
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "a"],
            "date": pd.to_datetime(
                ["2025-08-01", "2025-10-05", "2025-11-01", "2025-12-01", "2024-11-11"]
            ),
            "amount": [100.0, 300.0, -50.0, 100.0, 200.0],
            "cost": [60.0, 200.0, -30.0, 70.0, 150.0],
        }
    )


def test_quarter_kpis_against_previous_and_last_year(tx):
    k = ov.quarter_kpis(tx, "2025Q4").set_index("kpi")
    assert k.loc["sales", "this_quarter"] == 350.0  # 300 - 50 + 100
    assert k.loc["gross_profit", "this_quarter"] == 110.0  # 350 - (200 - 30 + 70)
    assert k.loc["gross_margin_rate", "this_quarter"] == pytest.approx(110 / 350)
    assert k.loc["active_customers", "this_quarter"] == 2
    assert k.loc["new_customers", "this_quarter"] == 1
    assert k.loc["orders", "this_quarter"] == 3  # no order_id: one per customer-day
    assert k.loc["returns", "this_quarter"] == 50.0
    assert k.loc["sales", "change_vs_previous"] == pytest.approx(350 / 100 - 1)
    assert k.loc["sales", "change_vs_last_year"] == pytest.approx(350 / 200 - 1)
    # rates change in points: 110/350 - 40/100
    assert k.loc["gross_margin_rate", "change_vs_previous"] == pytest.approx(110 / 350 - 0.4)


def test_monthly_sales_fills_empty_months(tx):
    m = ov.monthly_sales(tx)
    assert len(m) == 14  # 2024-11 .. 2025-12
    assert m.loc[m["month"] == pd.Period("2025-01", "M"), "sales"].item() == 0
    assert np.isnan(m.loc[m["month"] == pd.Period("2025-01", "M"), "gross_margin_rate"].item())
    assert m.loc[
        m["month"] == pd.Period("2025-10", "M"), "gross_margin_rate"
    ].item() == pytest.approx(0.1 / 0.3)


def test_quality_findings(tx):
    # 200 ordinary lines of 100 set the 99th percentile at 100, so 1e7 > 10 x 100 is an outlier
    normal = pd.DataFrame(
        {"customer_id": "d", "date": pd.Timestamp("2025-12-03"), "amount": 100.0, "cost": 50.0},
        index=range(200),
    ).assign(date=pd.date_range("2025-12-03", periods=200, freq="min"))
    dirty = pd.concat(
        [
            tx,
            tx.iloc[[0]],
            normal,
            pd.DataFrame(
                {
                    "customer_id": ["c"],
                    "date": pd.to_datetime(["2025-12-02"]),
                    "amount": [1e7],
                    "cost": [1.0],
                }
            ),
        ],
        ignore_index=True,
    )
    f = ov.quality_findings(dirty).set_index("finding")
    assert f.loc["duplicate_lines", "count"] == 1
    assert f.loc["return_lines", "amount"] == -50.0
    assert f.loc["outlier_lines", "count"] == 1
    assert f.loc["months_without_sales", "count"] == 9  # 2024-12 .. 2025-07 and 2025-09


def test_order_keys_prefer_order_id(tx):
    assert ov.entity_counts(tx.assign(order_id=["o1", "o2", "o2", "o3", "o4"]))["orders"] == 4
    assert ov.entity_counts(tx)["orders"] == 5


def test_kpi_display_formats(tx):
    shown = ov.kpi_display(ov.quarter_kpis(tx, "2025Q4"), "en").set_index("kpi")
    assert shown.loc["Sales", "this_quarter"] == "¥350"
    assert shown.loc["Sales", "change_vs_previous"] == "+250.0%"
    assert shown.loc["Gross margin rate", "change_vs_previous"].endswith(" pt")


def test_kpi_values_add_the_rates_by_hand():
    from analysis.data.overview import kpi_values

    totals = dict(sales=200.0, gross_profit=50.0, active_customers=3, new_customers=1, orders=4)
    got = kpi_values({**totals, "returns": 10.0})
    assert got["gross_margin_rate"] == 0.25  # 50 / 200
    assert got["avg_order_value"] == 50.0  # 200 / 4
    assert list(got) == [
        "sales",
        "gross_profit",
        "gross_margin_rate",
        "active_customers",
        "new_customers",
        "orders",
        "avg_order_value",
        "returns",
    ]
    empty = kpi_values({**totals, "sales": 0.0, "orders": 0, "returns": 0.0})
    assert np.isnan(empty["gross_margin_rate"]) and np.isnan(empty["avg_order_value"])
