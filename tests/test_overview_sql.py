"""Page 00's monthly sales and quality findings on DuckDB and Spark (analysis.engine.overview_sql):
the same results as the pandas reference, hand-computed cases, and the routes (issue 14).

Spark spark_queries go through ``analysis.engine.spark.sql_frame``; the tests count them there (Spark
itself is real: one local session for the module).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import as_validated

import analysis.engine.aggregate as ag
from analysis.data import overview as ov
from analysis.engine import overview_sql as osql, spark as sp, windows as w

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _lines(n: int = 500, seed: int = 3, unit: str = "ns") -> pd.DataFrame:
    """Lines over 14 months with a gap, times on the edges of days and months, returns, zeros
    (some -0.0), tied amounts, a few huge ones, missing costs and amounts, product ids missing or
    unknown, and exact repeats of earlier lines (some differing only in the sign of a zero)."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-11-01") + pd.to_timedelta(rng.integers(0, 425, n), "D")
    day = day.where((day < "2025-04-01") | (day >= "2025-06-01"), day + pd.Timedelta(days=61))
    offset = rng.choice([0, 86_400 * 10**9 - 1, 43_200 * 10**9 + 7], n)
    date = (day + pd.to_timedelta(offset, "ns")).astype(f"datetime64[{unit}]")
    pick = rng.choice(6, n, p=[0.6, 0.1, 0.1, 0.08, 0.07, 0.05])
    fixed = np.array([50.0, 120.0, 0.0, -0.0, 3e4])[np.maximum(pick - 1, 0)]
    amount = np.where(pick == 0, np.round(rng.normal(80, 60, n), 2), fixed)
    amount = np.where(rng.random(n) < 0.02, np.nan, amount)
    cost = np.where(rng.random(n) < 0.1, np.nan, np.round(np.abs(amount) * 0.6, 2))
    cost = np.where(amount == 0, rng.choice([0.0, -0.0], n), cost)
    product = [f"P{i}" if i < 14 else None for i in rng.integers(0, 16, n)]
    tx = pd.DataFrame(
        {
            "customer_id": pd.array([f"K{i:02d}" for i in rng.integers(0, 30, n)], dtype="str"),
            "date": date,
            "amount": amount,
            "cost": cost,
            "product_id": pd.array(product, dtype="str"),
            "note": pd.array(rng.choice(["a", "b", None], n), dtype="str"),
        }
    )
    again = tx.sample(min(60, n // 4), random_state=seed)
    signed = again.assign(amount=lambda d: np.where(d["amount"] == 0, -d["amount"], d["amount"]))
    return pd.concat([tx, again, signed], ignore_index=True)


PRODUCTS = pd.DataFrame({"product_id": pd.array([f"P{i}" for i in range(11)], dtype="str")})


def _route(monkeypatch, engine: str) -> None:
    """Page 00's functions take ``engine`` whatever the size; the other one fails if used."""
    monkeypatch.setenv(ag.ENGINE_ENV, engine)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 1)
    if engine == "spark":
        monkeypatch.setattr(w, "on_lines", lambda *a, **k: pytest.fail("DuckDB used"))
    else:
        monkeypatch.setattr(sp, "on_spark_lines", lambda *a, **k: pytest.fail("Spark used"))


def _on_each_engine(monkeypatch, step, spark_queries):
    """``step()`` in pandas, on DuckDB and on Spark (which must have run a query)."""
    out = {}
    for engine in ("pandas", "duckdb", "spark"):
        with monkeypatch.context() as m:
            _route(m, engine)
            before = len(spark_queries)
            out[engine] = step()
            assert (len(spark_queries) > before) == (engine == "spark"), engine
    return out


def _same_findings(got: pd.DataFrame, want: pd.DataFrame, exact: bool = False) -> None:
    assert got["finding"].tolist() == want["finding"].tolist()
    assert got["count"].tolist() == want["count"].tolist()
    if exact:
        assert got["amount"].tolist() == want["amount"].tolist()
    else:
        np.testing.assert_allclose(got["amount"], want["amount"], rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- monthly sales
def test_monthly_sales_by_hand(spark_queries, monkeypatch):
    tx = pd.DataFrame(
        {
            "date": pd.to_datetime(
                [
                    "2025-01-02",
                    "2025-01-31 23:59:59.999999999",  # January to its last nanosecond
                    "2025-03-01",
                    "2025-03-09",
                    "NaT",  # no month: left out
                    "2025-04-30",
                ],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "amount": [10.0, -4.0, 5.0, np.nan, 99.0, np.nan],
            "cost": [6.0, np.nan, np.nan, 1.0, 1.0, 2.0],
        }
    )
    want = pd.DataFrame(
        {
            "month": pd.PeriodIndex(["2025-01", "2025-02", "2025-03", "2025-04"], freq="M"),
            # January 10 - 4; February empty; April a line without an amount
            "sales": [6.0, 0.0, 5.0, 0.0],
            # only 10 - 6 has both; none in March or April (NaN), February has no line (0)
            "gross_profit": [4.0, 0.0, np.nan, np.nan],
            "gross_margin_rate": [4 / 6, np.nan, np.nan, np.nan],
        }
    )
    got = _on_each_engine(monkeypatch, lambda: ov.monthly_sales(tx), spark_queries)
    for engine, frame in got.items():
        pd.testing.assert_frame_equal(frame, want, obj=engine)
    assert len(spark_queries) == 1


@pytest.mark.parametrize("unit", ["ns", "us"])
@pytest.mark.parametrize("with_cost", [True, False], ids=["cost", "no-cost"])
def test_monthly_sales_three_engines_agree(spark_queries, monkeypatch, unit, with_cost):
    tx = _lines(unit=unit)
    tx = tx if with_cost else tx.drop(columns="cost")
    got = _on_each_engine(monkeypatch, lambda: ov.monthly_sales(tx), spark_queries)
    ref = got["pandas"]
    assert len(ref) == 14 and (ref["sales"] == 0).sum() == 2  # April and May 2025 empty
    assert ref["gross_profit"].isna().any() != with_cost
    pd.testing.assert_frame_equal(got["duckdb"], ref, rtol=1e-12)
    pd.testing.assert_frame_equal(got["spark"], got["duckdb"], rtol=0, atol=0)


def test_monthly_sales_of_no_lines_fails_as_pandas(spark_queries, monkeypatch):
    tx = _lines().iloc[:0]
    for engine in ("pandas", "duckdb", "spark"):
        with monkeypatch.context() as m:
            _route(m, engine)
            with pytest.raises(ValueError, match="NaT"):
                ov.monthly_sales(tx)


# ---------------------------------------------------------------- the 99th percentile
def _positive_quantile(engine: str, values: np.ndarray) -> float:
    tx = pd.DataFrame({"date": pd.Timestamp("2025-01-01"), "amount": values})

    def run(s):
        n = int(s.row(f"SELECT COUNT(CASE WHEN {s.q('amount')} > 0 THEN 1 END) FROM {s.source}")[0])
        return osql._quantile_of_positive(s, n, osql.OUTLIER_QUANTILE)

    return w.run_on(engine, tx, ["date", "amount"], "date", run)


def test_linear_quantile_is_pandas_bit_for_bit():
    rng = np.random.default_rng(11)
    for n in [*range(1, 260), 1000, 4321]:
        for values in (
            np.round(rng.lognormal(3, 1.5, n), rng.integers(0, 4)),
            rng.integers(1, 5, n).astype(float),  # ties
        ):
            s = np.sort(values)
            j = int(np.floor((n - 1) * 0.99))
            got = osql.linear_quantile(s[j], s[min(j + 1, n - 1)], n, 0.99)
            assert got == pd.Series(values).quantile(0.99), (n, values)
    # by hand: (5 - 1) * 0.5 = 2, exactly the third value; 0.25 of the way from 1 to 3
    assert osql.linear_quantile(3.0, 3.0, 5, 0.5) == 3.0
    assert osql.linear_quantile(1.0, 3.0, 2, 0.25) == 1.5


def test_percentile_of_positive_amounts_equals_pandas_on_both_engines(spark_queries):
    rng = np.random.default_rng(5)
    cases = [np.array([7.0]), np.array([2.0, 2.0]), np.array([1.0, -3.0, 4.0, 0.0])]
    cases += [np.round(rng.lognormal(2, 2, n), 2) for n in (3, 101, 250)]
    cases += [rng.integers(-2, 4, n).astype(float) for n in (40, 199)]  # ties, returns, zeros
    for values in cases:
        want = pd.Series(values[values > 0]).quantile(0.99)
        assert _positive_quantile("duckdb", values) == want, values
        assert _positive_quantile("spark", values) == want, values
    more = [np.round(rng.lognormal(3, 1.5, n), 2) for n in range(1, 120)]
    assert all(_positive_quantile("duckdb", v) == pd.Series(v).quantile(0.99) for v in more)
    assert _positive_quantile("duckdb", np.array([-1.0, 0.0])) == np.inf  # nothing positive


# ---------------------------------------------------------------- quality findings
def test_quality_findings_by_hand(spark_queries, monkeypatch):
    base = pd.DataFrame(
        {
            "customer_id": pd.array(["a", "a", "b", "b", "c", "c", "c", "d"], dtype="str"),
            "date": pd.to_datetime(["2025-01-05"] * 4 + ["2025-03-01"] * 3 + ["2025-03-02"]),
            "amount": [100.0, 100.0, 0.0, -0.0, -20.0, 40.0, 1000.0, 30.0],
            "cost": [60.0, 60.0, np.nan, np.nan, -12.0, 24.0, 1.0, 18.0],
            "product_id": pd.array(["P1", "P1", "P1", "P1", "P2", "P9", None, "P9"], dtype="str"),
        }
    )
    # positive amounts 100, 100, 40, 1000, 30: (5 - 1) * 0.99 = 3.96 between 100 and 1000 ->
    # 1000 - 900 * 0.04 = 964; factor 1.03 -> limit 992.92: the 1000 line is the one outlier
    products = pd.DataFrame({"product_id": pd.array(["P1", "P2"], dtype="str")})
    want = pd.DataFrame(
        {
            "finding": [
                "duplicate_lines",  # a's second 100 line; b's -0.0 line equals its 0.0 line
                "return_lines",
                "zero_amount_lines",
                "months_without_sales",  # February
                "outlier_lines",
                "unknown_products",  # P9 twice (a missing id is not unknown)
            ],
            "count": [2, 1, 2, 1, 1, 2],
            "amount": [100.0, -20.0, 0.0, 0.0, 1000.0, 70.0],
        }
    )
    got = _on_each_engine(
        monkeypatch, lambda: ov.quality_findings(base, products, outlier_factor=1.03), spark_queries
    )
    for engine, frame in got.items():
        pd.testing.assert_frame_equal(frame, want, obj=engine)


@pytest.mark.parametrize("factor", [10.0, 0.5, 0.004])  # 0.004: the limit at the 120 ties
def test_quality_findings_three_engines_agree(spark_queries, monkeypatch, factor):
    tx = _lines(unit="us")  # Spark compares microseconds (nanoseconds: test_step_engine_...)
    inventory = pd.DataFrame({"stock_value": [5.0, -2.5, -1.0]})
    run = lambda: ov.quality_findings(tx, PRODUCTS, inventory=inventory, outlier_factor=factor)  # noqa: E731
    got = _on_each_engine(monkeypatch, run, spark_queries)
    ref = got["pandas"].set_index("finding")
    assert ref.loc["duplicate_lines", "count"] == 120
    assert ref.loc["unknown_products", "count"] > 30
    assert ref.loc["outlier_lines", "count"] > 0 or factor == 10.0
    assert ref.loc["negative_stock", "count"] == 2
    _same_findings(got["duckdb"], got["pandas"])
    _same_findings(got["spark"], got["duckdb"], exact=True)


def test_outlier_limit_on_a_tie(spark_queries, monkeypatch):
    # 100 lines of 10, 5 of 50, one of 60: (106 - 1) * 0.99 = 103.95 falls between two 50s, so
    # the percentile is 50 and with factor 1 only the 60 line is above it (a 50 line is not)
    tx = pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=106, freq="h"),
            "amount": np.r_[np.full(100, 10.0), np.full(5, 50.0), 60.0],
        }
    )
    got = _on_each_engine(
        monkeypatch, lambda: ov.quality_findings(tx, outlier_factor=1.0), spark_queries
    )
    for engine, frame in got.items():
        out = frame.set_index("finding").loc["outlier_lines"]
        assert (out["count"], out["amount"]) == (1, 60.0), engine


