"""The per-customer base of notebook 01 and its summary.json numbers."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.classify import classes as cl
from analysis.classify.customer_base import (
    abc_windows_table,
    basis_column,
    customer_base,
    display_names,
    roster_ids,
    trend_quarters,
)
from analysis.data.periods import Quarter
from analysis.report.records import abc_record, class_counts, composition_summary, json_ready


def tx():
    rows = [
        ("a", "2023-11-15", 50.0),  # previous 12 months [2023-04-01, 2024-04-01)
        ("a", "2024-06-10", 100.0),  # in the 12 months to 2025Q1 (2024-04-01 .. 2025-04-01)
        ("a", "2025-02-01", 30.0),  # in the quarter
        ("a", "2025-02-01", -10.0),  # a return the same day
        ("b", "2024-01-05", 40.0),  # previous 12 months only
        ("b", "2025-03-31", 5.0),  # last day of the quarter
        ("c", "2024-12-01", -8.0),  # only a return in the window
        ("d", "2025-04-01", 99.0),  # after the quarter: ignored
    ]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_customer_base_windows():
    base = customer_base(tx(), "2025Q1").set_index("customer_id")
    assert base.index.tolist() == ["a", "b", "c"]  # d bought after the quarter
    # 12 months [2024-04-01, 2025-04-01): a 100 + 30 - 10, b 5, c -8
    assert base["monetary"].tolist() == pytest.approx([120, 5, -8])
    # previous 12 months [2023-04-01, 2024-04-01): a 50, b 40, c 0
    assert base["monetary_prev_12m"].tolist() == pytest.approx([50, 40, 0])
    assert base["monetary_quarter"].tolist() == pytest.approx([20, 5, 0])
    assert base["n_lines_quarter"].tolist() == [2, 1, 0]
    assert base["months_active"].tolist() == [2, 1, 0]
    # tenure over the whole history to 2025-04-01: a since 2023-11-15 = 503 days; recency from 2025-02-01 = 59
    assert base.loc["a", "tenure_days"] == 503 and base.loc["a", "recency_days"] == 59
    assert np.isnan(base.loc["c", "recency_days"])  # never bought, only returned
    assert base["gross_profit"].isna().all()  # no cost column


def test_basis_column_and_trend_quarters():
    assert basis_column("sales") == "monetary" and basis_column("gross_profit") == "gross_profit"
    with pytest.raises(ValueError, match="expected one of sales, gross_profit"):
        basis_column("profit")
    qs = trend_quarters(
        pd.Series(pd.to_datetime(["2024-11-03", "2025-03-01"])), Quarter.parse("2025Q1"), 8
    )
    assert [str(q) for q in qs] == ["2024Q4", "2025Q1"]  # nothing before the data


def test_display_names_and_roster_ids():
    df = pd.DataFrame({"customer_id": ["a", "b"]})
    customers = pd.DataFrame({"customer_id": ["a", "z"], "name": ["甲公司", "乙公司"]})
    assert display_names(df, customers).tolist() == ["甲公司", "b"]
    assert display_names(df, None).tolist() == ["a", "b"]
    moves = pd.DataFrame({"customer_id": ["a", "q"]})
    ids = roster_ids(df, customers, moves=moves)
    assert ids["customer_id"].tolist() == ["a", "b", "z", "q"]
    assert ids["active_12m"].tolist() == [True, True, False, False]


def test_abc_windows_table_and_record():
    base = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "monetary": [50.0, 30, 15, 5],
            "monetary_quarter": [0.0, 10, 10, 0],
        }
    )
    a12 = cl.abc_classes(base, "monetary")
    aq = cl.abc_classes(base[base["monetary_quarter"] > 0], "monetary_quarter")
    t = abc_windows_table(a12, aq, value_12m="monetary", value_quarter="monetary_quarter")
    assert t["window"].tolist() == ["12m"] * 3 + ["quarter"] * 3
    assert t["count"].tolist() == [2, 1, 1, 2, 0, 0]  # b and c tie in the quarter: both A
    rec = abc_record(a12, "monetary")
    assert rec["A"] == {
        "customers": 2,
        "customer_share": 0.5,
        "sales_share": 0.8,
        "value_share": 0.8,
    }


def test_json_ready_and_class_counts():
    assert json_ready(
        {"x": np.int64(3), "y": [np.float64(math.nan), 1.5], "z": np.bool_(True)}
    ) == {"x": 3, "y": [None, 1.5], "z": True}
    assert class_counts(pd.Series(["A", None, "A"]), "ABC", missing="unrated") == {
        "A": 2,
        "B": 0,
        "C": 0,
        "unrated": 1,
    }


def test_headline_numbers():
    base = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "monetary": [50.0, 30, 15, 5],
            "gross_profit": np.nan,
            "monetary_quarter": [0.0, 10, 10, 0],
        }
    )
    a12 = cl.abc_classes(base, "monetary")
    tiers = cl.pyramid_tiers(
        a12, "monetary", key_share=0.5, important_share=0.25, ordinary_share=0.25
    )
    quads = cl.sales_loyalty_quadrants(a12.assign(loyalty=[1.0, 0.0, 1.0, 0.0]))
    moves = cl.class_migration(a12.head(3), a12)
    out = composition_summary(
        abc=a12,
        value_col="monetary",
        basis="sales",
        cutoffs=(0.75, 0.95),
        concentration={"gini": 0.45, "top_share": 0.5, "top_n_share": 1.0},
        tiers=tiers,
        quadrants=quads,
        moves=moves,
        abc_quarter=cl.abc_classes(base, "monetary_quarter"),
        value_quarter="monetary_quarter",
        extra={"note": "x"},
    )
    assert (
        out["n_customers"] == 4
        and out["total_sales"] == 100.0
        and out["total_gross_profit"] is None
    )
    assert out["A"]["customers"] == 2 and out["C"]["sales_share"] == pytest.approx(0.05)
    assert out["pyramid"] == {"important": 1, "secondary": 1, "ordinary": 1, "small": 1}
    assert out["quadrants"] == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert out["migration"] == {"up": 0, "down": 0, "same": 3, "entered": 1, "left": 0}
    assert out["quarter_abc"]["total_sales"] == 20.0 and out["note"] == "x"
