"""customer_summary: the pandas reference, the DuckDB fast path and the Spark path agree.

The hand-built lines hold every awkward case: several lines on one day, returns,
a customer with one purchase, a customer with only a return, equal net sales (a
tie for the ABC rank) and lines without cost.  Amounts are multiples of 0.25, so
every sum is exact in binary floating point and the engines must agree exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.engine.aggregate import (
    SUMMARY_COLUMNS,
    abc_by_monetary,
    customer_summary,
    load_sql,
    summary_sql,
)

LINES = [
    # customer, timestamp, amount, cost
    ("K01", "2025-01-03 09:00", 100.0, 60.0),
    ("K01", "2025-01-03 17:30", 50.0, 30.0),  # same day: still one purchase
    ("K01", "2025-02-02 10:00", 30.0, np.nan),  # no cost on this line
    ("K01", "2025-02-10 11:00", -20.0, -12.0),  # a return
    ("K02", "2025-03-01 08:00", 80.0, 50.0),  # one purchase only
    ("K03", "2025-01-10 12:00", 40.0, 20.0),
    ("K03", "2025-02-20 12:00", 40.0, 20.0),
    ("K04", "2025-01-15 00:00", 80.0, 40.0),  # ties K02 on net sales (80)
    ("K05", "2025-02-01 15:00", -10.25, -6.0),  # only a return
    ("K06", "2024-12-31 23:59", 12.5, 10.0),  # just before 2025
    ("K06", "2025-03-30 07:00", 0.0, 0.0),  # a zero line: neither purchase nor return
]


@pytest.fixture
def tx() -> pd.DataFrame:
    df = pd.DataFrame(LINES, columns=["customer_id", "date", "amount", "cost"])
    return df.assign(
        customer_id=df["customer_id"].astype("str"),
        date=pd.to_datetime(df["date"]).astype("datetime64[ns]"),
    )


WINDOWS = [
    {},  # as_of = day after the last line
    {"as_of": "2025-03-01"},  # drops K02 and K06's zero line
    {"start": "2025-01-01"},  # as_of from all lines, K06 keeps its zero line
    {"start": "2025-01-01", "as_of": "2025-04-01"},  # drops K06's purchase
    {"start": "2025-01-03 12:00", "as_of": "2025-02-10 11:00"},  # times inside days
]


# ---------------------------------------------------------------- the reference itself
def test_reference_hand_computed(tx):
    s = customer_summary(tx, engine="pandas", as_of="2025-04-01").set_index("customer_id")
    k1 = s.loc["K01"]
    # purchase days 2025-01-03 and 2025-02-02 (the two 01-03 lines are one purchase)
    assert k1["frequency"] == 2 and k1["n_lines"] == 4
    assert k1["monetary"] == 160.0  # 100 + 50 + 30 - 20
    assert k1["gross_profit"] == 52.0  # (100-60) + (50-30) + (-20+12); no-cost line skipped
    assert k1["returns_amount"] == 20.0 and k1["n_returns"] == 1
    assert k1["recency_days"] == 58  # 2025-04-01 - 2025-02-02
    assert k1["tenure_days"] == 88  # 2025-04-01 - 2025-01-03
    assert k1["avg_interval_days"] == 30.0  # 30 days / (2 - 1)
    k2 = s.loc["K02"]
    assert k2["frequency"] == 1 and np.isnan(k2["avg_interval_days"])  # one purchase: no interval
    k5 = s.loc["K05"]
    assert k5["frequency"] == 0 and pd.isna(k5["first_date"]) and k5["monetary"] == -10.25
    assert s.loc["K03", "avg_interval_days"] == 41.0  # 2025-01-10 -> 2025-02-20
    assert s.loc["K06", "n_lines"] == 2 and s.loc["K06", "n_returns"] == 0


def test_default_as_of_is_day_after_last_line(tx):
    s = customer_summary(tx, engine="pandas").set_index("customer_id")
    assert s.loc["K06", "recency_days"] == 90  # 2025-03-31 - 2024-12-31


def test_abc_boundary_rule_known_values():
    # classification.abc_classes' docstring case: 50, 30, 15, 5 with (0.75, 0.95) ->
    # A (0% before), A (50% before), B (80% before), C (95% before: reaches the cut-off)
    s = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "monetary": [50.0, 30.0, 15.0, 5.0]})
    assert abc_by_monetary(s, 0.75, 0.95)["abc_class"].tolist() == ["A", "A", "B", "C"]
    # equal values share the class of the first of them: c (80% before) and d (90%)
    # would be B alone, but b (70% before) opens their tie group; negatives are C
    s = pd.DataFrame({"customer_id": list("abcde"), "monetary": [70.0, 10.0, 10.0, 10.0, -5.0]})
    assert abc_by_monetary(s, 0.75, 0.95)["abc_class"].tolist() == ["A", "A", "A", "A", "C"]


def test_abc_rejects_bad_cutoffs(tx):
    with pytest.raises(ValueError, match="0 < cutoff_a < cutoff_b <= 1"):
        customer_summary(tx, abc=(0.95, 0.75))


def test_unknown_engine_lists_valid_ones(tx):
    with pytest.raises(ValueError, match="auto, pandas, duckdb, spark"):
        customer_summary(tx, engine="polars")


def test_missing_column_is_named(tx):
    with pytest.raises(KeyError, match="Required column amount missing"):
        customer_summary(tx.drop(columns="amount"), engine="duckdb")


# ---------------------------------------------------------------- DuckDB = pandas
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("with_cost", [True, False])
def test_duckdb_equals_reference(tx, window, with_cost):
    t = tx if with_cost else tx.drop(columns="cost")
    ref = customer_summary(t, engine="pandas", **window)
    fast = customer_summary(t, engine="duckdb", **window)
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)


def test_duckdb_equals_reference_with_abc(tx):
    for cut in [(0.75, 0.95), (0.5, 0.8), (0.2, 1.0)]:
        ref = customer_summary(tx, engine="pandas", abc=cut)
        fast = customer_summary(tx, engine="duckdb", abc=cut)
        pd.testing.assert_frame_equal(fast, ref, check_exact=True)
    # K02 and K04 tie at 80 and share a class
    classes = fast.set_index("customer_id")["abc_class"]
    assert classes["K02"] == classes["K04"]


def test_abc_matches_classification_module(tx):
    classification = pytest.importorskip("analysis.classify.classes")
    summary = customer_summary(tx, engine="duckdb", abc=(0.5, 0.8))
    theirs = classification.abc_classes(
        summary.drop(columns="abc_class"), "monetary", cutoffs=(0.5, 0.8)
    ).set_index("customer_id")["abc_class"]
    assert summary.set_index("customer_id")["abc_class"].to_dict() == theirs.to_dict()


def test_duckdb_empty_window(tx):
    ref = customer_summary(tx, engine="pandas", as_of="2020-01-01")
    fast = customer_summary(tx, engine="duckdb", as_of="2020-01-01")
    assert len(fast) == 0 and list(fast.columns) == SUMMARY_COLUMNS
    pd.testing.assert_frame_equal(fast, ref, check_exact=True, check_index_type=False)


def test_duckdb_integer_ids_and_custom_columns(tx):
    t = tx.rename(columns={"customer_id": "cust", "date": "day", "amount": "net"}).assign(
        cust=lambda d: d["cust"].str[1:].astype("int64")
    )
    kw = dict(id_col="cust", date_col="day", amount_col="net", cost_col="cost", as_of="2025-04-01")
    ref = customer_summary(t, engine="pandas", **kw)
    fast = customer_summary(t, engine="duckdb", **kw)
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)
    assert fast["customer_id"].dtype == np.int64


def test_duckdb_reads_parquet_without_pandas(tx, tmp_path):
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path, index=False)
    ref = customer_summary(tx, engine="pandas", as_of="2025-04-01", abc=(0.75, 0.95))
    for src in (path, tmp_path, str(tmp_path / "*.parquet")):
        got = customer_summary(src, as_of="2025-04-01", abc=(0.75, 0.95))  # auto -> DuckDB
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
        small = customer_summary(src, as_of="2025-04-01", abc=(0.75, 0.95), engine="pandas")
        pd.testing.assert_frame_equal(small, ref, check_exact=True)


def test_duckdb_takes_ids_as_loaded_by_io(tx):
    # analysis.data.io gives ids the nullable "string" dtype
    t = tx.assign(customer_id=tx["customer_id"].astype("string"))
    pd.testing.assert_frame_equal(
        customer_summary(t, engine="duckdb", abc=(0.75, 0.95)),
        customer_summary(t, engine="pandas", abc=(0.75, 0.95)),
        check_exact=True,
    )


def test_auto_engine_agrees_on_a_larger_frame(monkeypatch):
    import analysis.engine.aggregate as agg

    calls = []
    duck = agg._summary_duckdb
    monkeypatch.setattr(agg, "_summary_duckdb", lambda *a, **k: calls.append(1) or duck(*a, **k))
    monkeypatch.setattr(agg, "AUTO_MIN_ROWS", 50_000)  # keep the test data small
    rng = np.random.default_rng(3)
    n = 60_000  # above AUTO_MIN_ROWS: DuckDB
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i:05d}" for i in rng.integers(0, 3000, n)], dtype="str"),
            "date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 730 * 24, n), unit="h"),
            "amount": np.round(rng.lognormal(4, 1, n) * np.where(rng.random(n) < 0.05, -1, 1), 2),
        }
    )
    ref = customer_summary(tx, engine="pandas", abc=(0.75, 0.95))
    fast = customer_summary(tx, abc=(0.75, 0.95))
    assert calls == [1]
    customer_summary(tx.iloc[:1000])  # below AUTO_MIN_ROWS: pandas
    assert calls == [1]
    pd.testing.assert_frame_equal(
        fast.drop(columns=["monetary", "returns_amount"]),
        ref.drop(columns=["monetary", "returns_amount"]),
        check_exact=True,
    )
    # sums of cents in another order: equal to the last bits
    pd.testing.assert_frame_equal(
        fast[["monetary", "returns_amount"]], ref[["monetary", "returns_amount"]], rtol=1e-12
    )


def test_duckdb_retries_with_more_memory_when_a_query_does_not_fit(monkeypatch):
    import analysis.engine.aggregate as agg

    rng = np.random.default_rng(5)
    n = 20_000
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i:05d}" for i in rng.integers(0, 3000, n)], dtype="str"),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D"),
            "amount": rng.integers(-5, 100, n).astype("float64"),
        }
    )
    used, connect = [], agg.duckdb_connect

    def spy(**kw):
        used.append((kw.get("memory_limit"), kw.get("one_pass")))
        return connect(**kw)

    monkeypatch.setattr(agg, "duckdb_connect", spy)
    monkeypatch.setattr(agg, "DUCKDB_MEMORY_LIMIT", "1MB")  # too small for anything
    got = customer_summary(tx, engine="duckdb", abc=(0.75, 0.95))
    assert used == [("1MB", True), ("2GB", False)]
    pd.testing.assert_frame_equal(got, customer_summary(tx, engine="pandas", abc=(0.75, 0.95)))


def test_sql_is_one_definition():
    text = load_sql("customer_summary")
    assert "COUNT(DISTINCT CASE WHEN amount > 0 THEN day END)" in text
    duck = summary_sql("duckdb", "t", columns=["customer_id", "date", "amount"])
    spark = summary_sql("spark", "t", columns=["customer_id", "date", "amount"])
    # the two renderings differ only in quoting and the day-number expression
    assert duck.replace('"', "`").count("COUNT(DISTINCT") == spark.count("COUNT(DISTINCT") == 1


# ---------------------------------------------------------------- Spark = pandas
@pytest.mark.spark
@pytest.mark.xdist_group("spark")  # one worker starts the module's Spark session (a JVM), once
def test_spark_equals_reference(tx, spark):
    from analysis.engine.spark import customer_summary_spark

    for window, abc in [({}, (0.75, 0.95)), (WINDOWS[3], None)]:
        ref = customer_summary(tx, engine="pandas", abc=abc, **window)
        got = customer_summary_spark(tx, spark=spark, abc=abc, **window)
        pd.testing.assert_frame_equal(got, ref, check_exact=True)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_engine_from_parquet_without_cost(tx, spark, tmp_path):
    t = tx.drop(columns="cost")
    # Spark reads Parquet timestamps in micro- or milliseconds, not nanoseconds
    t.to_parquet(tmp_path / "tx.parquet", index=False, coerce_timestamps="us")
    ref = customer_summary(
        t, engine="pandas", start="2025-01-01", as_of="2025-04-01", abc=(0.5, 0.8)
    )
    got = customer_summary(
        str(tmp_path / "tx.parquet"),
        engine="spark",
        start="2025-01-01",
        as_of="2025-04-01",
        abc=(0.5, 0.8),
    )
    pd.testing.assert_frame_equal(got, ref, check_exact=True)


# ---------------------------------------------------------------- without pyarrow
@pytest.fixture
def no_arrow(monkeypatch):
    """The report's environment has no pyarrow: DuckDB scans and returns pandas frames."""
    from analysis.engine import aggregate

    monkeypatch.setattr(aggregate, "arrow_available", lambda: False)


