"""The window steps of ``analysis.engine.windows`` on Spark: the same SQL as on DuckDB, the same
result as the pandas reference, and the route ``--engine spark`` takes (issue 14).

Every Spark query of these steps goes through ``analysis.engine.spark.sql_frame``; the tests
count them there (Spark itself is real: one local session for the module).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis.engine.aggregate as ag
from analysis.accounts.retention import lost_customers
from analysis.classify.classes import months_active
from analysis.classify.concentration import quarter_totals
from analysis.data import overview as ov
from analysis.data.periods import Quarter
from analysis.engine import spark as sp, windows as w

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

QUARTERS = ["2024Q4", "2025Q1", "2025Q2", "2025Q3"]


def _lines(n: int = 600, seed: int = 7, unit: str = "ns", customers: int = 40) -> pd.DataFrame:
    """Lines of ``customers`` customers over 15 months, with times to the nanosecond on the edges
    of days, months and quarters, returns, and a missing cost now and then."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-07-01") + pd.to_timedelta(rng.integers(0, 460, n), "D")
    # a day's first nanosecond, its last, or within it
    offset = rng.choice([0, 86_400 * 10**9 - 1, 43_200 * 10**9 + 7], n)
    date = (day + pd.to_timedelta(offset, "ns")).astype(f"datetime64[{unit}]")
    amount = rng.normal(60, 90, n).round(2)
    cost = np.where(rng.random(n) < 0.1, np.nan, np.abs(amount) * rng.uniform(0.4, 0.9, n))
    orders = pd.array([f"O{i}" for i in rng.integers(0, 250, n)], dtype="str")
    return pd.DataFrame(
        {
            "customer_id": pd.array(
                [f"K{i:03d}" for i in rng.integers(0, customers, n)], dtype="str"
            ),
            "date": date,
            "amount": amount,
            "cost": cost,
            "product_id": pd.array([f"P{i}" for i in rng.integers(0, 12, n)], dtype="str"),
            "order_id": orders,
        }
    )


# ---------------------------------------------------------------- the routing rule
@pytest.mark.parametrize(
    "env, rows, want",
    [
        ("", 99, "pandas"),
        ("", 100, "duckdb"),
        ("auto", 100, "duckdb"),
        ("duckdb", 99, "pandas"),
        ("pandas", 10**6, "pandas"),
        ("spark", 1, "spark"),  # asked for by name: whatever the size
        ("spark", 10**6, "spark"),
    ],
)
def test_engine_for(monkeypatch, env, rows, want):
    monkeypatch.setenv(ag.ENGINE_ENV, env)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    assert w.engine_for(pd.DataFrame({"x": range(rows)})) == want


def test_page00_counts_with_a_missing_id_stay_in_pandas(monkeypatch):
    tx = _lines(50).assign(customer_id=lambda d: d["customer_id"].where(d.index != 3))
    monkeypatch.setenv(ag.ENGINE_ENV, "spark")
    assert ov._counts_engine(tx) == "pandas"
    assert ov._counts_engine(tx.dropna(subset=["customer_id"])) == "spark"


# ---------------------------------------------------------------- months active
def test_months_active_by_hand(spark_queries):
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "a", "b"],
            "date": pd.to_datetime(
                [
                    "2025-01-02",
                    "2025-01-31 23:59:59.999999999",  # January to its last nanosecond
                    "2025-02-03",  # a return: no purchase
                    "2025-03-09",
                    "2024-12-31 23:59:59.999999999",  # before the window
                    "2025-04-01",  # the window's end: outside
                    "2025-02-10",
                ],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "amount": [5.0, 6.0, -2.0, 1.0, 9.0, 3.0, -4.0],
        }
    )
    want = {"customer_id": ["a"], "months_active": [2]}  # January and March
    for step in (months_active, w.months_active_duckdb, w.months_active_spark):
        assert step(tx, "2025-01-01", "2025-04-01").to_dict("list") == want, step
    assert len(spark_queries) == 1


@pytest.mark.parametrize("unit", ["ns", "us"])
def test_months_active_three_engines_agree(spark_queries, unit):
    tx = _lines(unit=unit)
    ref = months_active(tx, "2024-10-01", "2025-07-01")
    assert len(ref) > 30
    pd.testing.assert_frame_equal(w.months_active_duckdb(tx, "2024-10-01", "2025-07-01"), ref)
    pd.testing.assert_frame_equal(w.months_active_spark(tx, "2024-10-01", "2025-07-01"), ref)