def test_outlier_limit_is_pandas_to_the_last_bit(spark_queries, monkeypatch):
    """A line exactly at the limit is no outlier; DuckDB's quantile_cont (and Spark's
    percentile) interpolate from the lower end and can put the limit one bit lower."""
    import duckdb

    rng = np.random.default_rng(8)
    for _ in range(200):
        # 249 amounts below 100 and a top line at twice their 99th percentile (which the top
        # line does not move: it only fills the last place)
        values = np.r_[np.round(rng.uniform(1, 100, 249), 2), 1e4]
        q = pd.Series(values).quantile(0.99)
        values[-1] = 2 * q
        assert pd.Series(values).quantile(0.99) == q
        con = duckdb.connect()
        con.register("amounts", pd.DataFrame({"x": values}))
        cont = con.sql("SELECT quantile_cont(x, 0.99) FROM amounts").fetchall()[0][0]
        if cont < q:
            break
    else:
        pytest.fail("no set of amounts where quantile_cont falls below pandas' percentile")
    tx = pd.DataFrame(
        {"date": pd.date_range("2025-01-01", periods=250, freq="D"), "amount": values}
    )
    got = _on_each_engine(
        monkeypatch, lambda: ov.quality_findings(tx, outlier_factor=2.0), spark_queries
    )
    for engine, findings in got.items():  # 2 * q is the limit, exactly: not above it
        assert findings.set_index("finding").loc["outlier_lines", "count"] == 0, engine
    assert (values > cont * 2.0).sum() == 1  # what a limit from quantile_cont would count


