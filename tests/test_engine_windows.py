"""The DuckDB path of per-customer window counts equals the pandas reference."""

import numpy as np
import pandas as pd
import pytest
from conftest import as_validated

import analysis.engine.aggregate as ag
from analysis.classify.classes import months_active
from analysis.engine.windows import months_active_duckdb


def _lines(n: int = 4000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i:03d}" for i in rng.integers(0, 300, n)], dtype="string"),
            "date": pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 500, n), "D"),
            "amount": rng.normal(50, 80, n).round(2),
        }
    )


def test_months_active_duckdb_counts_the_hand_computed_months():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2025-01-02", "2025-01-20", "2025-02-03", "2025-03-09", "2024-12-31", "2025-02-10"]
            ),
            "amount": [5.0, 6.0, -2.0, 1.0, 9.0, -4.0],
        }
    )
    out = months_active_duckdb(tx, "2025-01-01", "2025-04-01")
    assert out.to_dict("list") == {"customer_id": ["a"], "months_active": [2]}


def test_months_active_hands_large_frames_to_duckdb_with_the_same_result(monkeypatch):
    tx = _lines()
    reference = months_active(tx, "2024-09-01", "2025-06-01")
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    calls = []
    import analysis.engine.windows as w

    real = w.months_active_duckdb
    monkeypatch.setattr(w, "months_active_duckdb", lambda *a, **k: calls.append(1) or real(*a, **k))
    fast = months_active(tx, "2024-09-01", "2025-06-01")
    assert calls, "a frame over the threshold goes to DuckDB"
    assert len(reference) > 100
    pd.testing.assert_frame_equal(fast, reference)


@pytest.mark.parametrize("engine", ["pandas"])  # spark: tests/test_spark_windows.py
def test_months_active_stays_in_pandas_for_other_engines(monkeypatch, engine):
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    monkeypatch.setenv(ag.ENGINE_ENV, engine)
    import analysis.engine.windows as w

    monkeypatch.setattr(w, "months_active_duckdb", lambda *a, **k: pytest.fail("DuckDB used"))
    assert len(months_active(_lines(), "2024-09-01", "2025-06-01")) > 0


@pytest.mark.parametrize("value", ["monetary", "gross_profit"])
@pytest.mark.parametrize("with_cost", [True, False], ids=["cost", "no-cost"])
def test_quarter_totals_hands_large_frames_to_duckdb_with_the_same_result(
    monkeypatch, value, with_cost
):
    from analysis.classify.concentration import quarter_totals

    rng = np.random.default_rng(5)
    tx = _lines()
    if with_cost:
        cost = rng.uniform(0, 40, len(tx))
        tx = tx.assign(cost=np.where(rng.random(len(tx)) < 0.1, np.nan, cost))  # some lines none
    quarters = ["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3"]
    reference = quarter_totals(tx, quarters, value=value)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    import analysis.engine.windows as w

    calls = []
    real = w.quarter_totals_duckdb
    monkeypatch.setattr(
        w, "quarter_totals_duckdb", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    fast = quarter_totals(tx, quarters, value=value)
    assert calls and len(reference) > 300
    pd.testing.assert_frame_equal(fast, reference, check_exact=False, rtol=1e-12)


def test_quarter_totals_duckdb_by_hand():
    from analysis.engine.windows import quarter_totals_duckdb

    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a"],
            "date": pd.to_datetime(["2025-01-05", "2025-03-31", "2025-04-01", "2025-07-01"]),
            "amount": [10.0, -4.0, 7.0, 99.0],
            "cost": [6.0, np.nan, 2.0, 1.0],
        }
    )
    out = quarter_totals_duckdb(
        lines, 2025 * 4, 2025 * 4 + 1, "2025-01-01", "2025-07-01", value="gross_profit"
    )
    # a in Q1: 10 - 6 (the return has no cost); b in Q2: 7 - 2; July is outside the window
    assert out.to_dict("list") == {
        "k": [8100, 8101],
        "customer_id": ["a", "b"],
        "gross_profit": [4.0, 5.0],
    }


def test_lost_customers_hands_large_frames_to_duckdb_with_the_same_result(monkeypatch):
    from analysis.accounts.retention import lost_customers
    from analysis.data.periods import Quarter

    tx, q = _lines(), Quarter.parse("2025Q2")
    reference = lost_customers(tx, q)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    import analysis.engine.windows as w

    calls = []
    real = w.lost_customers_duckdb
    monkeypatch.setattr(
        w, "lost_customers_duckdb", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    fast = lost_customers(tx, q)
    assert calls and len(reference) > 5
    pd.testing.assert_frame_equal(fast, reference)


def test_lost_customers_duckdb_by_hand():
    from analysis.engine.windows import lost_customers_duckdb

    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "d"],
            "date": pd.to_datetime(
                ["2025-01-10", "2025-02-01", "2025-02-05", "2025-04-02", "2024-12-01", "2025-03-01"]
            ),
            "amount": [5.0, 7.0, 3.0, 4.0, 9.0, -2.0],
        }
    )
    out = lost_customers_duckdb(lines, "2025-01-01", "2025-04-01", "2025-07-01")
    # a: bought before the quarter, not in it (last 2025-02-01); b bought in the quarter;
    # c only before the active window; d only returned
    assert out.to_dict("list") == {
        "customer_id": ["a"],
        "last_purchase": [pd.Timestamp("2025-02-01")],
    }


