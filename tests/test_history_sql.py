"""The churn study's windows by SQL (:class:`analysis.engine.history_sql.SqlHistory`): the same
arrays as the numpy class on DuckDB and Spark, a snapshot by hand, the windows of a study
fetched with the next cutoff's snapshot, the route ``--engine spark`` takes, and a whole backtest
giving the same result on either path.

Spark is real (one local session for the module); its spark_queries are counted through
``analysis.engine.spark.sql_frame``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis.engine.aggregate as ag
from analysis import churn
from analysis.churn import features as cf
from analysis.churn.history import TransactionHistory, day_number
from analysis.data.validation import DataError
from analysis.engine import history_sql as hs, spark as sp, windows as w
from analysis.engine.history_sql import SqlHistory, sql_ready

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

SNAPSHOT = (
    "frequency",
    "first_day",
    "last_day",
    "monetary",
    "returns_amount",
    "n_returns",
    "gross_profit",
    "cost_lines",
    "gap_sq_sum",
)
#: the dtypes of SqlHistory's arrays (the numpy class's, see _same)
DTYPES = {
    "frequency": "int64",
    "first_day": "int64",
    "last_day": "int64",
    "n_returns": "int64",
    "lines": "int64",
    "purchase_days": "int64",
}
DAY0 = day_number("2024-07-01")


def _lines(n: int = 500, seed: int = 3, customers: int = 25, cost: bool = True) -> pd.DataFrame:
    """Lines over 200 days: several a day, times on a day's first and last nanosecond, returns,
    zero amounts (no purchase), blank ids, dates, amounts and costs; one line before 1970 (a
    negative day number)."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-07-01") + pd.to_timedelta(rng.integers(0, 200, n), "D")
    offset = rng.choice([0, 86_400 * 10**9 - 1, 50_000 * 10**9 + 3], n)
    date = pd.Series(day + pd.to_timedelta(offset, "ns")).where(rng.random(n) > 0.04)
    date.iloc[0] = pd.Timestamp("1969-12-31 23:59:59.999999999")
    ids = [f"K{i:02d}" if rng.random() > 0.04 else None for i in rng.integers(0, customers, n)]
    amount = rng.normal(40, 70, n).round(2)
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "date": date,
            "amount": np.select(
                [rng.random(n) < 0.05, rng.random(n) < 0.04], [np.nan, 0.0], amount
            ),
        }
    )
    if cost:
        tx["cost"] = np.where(rng.random(n) < 0.2, np.nan, (np.abs(amount) * 0.6).round(2))
    return tx


#: windows as (method, start offset, end offset) in days from DAY0 (None: from the first line)
WINDOWS = [
    ("sales", 30, 90),
    ("sales", None, 120),
    ("sales", 150, 140),  # empty: start after end
    ("lines", 0, 60),
    ("lines", -20000, 1),  # from before 1970
    ("purchase_days", 45, 135),
    ("purchase_days", None, 200),
]
CUTOFFS = [-30000, 0, 75, 133, 400]  # before every line, ..., after every line


def _same(x: np.ndarray, y: np.ndarray, what) -> None:
    """The numpy class's array ``x`` and SqlHistory's ``y``: equal (money within 1e-9), the same
    dtype -- but the numpy class's sum over no line at all is int64 zeros (numpy's bincount)."""
    assert x.shape == y.shape, what
    assert x.dtype == y.dtype or (x.dtype == "int64" and not x.any()), what
    if y.dtype == "float64":
        np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=str(what))
    else:
        assert np.array_equal(x, y), what


def _agree(ref: TransactionHistory, got: SqlHistory, cutoffs=CUTOFFS, windows=WINDOWS) -> None:
    assert got.ids.equals(ref.ids) and got.ids.dtype == ref.ids.dtype
    assert got.ids.name == "customer_id" and got.n == ref.n and got.has_cost == ref.has_cost
    for c in cutoffs:
        a, b = ref.snapshot(DAY0 + c), got.snapshot(DAY0 + c)
        assert b.cutoff == a.cutoff
        for f in SNAPSHOT:
            _same(getattr(a, f), getattr(b, f), (c, f))
            assert getattr(b, f).dtype == DTYPES.get(f, "float64"), f
        for kind, start, end in windows:
            lo = None if start is None else DAY0 + c + start
            x, y = getattr(ref, kind)(lo, DAY0 + c + end), getattr(got, kind)(lo, DAY0 + c + end)
            _same(x, y, (c, kind, start, end))
            assert y.dtype == DTYPES.get(kind, "float64")