def test_duplicate_lines_follow_duplicated_lines_for_each_dtype(spark_queries, monkeypatch):
    """Every column is compared, each dtype as ``duplicated_lines`` compares it: NaN with NaN,
    a missing text with a missing text, -0.0 with 0.0, categories and flags by value."""
    rng = np.random.default_rng(2)
    n = 2000
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice(["a", "b", None], n), dtype="str"),
            "date": pd.Timestamp("2025-02-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
            "amount": rng.choice([1.0, 0.0, -0.0, np.nan], n),
            "cost": rng.choice([0.0, -0.0, np.nan], n),
            "region": pd.Categorical(rng.choice(["north", "south"], n)),
            "paid": rng.random(n) < 0.5,
            "quantity": rng.integers(0, 2, n),
            "weight": rng.choice([0.5, -0.0, 0.0], n).astype("float32"),
            "name with space": pd.array(rng.choice(["x", "y"], n), dtype="string"),
            "product_id": rng.integers(0, 2, n),  # numbers: the text "1" is not product 1
        }
    )
    dup = ov.duplicated_lines(tx)
    assert 100 < dup.sum() < n - 100
    want = (int(dup.sum()), float(tx.loc[dup, "amount"].sum()))
    products = pd.Series(["1", 0], dtype=object)
    unknown = tx["product_id"] == 1
    assert (
        ov.quality_findings(tx, products.to_frame("product_id"))["count"].iloc[-1] == unknown.sum()
    )
    assert osql.step_engine(tx, every_column=True) == "pandas"  # pandas under CCM_ENGINE=pandas
    for engine in ("duckdb", "spark"):
        with monkeypatch.context() as m:
            _route(m, engine)
            assert osql.step_engine(tx, every_column=True) == engine
        got = osql.line_findings(tx, products, engine=engine)
        assert got["duplicate_lines"] == want, engine
        assert got["unknown_products"][0] == unknown.sum(), engine