# ------------------------------------------------------------------ the run's validated table
@pytest.fixture
def kept_table(tmp_path, monkeypatch):
    """A report run's validated transactions (read back, so they carry the run's identity)."""
    from analysis.data import validated

    tx = _lines(20_000, seed=9).assign(cost=lambda d: d["amount"].abs() * 0.6)
    monkeypatch.delenv(validated.ENV_VAR, raising=False)  # no shared results: compute each
    return as_validated(tx, tmp_path)[0], tx


def test_sql_steps_read_the_validated_file_not_the_frame(kept_table, monkeypatch):
    from analysis.accounts.retention import lost_customers
    from analysis.classify.classes import months_active
    from analysis.classify.concentration import quarter_totals
    from analysis.data.periods import Quarter

    kept, plain = kept_table
    assert ag.validated_parquet(kept) is None  # fewer lines than LARGE_ROWS: copied
    monkeypatch.setattr(ag, "LARGE_ROWS", 1000)
    assert ag.validated_parquet(kept) is not None and ag.validated_parquet(plain) is None
    q = Quarter.parse("2025Q2")
    steps = {
        "summary": lambda t: ag.customer_summary(
            t, start="2024-09-01", as_of=q.end, engine="duckdb"
        ),
        "months": lambda t: months_active(t, "2024-09-01", "2025-06-01"),
        "quarters": lambda t: quarter_totals(t, ["2025Q1", "2025Q2"], value="gross_profit"),
        "lost": lambda t: lost_customers(t, q),
    }
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    want = {name: step(plain) for name, step in steps.items()}  # through Arrow copies
    # the frame in memory no longer matches its file: only a step reading the file gets `want`
    kept["amount"] = 0.0
    for name, step in steps.items():
        got = step(kept)
        pd.testing.assert_frame_equal(got, want[name], check_exact=False, rtol=1e-12, obj=name)


# ------------------------------------------------------------------ page 00's counts and KPIs
def _firm_lines(with_orders: bool, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tx = _lines(6000, seed=seed).assign(
        cost=lambda d: np.where(rng.random(len(d)) < 0.05, np.nan, d["amount"].abs() * 0.7),
        product_id=lambda d: pd.array([f"P{i}" for i in rng.integers(0, 40, len(d))], "string"),
    )
    if with_orders:
        orders = pd.array([f"O{i}" for i in rng.integers(0, 2500, len(tx))], dtype="string")
        tx = tx.assign(order_id=orders)
        tx.loc[tx.index[:3], "order_id"] = pd.NA  # some lines without: orders are customer-days
    return tx


@pytest.mark.parametrize("with_orders", [True, False], ids=["order-ids", "customer-days"])
def test_page00_counts_and_kpis_hand_large_frames_to_duckdb_with_the_same_result(
    monkeypatch, with_orders
):
    from analysis.data import overview as ov

    tx = _firm_lines(with_orders)
    want_counts, want_kpis = ov.entity_counts(tx), ov.quarter_kpis(tx, "2025Q3")
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 100)
    import analysis.engine.windows as w

    calls = []
    for name in ("entity_counts_duckdb", "period_totals_duckdb"):
        real = getattr(w, name)
        monkeypatch.setattr(w, name, lambda *a, _r=real, **k: calls.append(1) or _r(*a, **k))
    assert ov.entity_counts(tx) == want_counts
    got = ov.quarter_kpis(tx, "2025Q3")
    assert len(calls) == 2
    pd.testing.assert_frame_equal(got, want_kpis, check_exact=False, rtol=1e-12)
    assert want_kpis["this_quarter"].notna().all() and want_counts["orders"] > 100


def test_orders_with_every_order_id_are_distinct_ids():
    from analysis.engine.windows import entity_counts_duckdb

    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-01", "2025-01-02"]),
            "order_id": ["o1", "o2", "o3", "o3"],
        }
    )
    # every line has an order id: 3 orders; without the ids, 3 customer-days as well but from
    # other lines (a on 1 Jan, b on 1 and 2 Jan)
    assert entity_counts_duckdb(lines) == {"customers": 2, "products": 0, "orders": 3}
    lines.loc[0, "order_id"] = None
    assert entity_counts_duckdb(lines)["orders"] == 3  # customer-days: a/1 Jan, b/1 Jan, b/2 Jan
    assert entity_counts_duckdb(lines.iloc[1:].assign(order_id=["o2", "o2", "o2"]))["orders"] == 1


def test_a_query_out_of_memory_climbs_the_memory_ladder(monkeypatch):
    import analysis.engine.windows as w

    limits = []
    real = ag.duckdb_connect

    def connect(*, memory_limit=None, one_pass=True):
        limits.append(memory_limit)
        # the first step is far too small for the distinct months of 4,000 lines
        return real(memory_limit="1MB" if len(limits) == 1 else memory_limit, one_pass=one_pass)

    monkeypatch.setattr(ag, "duckdb_connect", connect)
    monkeypatch.setattr(ag, "memory_ladder", lambda n: [("1MB", True), ("256MB", False)])
    tx = _lines()
    out = w.months_active_duckdb(tx, "2024-09-01", "2025-06-01")
    assert limits == ["1MB", "256MB"]
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 10**9)
    pd.testing.assert_frame_equal(out, months_active(tx, "2024-09-01", "2025-06-01"))