# ---------------------------------------------------------------- DuckDB
@pytest.mark.parametrize(
    "tx",
    [
        _lines(),
        _lines(seed=4, cost=False),
        _lines(seed=5).assign(date=lambda d: d["date"].astype("datetime64[us]")),
        _lines(seed=6).assign(customer_id=lambda d: d["customer_id"].str[1:].astype("Int64")),
        _lines(seed=7).assign(cost=np.nan),  # a cost column without a known cost
    ],
    ids=["ns", "no-cost", "us", "int-ids", "blank-costs"],
)
def test_duckdb_equals_numpy(tx):
    before = tx.copy()
    _agree(TransactionHistory(tx), SqlHistory(tx, engine="duckdb"))
    pd.testing.assert_frame_equal(tx, before)  # not mutated


def test_snapshot_by_hand():
    t = pd.Timestamp
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["K1"] * 6 + ["K2", "K2", "K3", "K3", None], dtype="str"),
            "date": [
                t("2024-01-01 10:00"),
                t("2024-01-01 15:00"),  # a second line on the first purchase day
                t("2024-01-04"),
                t("2024-01-08"),
                t("2024-01-09 23:59:59.999999999"),  # a return, the last nanosecond before
                t("2024-01-10"),  # on the cutoff day: after it
                t("2024-01-02"),
                t("2024-01-05"),
                pd.NaT,  # left out, and K3's other line is no purchase
                t("2024-01-02"),
                t("2024-01-03"),  # no id: left out
            ],
            "amount": [100.0, 50.0, 30.0, 5.0, -20.0, 40.0, np.nan, 10.0, 5.0, 0.0, 1000.0],
            "cost": [60.0, np.nan, 20.0, np.nan, -12.0, 1.0, 5.0, np.nan, 1.0, 1.0, 1.0],
        }
    )
    h = SqlHistory(tx, engine="duckdb")
    assert list(h.ids) == ["K1", "K2", "K3"] and h.has_cost
    s = h.snapshot(day_number("2024-01-10"))
    assert day_number("2024-01-01") == 19723
    # K1 bought on days 19723, 19726 and 19730 (gaps 3 and 4): 3 days, 9 + 16 = 25; net sales
    # 100 + 50 + 30 + 5 - 20; profit over the lines with amount and cost: 40 + 10 - 8.
    # K2's blank amount is no purchase and no known profit; its one purchase on 01-05.  K3's
    # line of 0 is no purchase, but a line with a cost: profit 0 - 1
    assert list(s.frequency) == [3, 1, 0] and list(s.gap_sq_sum) == [25.0, 0.0, 0.0]
    assert list(s.first_day) == [19723, 19727, -1] and list(s.last_day) == [19730, 19727, -1]
    assert list(s.monetary) == [165.0, 10.0, 0.0] and list(s.returns_amount) == [20.0, 0.0, 0.0]
    assert list(s.n_returns) == [1, 0, 0] and list(s.cost_lines) == [3.0, 0.0, 1.0]
    assert s.gross_profit[0] == 42.0 and np.isnan(s.gross_profit[1]) and s.gross_profit[2] == -1
    assert list(h.sales(19723, 19726)) == [150.0, 0.0, 0.0]  # Jan 1-3
    assert list(h.lines(19723, 19726)) == [2, 1, 1]
    assert list(h.purchase_days(19723, 19730)) == [2, 1, 0]  # Jan 8 is the window's end
    assert list(h.ids[s.active(2)]) == ["K1"]  # bought on day 19730, two days before 19732


def test_a_studys_windows_come_with_the_next_snapshot(monkeypatch):
    tx = _lines()
    ref, h = TransactionHistory(tx), SqlHistory(tx, engine="duckdb")
    runs = []
    real = hs.run_on
    monkeypatch.setattr(hs, "run_on", lambda *a, **k: runs.append(1) or real(*a, **k))
    study = [("sales", -90, 0), ("sales", -180, -90), ("purchase_days", -90, 0)]
    study += [("purchase_days", 0, 30), ("lines", None, 0)]
    counts = []
    for c in (DAY0 + 60, DAY0 + 90, DAY0 + 120):
        before = len(runs)
        _same(ref.snapshot(c).monetary, h.snapshot(c).monetary, c)
        for kind, start, end in study:
            lo = None if start is None else c + start
            _same(getattr(ref, kind)(lo, c + end), getattr(h, kind)(lo, c + end), (c, kind))
        counts.append(len(runs) - before)
    assert counts == [1 + len(study), 1, 1]  # later cutoffs: one query each
    h.snapshot(DAY0 + 60)  # kept per cutoff, as the numpy class does
    assert len(runs) == sum(counts)


def test_sql_ready():
    tx = _lines(40)
    assert sql_ready(tx) and sql_ready(tx.assign(customer_id=tx["customer_id"].astype(object)))
    assert sql_ready(tx.assign(customer_id=1))
    assert not sql_ready(tx.assign(customer_id=1.5))  # NaN against NULL
    assert not sql_ready(tx.assign(customer_id=tx["customer_id"].astype("category")))
    assert not sql_ready(tx.assign(date=tx["date"].dt.tz_localize("UTC")))
    assert not sql_ready(tx.drop(columns="date"))