@pytest.mark.parametrize(
    "change, every_column, engine, want",
    [
        (lambda d: d, True, "duckdb", "duckdb"),
        (lambda d: d, True, "spark", "spark"),
        (
            lambda d: d.assign(amount=d["amount"].fillna(0).astype("int64")),
            False,
            "duckdb",
            "pandas",
        ),
        (
            lambda d: d.assign(date=d["date"].dt.tz_localize("Asia/Shanghai")),
            False,
            "spark",
            "pandas",
        ),
        (lambda d: d.assign(extra=[object()] * len(d)), True, "duckdb", "pandas"),
        (lambda d: d.assign(extra=[object()] * len(d)), False, "duckdb", "duckdb"),
        (lambda d: d.assign(q=pd.array([1] * len(d), dtype="Int64")), True, "duckdb", "pandas"),
        (lambda d: d.assign(c=pd.Categorical([1] * len(d))), True, "duckdb", "pandas"),
        (lambda d: d.assign(due=d["date"]), True, "duckdb", "duckdb"),
        (lambda d: d.assign(due=d["date"]), True, "spark", "pandas"),  # only date is floored
        # Spark holds microseconds: nanoseconds within one would make two lines one
        (lambda d: d, True, "spark-ns", "pandas"),
        (lambda d: d, False, "spark-ns", "spark"),  # months do not depend on them
        (lambda d: d.assign(date=d["date"].dt.floor("us")), True, "spark-ns", "spark"),
    ],
)
def test_step_engine_leaves_to_pandas_what_sql_would_read_otherwise(
    monkeypatch, change, every_column, engine, want
):
    tx = _lines(40, unit="ns" if engine == "spark-ns" else "us")
    _route(monkeypatch, engine.removesuffix("-ns"))
    assert osql.step_engine(change(tx), every_column=every_column) == want