# ---------------------------------------------------------------- quarter totals
def test_quarter_totals_by_hand(spark_queries):
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "c", "c", "c"],
            "date": pd.to_datetime(
                [
                    "2025-01-05",
                    "2025-03-31 23:59:59.999999999",  # Q1's last nanosecond
                    "2025-04-01",
                    "2025-07-01",  # outside the window
                    "2025-02-01",
                    "2025-02-02",
                    "2025-02-03",
                ],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "amount": [10.0, -4.0, 7.0, 99.0, 0.1, 0.2, 0.3],
            "cost": [6.0, np.nan, 2.0, 1.0, 0.0, 0.0, 0.0],
        }
    )
    window = (2025 * 4, 2025 * 4 + 1, "2025-01-01", "2025-07-01")
    # a in Q1: 10 - 6 (the return has no cost); b in Q2: 7 - 2; c: 0.1 + 0.2 + 0.3, exactly 0.6
    gp = {"k": [8100, 8100, 8101], "customer_id": ["a", "c", "b"], "gross_profit": [4.0, 0.6, 5.0]}
    sales = {"k": [8100, 8100, 8101], "customer_id": ["a", "c", "b"], "monetary": [6.0, 0.6, 7.0]}
    for step in (w.quarter_totals_duckdb, w.quarter_totals_spark):
        assert step(lines, *window, value="gross_profit").to_dict("list") == gp, step
        assert step(lines, *window).to_dict("list") == sales, step
        no_cost = step(lines.drop(columns="cost"), *window, value="gross_profit")
        assert no_cost["gross_profit"].isna().all() and len(no_cost) == 3
    assert 0.1 + 0.2 + 0.3 != 0.6  # what a DOUBLE sum gives


@pytest.mark.parametrize("value", ["monetary", "gross_profit"])
def test_quarter_totals_three_engines_agree(spark_queries, value):
    tx = _lines()
    window = (2024 * 4 + 3, 2025 * 4 + 2, "2024-10-01", "2025-10-01")
    duck = w.quarter_totals_duckdb(tx, *window, value=value)
    spark = w.quarter_totals_spark(tx, *window, value=value)
    pd.testing.assert_frame_equal(spark, duck, check_exact=True)  # exact sums on both
    ref = quarter_totals(tx, QUARTERS, value=value)  # the pandas reference
    assert len(ref) > 100
    names = {Quarter.parse(q).year * 4 + Quarter.parse(q).q - 1: q for q in QUARTERS}
    from_spark = pd.DataFrame(
        {
            "quarter": spark["k"].map(names).to_numpy(),
            "customer_id": spark["customer_id"].to_numpy(),
            value: spark[value].to_numpy(),
        }
    )
    pd.testing.assert_frame_equal(from_spark, ref, check_exact=False, rtol=0, atol=1e-9)


# ---------------------------------------------------------------- lost customers
def test_lost_customers_by_hand(spark_queries):
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "d", "e"],
            "date": pd.to_datetime(
                [
                    "2025-01-10",
                    "2025-03-31 23:59:59.999999",
                    "2025-02-05",
                    "2025-04-02",
                    "2024-12-31 23:59:59.999999",
                    "2025-03-01",
                    "2025-04-01",
                ],
                format="ISO8601",
            ),
            "amount": [5.0, 7.0, 3.0, 4.0, 9.0, -2.0, 1.0],
        }
    )
    assert lines["date"].dtype == "datetime64[us]"
    # a: bought before the quarter (last at its final microsecond), not in it; b bought in the
    # quarter; c only before the active window; d only returned; e only in the quarter
    want = {"customer_id": ["a"], "last_purchase": [pd.Timestamp("2025-03-31 23:59:59.999999")]}
    for step in (w.lost_customers_duckdb, w.lost_customers_spark):
        got = step(lines, "2025-01-01", "2025-04-01", "2025-07-01")
        assert got.to_dict("list") == want, step
        assert got["last_purchase"].dtype == "datetime64[us]"
    # the pandas reference: 90 days before 1 April is 1 January
    assert lost_customers(lines, Quarter.parse("2025Q2"), active_days=90).to_dict("list") == want


@pytest.mark.parametrize("unit", ["ns", "us"])
def test_lost_customers_three_engines_agree(spark_queries, unit):
    tx = _lines(unit=unit, customers=300)
    q = Quarter.parse("2025Q2")
    ref = lost_customers(tx, q, active_days=90)
    assert len(ref) > 30
    window = (q.start - pd.Timedelta(days=90), q.start, q.end)
    pd.testing.assert_frame_equal(w.lost_customers_duckdb(tx, *window), ref)
    got = w.lost_customers_spark(tx, *window)
    if unit == "ns":  # Spark holds microseconds: last purchases come back floored to them
        floored = ref["last_purchase"].dt.floor("us")
        assert (floored != ref["last_purchase"]).any()
        ref = ref.assign(last_purchase=floored)
    pd.testing.assert_frame_equal(got, ref)