def test_missing_column_and_unknown_engine():
    with pytest.raises(DataError, match="Required column amount missing"):
        SqlHistory(_lines(20).drop(columns="amount"), engine="duckdb")
    with pytest.raises(ValueError, match="duckdb or spark"):
        SqlHistory(_lines(20), engine="pandas")


# ---------------------------------------------------------------- Spark
@pytest.mark.parametrize("cost", [True, False], ids=["cost", "no-cost"])
def test_spark_equals_numpy_and_duckdb(spark_queries, cost):
    tx = _lines(seed=8, cost=cost)
    cutoffs = [75, 133] if cost else [133]
    windows = WINDOWS[:1] + WINDOWS[3:4] + WINDOWS[5:6] if cost else []
    ref, got = TransactionHistory(tx), SqlHistory(tx, engine="spark")
    _agree(ref, got, cutoffs, windows)
    assert spark_queries and all("ccm_tx_" in sql for sql in spark_queries)
    duck = SqlHistory(tx, engine="duckdb")
    for c in cutoffs:  # DuckDB == Spark to the last bit (exact sums)
        a, b = duck.snapshot(DAY0 + c), got.snapshot(DAY0 + c)
        for f in SNAPSHOT:
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert not [t for t in sp.default_session().catalog.listTables() if t.isTemporary]


# ---------------------------------------------------------------- routing and the whole study
def test_routing(monkeypatch):
    tx = _lines(60)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 10)
    monkeypatch.setattr(hs, "SqlHistory", lambda tx, **k: ("sql", k["engine"]))
    for env in ("auto", "duckdb", "pandas"):  # DuckDB keeps numpy (measured: see history_for)
        monkeypatch.setenv(ag.ENGINE_ENV, env)
        assert type(cf.history_for(tx)) is TransactionHistory, env
    monkeypatch.setenv(ag.ENGINE_ENV, "spark")
    assert cf.history_for(tx) == ("sql", "spark")
    # float ids (NaN against NULL) stay in numpy
    assert type(cf.history_for(tx.assign(customer_id=1.5))) is TransactionHistory
    given = TransactionHistory(tx)
    cols = dict(id_col="customer_id", date_col="date", amount_col="amount")
    assert cf._history(tx, given, **cols) is given
    assert cf._history(tx, None, **cols) == ("sql", "spark")


def test_backtest_under_engine_spark_equals_numpy(spark_queries, monkeypatch):
    tx = _company()
    fit = dict(cv_folds=3, random_state=0, candidates=("logistic_c0.1", "gradient_boosting"))
    want = churn.backtest(tx, "2026-01-01", **fit)  # numpy (CCM_ENGINE=pandas)
    assert not spark_queries
    monkeypatch.setenv(ag.ENGINE_ENV, "spark")
    monkeypatch.setattr(w, "on_lines", lambda *a, **k: pytest.fail("DuckDB used"))
    assert len(tx) < ag.AUTO_MIN_ROWS  # small: Spark all the same, it was asked for
    built = []
    real = hs.SqlHistory.__init__
    monkeypatch.setattr(
        hs.SqlHistory, "__init__", lambda s, *a, **k: built.append(1) or real(s, *a, **k)
    )
    got = churn.backtest(tx, "2026-01-01", **fit)
    assert built == [1] and len(spark_queries) <= 10  # ids, 3 snapshots, the first cutoff's windows
    assert got.model.name == want.model.name and got.cutoffs == want.cutoffs
    pd.testing.assert_frame_equal(got.predictions, want.predictions, rtol=1e-9)
    pd.testing.assert_frame_equal(got.metrics, want.metrics, rtol=1e-9)
    pd.testing.assert_series_equal(got.scoring.probability, want.scoring.probability, rtol=1e-9)
    pd.testing.assert_frame_equal(got.scoring.features, want.scoring.features, rtol=1e-9)


def _company(n=160, seed=5):
    """Customers buying at their own rate; a third stop; a few returns (as test_churn_scale)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-06-01", "2025-12-31")
    rows = []
    for i in range(n):
        rate, size = rng.uniform(0.02, 0.12), rng.lognormal(6, 1)
        start = int(rng.integers(0, 300))
        stop = len(days) if rng.random() < 0.65 else int(rng.integers(start + 100, len(days)))
        for d in start + np.flatnonzero(rng.random(stop - start) < rate):
            amount = round(size * rng.uniform(0.5, 1.5), 2) * (-0.3 if rng.random() < 0.05 else 1)
            rows.append((f"K{i:04d}", days[d], amount, round(abs(amount) * 0.7, 2)))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount", "cost"])