@pytest.mark.parametrize("window", WINDOWS)
def test_duckdb_without_arrow_equals_reference(tx, window, no_arrow):
    ref = customer_summary(tx, engine="pandas", abc=(0.75, 0.95), **window)
    fast = customer_summary(tx, engine="duckdb", abc=(0.75, 0.95), **window)
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)


def test_parquet_read_and_written_without_arrow(tx, tmp_path, no_arrow):
    from analysis.data.io import write_frame
    from analysis.engine.aggregate import read_parquet_frame

    write_frame(tx, tmp_path / "tx.parquet")  # DuckDB writes it
    back = read_parquet_frame(tmp_path / "tx.parquet")
    assert back["amount"].sum() == pytest.approx(tx["amount"].sum())
    assert list(back.columns) == list(tx.columns) and len(back) == len(tx)
    ref = customer_summary(tx, engine="pandas", as_of="2025-04-01", abc=(0.75, 0.95))
    for src in (tmp_path / "tx.parquet", tmp_path, str(tmp_path / "*.parquet")):
        got = customer_summary(src, as_of="2025-04-01", abc=(0.75, 0.95), engine="pandas")
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
        got = customer_summary(src, as_of="2025-04-01", abc=(0.75, 0.95))  # auto -> DuckDB
        pd.testing.assert_frame_equal(got, ref, check_exact=True)