# ---------------------------------------------------------------- page 00: counts and KPIs
def test_entity_counts_by_hand(spark_queries):
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(
                [
                    "2025-01-01",
                    "2025-01-01 23:59:59.999999999",
                    "2024-12-31 23:59:59.999999999",
                    "2025-01-01",
                ],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "order_id": ["o1", "o2", "o3", "o3"],
        }
    )
    for step in (ov.entity_counts, w.entity_counts_duckdb, w.entity_counts_spark):
        # every line has an order id: 3 orders
        assert step(lines) == {"customers": 2, "products": 0, "orders": 3}, step
        # one without: customer-days, a/1 Jan, b/31 Dec, b/1 Jan
        assert step(lines.assign(order_id=["o1", None, "o3", "o3"]))["orders"] == 3, step
        assert step(lines.drop(columns="order_id"))["orders"] == 3, step
        assert step(lines.iloc[1:].assign(order_id=["o2"] * 3))["orders"] == 1, step


@pytest.mark.parametrize("with_orders", [True, False], ids=["order-ids", "customer-days"])
def test_entity_counts_three_engines_agree(spark_queries, with_orders):
    tx = _lines() if with_orders else _lines().drop(columns="order_id")
    ref = ov.entity_counts(tx)
    assert ref["orders"] > 200 and ref["products"] == 12
    assert w.entity_counts_duckdb(tx) == ref
    assert w.entity_counts_spark(tx) == ref


def test_period_totals_by_hand(spark_queries):
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "c"],
            "date": pd.to_datetime(
                [
                    "2024-12-31 23:59:59.999999999",  # a's first line: before the quarter
                    "2025-01-03",
                    "2025-01-03",
                    "2025-02-03",
                    "2025-03-31 23:59:59.999999999",
                    "2025-04-01",  # the end: outside
                ],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "amount": [5.0, 0.1, 0.2, -0.3, 0.3, 50.0],
            "cost": [1.0, 0.05, 0.1, -0.2, 0.1, 1.0],
        }
    )
    want = {
        "sales": 0.3,  # 0.1 + 0.2 - 0.3 + 0.3, exactly
        "gross_profit": 0.25,  # 0.05 + 0.1 - 0.1 + 0.2
        "active_customers": 3,  # a, b and c bought (b's return is no purchase)
        "new_customers": 2,  # b and c: a had a line in December
        "orders": 4,  # customer-days: a/3 Jan, b/3 Jan, b/3 Feb, c/31 Mar
        "returns": 0.3,
    }
    periods = {"q1": ("2025-01-01", "2025-04-01")}
    for step in (w.period_totals_duckdb, w.period_totals_spark):
        assert step(lines, periods) == {"q1": want}, step
    got = ov.period_kpis(lines, *periods["q1"])  # the pandas reference, within 1e-9
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-9, rel=0), k


@pytest.mark.parametrize("with_cost", [True, False], ids=["cost", "no-cost"])
def test_period_totals_three_engines_agree(spark_queries, with_cost):
    tx = _lines() if with_cost else _lines().drop(columns="cost")
    periods = {str(q): (q.start, q.end) for q in map(Quarter.parse, QUARTERS[1:3])}
    duck, spark = w.period_totals_duckdb(tx, periods), w.period_totals_spark(tx, periods)
    assert spark.keys() == duck.keys() == periods.keys()
    for name, (start, end) in periods.items():
        ref = ov.period_kpis(tx, start, end)
        assert ref["active_customers"] > 10, name
        for k in duck[name]:
            assert spark[name][k] == duck[name][k] or np.isnan(duck[name][k]), (name, k)
            assert duck[name][k] == pytest.approx(ref[k], abs=1e-9, rel=0, nan_ok=True), (name, k)
    assert not [t for t in sp.default_session().catalog.listTables() if t.isTemporary]


# ---------------------------------------------------------------- --engine spark takes Spark
def test_every_caller_runs_on_spark_under_engine_spark(spark_queries, monkeypatch, spark_route):
    tx, q = _lines(), Quarter.parse("2025Q2")
    steps = {
        "months_active": lambda: months_active(tx, "2024-10-01", "2025-07-01"),
        "quarter_totals": lambda: quarter_totals(tx, QUARTERS, value="gross_profit"),
        "lost_customers": lambda: lost_customers(tx.assign(date=tx["date"].dt.floor("us")), q),
        "entity_counts": lambda: ov.entity_counts(tx),
        "quarter_kpis": lambda: ov.quarter_kpis(tx, "2025Q2"),
    }
    want = {name: step() for name, step in steps.items()}  # pandas (CCM_ENGINE=pandas)
    assert not spark_queries
    spark_route()
    assert len(tx) < ag.AUTO_MIN_ROWS  # small: Spark all the same, it was asked for
    for name, step in steps.items():
        before = len(spark_queries)
        got = step()
        assert len(spark_queries) > before, f"{name} did not run on Spark"
        assert all("ccm_tx_" in sql for sql in spark_queries[before:]), name
        if isinstance(got, dict):
            assert got == want[name], name
        else:
            pd.testing.assert_frame_equal(got, want[name], rtol=0, atol=1e-9, obj=name)