def test_steps_read_a_runs_validated_file(spark_queries, monkeypatch, tmp_path):
    """In a report run DuckDB (from LARGE_ROWS lines) and Spark read the validated Parquet copy,
    which holds a line-number column besides the table's: only the table's columns count."""
    from analysis.data import validated

    monkeypatch.delenv(validated.ENV_VAR, raising=False)  # no shared results: compute each
    plain = _lines(unit="us")
    kept = as_validated(plain, tmp_path)[0]
    monkeypatch.setattr(ag, "LARGE_ROWS", 100)
    assert ag.validated_parquet(kept) is not None
    steps = {
        "monthly": lambda t: ov.monthly_sales(t),
        "findings": lambda t: ov.quality_findings(t, PRODUCTS),
    }
    want = {name: step(plain) for name, step in steps.items()}  # pandas
    kept["amount"] = 0.0  # the frame no longer matches its file: only a step reading it is right
    for engine in ("duckdb", "spark"):
        with monkeypatch.context() as m:
            _route(m, engine)
            got = {name: step(kept) for name, step in steps.items()}
        pd.testing.assert_frame_equal(got["monthly"], want["monthly"], rtol=1e-12, obj=engine)
        _same_findings(got["findings"], want["findings"])


# ---------------------------------------------------------------- --engine spark takes Spark
def test_page00_steps_run_on_spark_under_engine_spark(spark_queries, monkeypatch):
    tx = _lines(unit="us")
    want = {
        "monthly": ov.monthly_sales(tx),
        "findings": ov.quality_findings(tx, PRODUCTS),
    }
    assert not spark_queries
    monkeypatch.setenv(ag.ENGINE_ENV, "spark")
    monkeypatch.setattr(w, "on_lines", lambda *a, **k: pytest.fail("DuckDB used"))
    assert len(tx) < ag.AUTO_MIN_ROWS  # small: Spark all the same, it was asked for
    got = ov.monthly_sales(tx)
    assert len(spark_queries) == 1 and "ccm_tx_" in spark_queries[0]
    pd.testing.assert_frame_equal(got, want["monthly"], rtol=1e-12)
    findings = ov.quality_findings(tx, PRODUCTS)
    assert len(spark_queries) == 7  # positives, percentile, one pass, products, duplicates, months
    _same_findings(findings, want["findings"])
    assert not [t for t in sp.default_session().catalog.listTables() if t.isTemporary]