def test_money_sums_of_the_sql_path_are_exact_in_any_order():
    # 0.10 + 0.20 + 0.30 summed as doubles in this order is 0.6000000000000001; the SQL path sums
    # money exactly, so the result does not depend on the order the engine reads the lines in
    # (parallel DuckDB read them in a different order from run to run, and a customer on an ABC
    # boundary could change class between two runs of the same report)
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-02"]),
            "amount": [0.1, 0.2, 0.3, -0.7],
            "cost": [0.0, 0.0, 0.0, 0.0],
        }
    )
    out = customer_summary(lines, engine="duckdb").set_index("customer_id")
    assert out.loc["a", "monetary"] == 0.6
    assert out.loc["a", "gross_profit"] == 0.6
    assert out.loc["b", "returns_amount"] == 0.7
    rng = np.random.default_rng(0)
    many = pd.DataFrame(
        {
            "customer_id": rng.choice(["x", "y"], 20_000),
            "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, 20_000), "D"),
            "amount": rng.integers(-5_000, 100_000, 20_000) / 100,
            "cost": rng.integers(0, 50_000, 20_000) / 100,
        }
    )
    sums = [
        customer_summary(many.sample(frac=1, random_state=seed), engine="duckdb")
        .set_index("customer_id")[["monetary", "gross_profit", "returns_amount"]]
        .sort_index()
        for seed in (1, 2, 3)
    ]
    for other in sums[1:]:
        pd.testing.assert_frame_equal(other, sums[0], check_exact=True)


def test_duckdb_days_of_nanosecond_times_are_floored_as_pandas_does():
    # DuckDB's CAST(TIMESTAMP_NS AS DATE) rounds to the microsecond first: 23:59:59.9999995
    # was the next day, and these two purchases one day instead of two
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(
                [
                    "2025-01-03 23:59:59.9999995",
                    "2025-01-04 00:00:00.1",
                    "1969-12-31 23:59:59.9999995",
                ]
            ).as_unit("ns"),
            "amount": [10.0, 5.0, 1.0],
        }
    )
    fast = customer_summary(lines, engine="duckdb", as_of="2025-02-01").set_index("customer_id")
    assert fast.loc["a", "frequency"] == 2
    assert fast.loc["a", "first_date"] == pd.Timestamp("2025-01-03")
    assert fast.loc["b", "last_date"] == pd.Timestamp("1969-12-31")
    ref = customer_summary(lines, engine="pandas", as_of="2025-02-01").set_index("customer_id")
    pd.testing.assert_frame_equal(fast, ref, check_dtype=False)
