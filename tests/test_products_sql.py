"""The product and margin steps of pages 02 and 03 on DuckDB and Spark (issue 14): the same SQL
(``analysis.engine.products_sql``) on both, the same tables as the pandas reference, and the route
``--engine spark`` takes.

Every Spark query goes through ``analysis.engine.spark.sql_frame`` and every DuckDB pass through
``aggregate.on_lines``; the tests count them there (Spark itself is real: one local session).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis.engine.aggregate as ag
from analysis.data.periods import Quarter, between
from analysis.engine import products_sql as ps, spark as sp, windows as w
from analysis.products import margin as mg, mix as pm

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

Q = Quarter.parse("2025Q2")
TOL = dict(check_exact=False, rtol=1e-9, atol=1e-9)


def _lines(n: int = 800, seed: int = 11) -> pd.DataFrame:
    """Lines of 60 customers and 25 products over a year: nanosecond times on the edges of days
    and quarters, returns, a missing amount, cost or quantity now and then, lines without a
    customer or product id, and a product literally named as the missing one."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-10-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
    offset = rng.choice([0, 86_400 * 10**9 - 1, 43_200 * 10**9 + 7], n)
    amount = rng.normal(60, 90, n).round(2)
    amount[rng.random(n) < 0.02] = np.nan
    cost = np.where(rng.random(n) < 0.1, np.nan, np.abs(amount) * rng.uniform(0.4, 0.9, n))
    products = [f"P{i:02d}" for i in rng.integers(0, 25, n)]
    for i in rng.choice(n, 12, replace=False):
        products[i] = None if i % 2 else pm.MISSING_ID
    customers = [f"K{i:03d}" for i in rng.integers(0, 60, n)]
    for i in rng.choice(n, 5, replace=False):
        customers[i] = None
    quantity = rng.integers(-2, 9, n).astype("float64")
    quantity[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer_id": pd.array(customers, dtype="str"),
            "date": (day + pd.to_timedelta(offset, "ns")).astype("datetime64[ns]"),
            "amount": amount,
            "cost": cost,
            "product_id": pd.array(products, dtype="str"),
            "quantity": quantity,
        }
    )


def _catalogue() -> pd.DataFrame:
    ids = [f"P{i:02d}" for i in range(0, 30, 2)]  # every other product, and some never sold
    return pd.DataFrame(
        {"product_id": ids, "name": [f"名{i}" for i in ids], "category": ["a", "b", "c"] * 5}
    )


def _classes() -> pd.DataFrame:
    ids = [f"K{i:03d}" for i in range(0, 70, 1) if i % 7]  # some customers without a class
    return pd.DataFrame(
        {"customer_id": ids, "abc_class": [("A", "B", "C")[i % 3] for i in range(len(ids))]}
    )


@pytest.fixture
def queries(spark_queries, monkeypatch):
    """The Spark queries (SQL text, :func:`spark_queries`) and DuckDB passes."""
    seen = spark_queries
    on_lines = ag.on_lines

    def counted(*a, **k):
        seen.append("duckdb")
        return on_lines(*a, **k)

    monkeypatch.setattr(ag, "on_lines", counted)
    monkeypatch.setattr(w, "on_lines", counted)
    summary = sp.customer_summary_spark  # the customer summary's own Spark path

    def summary_counted(*a, **k):
        seen.append("spark customer summary")
        return summary(*a, **k)

    monkeypatch.setattr(sp, "customer_summary_spark", summary_counted)
    return seen


def _engine(monkeypatch, engine: str) -> None:
    """Route every step to ``engine``, whatever the frame's size."""
    monkeypatch.setenv(ag.ENGINE_ENV, engine)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 0 if engine == "duckdb" else 500_000)


def _on_each(monkeypatch, queries, step) -> dict:
    """``step()`` on pandas, DuckDB and Spark; each SQL engine must have been used."""
    out = {}
    for engine in ("pandas", "duckdb", "spark"):
        _engine(monkeypatch, engine)
        before = len(queries)
        out[engine] = step()
        ran = queries[before:]
        if engine == "pandas":
            assert not ran, "the reference ran SQL"
        elif engine == "duckdb":
            assert ran and set(ran) == {"duckdb"}, "DuckDB not used"
        else:
            assert ran and "duckdb" not in ran, "Spark not used (or DuckDB too)"
    return out


def _agree(got: dict) -> None:
    ref, duck, spark = got["pandas"], got["duckdb"], got["spark"]
    if isinstance(ref, pd.DataFrame | pd.Series):
        assert len(ref) > 0
        check = pd.testing.assert_frame_equal if isinstance(ref, pd.DataFrame) else None
        check = check or pd.testing.assert_series_equal
        check(spark, duck, check_exact=True)  # exact sums on both
        check(duck, ref, **TOL)
    else:
        assert spark == duck
        assert duck == pytest.approx(ref, rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- the routing rule
def test_route(monkeypatch):
    tx = _lines(60)
    monkeypatch.setattr(ag, "AUTO_MIN_ROWS", 50)
    monkeypatch.setenv(ag.ENGINE_ENV, "auto")
    assert ps.route(tx, ["product_id"]) == "duckdb"
    assert ps.route(tx.iloc[:49], ["product_id"]) == "pandas"  # small: pandas
    assert ps.route(tx.drop(columns="date"), ["product_id"]) == "pandas"  # no dates to hand over
    # float ids (NaN vs NULL, -0.0 vs 0.0) and categoricals group by pandas' own rules
    assert ps.route(tx.assign(product_id=1.5), ["product_id"]) == "pandas"
    assert ps.route(tx.assign(product_id=tx["product_id"].astype("category")), ["product_id"]) == (
        "pandas"
    )
    assert ps.route(tx.assign(product_id=7), ["product_id"]) == "duckdb"  # integers are fine
    mixed = tx.assign(product_id=pd.Series([1, "a"] * 30, dtype=object))
    assert ps.route(mixed, ["product_id"]) == "pandas"
    monkeypatch.setenv(ag.ENGINE_ENV, "spark")
    assert ps.route(tx.iloc[:3], ["product_id"]) == "spark"  # asked for by name
    # the leanings' join: ids of one kind, none missing in the groups
    groups = _classes()
    assert ps.leaning_groups_fit(tx, groups, id_col="customer_id")
    assert ps.leaning_groups_fit(tx, groups.astype({"customer_id": object}), id_col="customer_id")
    with_none = pd.concat([groups, pd.DataFrame({"customer_id": [None], "abc_class": ["A"]})])
    assert not ps.leaning_groups_fit(tx, with_none, id_col="customer_id")
    numbers = pd.DataFrame({"customer_id": [1, 2], "abc_class": ["A", "B"]})
    assert not ps.leaning_groups_fit(tx, numbers, id_col="customer_id")


# ---------------------------------------------------------------- hand-computed
def _hand() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c"],
            "date": pd.to_datetime(
                [
                    "2025-04-01",
                    "2025-04-02",
                    "2025-06-30 23:59:59.999999999",  # the quarter's last nanosecond
                    "2025-04-03",
                    "2025-07-01",  # the end: outside
                    "2025-05-05",
                    "2025-05-06",
                ],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "amount": [0.1, 0.2, 0.3, 10.0, 99.0, -4.0, 6.0],
            "cost": [0.05, 0.05, 0.1, np.nan, 1.0, -3.0, 2.0],
            "product_id": ["x", "x", "x", None, "x", "(none)", "y"],
            "quantity": [1.0, 1.0, 1.0, 2.0, 9.0, -1.0, np.nan],
        }
    )


def test_product_sales_by_hand(queries, monkeypatch):
    catalogue = pd.DataFrame(
        {"product_id": ["x", "z"], "name": ["叉", "泽"], "category": ["k", "k"]}
    )
    got = _on_each(
        monkeypatch,
        queries,
        lambda: pm.product_sales(_hand(), catalogue, keep_ids=["z"], start=Q.start, end=Q.end),
    )
    for engine, out in got.items():
        out = out.set_index("product_id")
        # by sales (6, 6, 0.6, 0), equal sales by id
        assert list(out.index) == ["(none)", "y", "x", "z"], engine
        # a missing id and the product named "(none)" are one product: 10 - 4
        assert out.loc["(none)", "sales"] == 6.0 and out.loc["(none)", "sales_lines"] == 2
        assert out.loc["(none)", "returns"] == 4.0, engine
        # only the return carries a cost: profit -4 - (-3) = -1 over sales -4 -> no rate
        assert out.loc["(none)", "gross_profit"] == -1.0
        assert np.isnan(out.loc["(none)", "gross_margin_rate"])
        assert out.loc["(none)", "quantity_sold"] == 1.0  # 2 - 1
        assert np.isnan(out.loc["y", "quantity_sold"]), engine  # no quantity: NaN, not 0
        assert out.loc["x", "product_name"] == "叉" and out.loc["z", "sales"] == 0.0
        assert out.loc["x", "sales_lines"] == 3  # the line of 1 July is outside
    for engine in ("duckdb", "spark"):  # 0.1 + 0.2 + 0.3 summed exactly
        x = got[engine].set_index("product_id").loc["x"]
        assert (
            x["sales"] == 0.6 and x["gross_profit"] == 0.4 and x["gross_margin_rate"] == 0.4 / 0.6
        )
    assert 0.1 + 0.2 + 0.3 != 0.6  # what a DOUBLE sum gives


def test_margins_and_rate_by_hand(queries, monkeypatch):
    classes = pd.DataFrame({"customer_id": ["a", "b"], "abc_class": ["A", "B"]})
    window = dict(start=Q.start, end=Q.end)
    got = _on_each(monkeypatch, queries, lambda: mg.class_margins(_hand(), classes, **window))
    for engine, out in got.items():
        out = out.set_index("abc_class")
        # A: a's 0.6, B: b's 10 (no cost: no profit), NaN (no class): c's 2
        assert list(out.index[:2]) == ["A", "B"] and out.index[2] != out.index[2], engine
        assert out.loc["A", "sales"] == pytest.approx(0.6, abs=1e-15)
        assert np.isnan(out.loc["B", "gross_profit"]) and np.isnan(
            out.loc["B", "gross_margin_rate"]
        )
        assert out["sales_lines"].tolist() == [3, 1, 2], engine
    rates = _on_each(monkeypatch, queries, lambda: mg.overall_margin_rate(_hand(), **window))
    # lines with a cost: a's three (0.6, profit 0.4), c's two (2, profit -1 + 4 = 3)
    for engine, rate in rates.items():
        assert rate == pytest.approx(3.4 / 2.6, rel=1e-12), engine
    groups = pd.DataFrame({"customer_id": ["a", "c"], "g": ["G1", "G2"]})
    cats = pd.DataFrame({"product_id": ["x", "(none)"], "category": ["k1", "k2"]})
    got = _on_each(
        monkeypatch,
        queries,
        lambda: pm.category_leanings(_hand(), groups, cats, group_col="g", **window),
    )
    for engine, out in got.items():
        cell = out.set_index(["g", "category"])["sales"]
        # G1: a's x 0.6; G2: c's "(none)" -4 and y 6 (unknown); b unassigned: its missing id (k2)
        want = {("G1", "k1"): 0.6, ("G2", "k2"): -4.0, ("G2", "unknown"): 6.0, ("–", "k2"): 10.0}
        assert cell.to_dict() == pytest.approx(want, abs=1e-15), engine


# ---------------------------------------------------------------- the engines agree
def test_product_steps_three_engines_agree(queries, monkeypatch):
    tx, catalogue = _lines(), _catalogue()
    window = dict(start=Q.start, end=Q.end)
    _agree(
        _on_each(
            monkeypatch,
            queries,
            lambda: pm.product_sales(tx, catalogue, keep_ids=["P27", "P03"], **window),
        )
    )
    # the slice the notebooks pass today and the window give the same table
    pd.testing.assert_frame_equal(
        pm.product_sales(between(tx, Q.start, Q.end), catalogue),
        pm.product_sales(tx, catalogue, **window),
    )
    periods = {"before": Q.previous(), "year": Q.same_quarter_last_year()}
    got = _on_each(monkeypatch, queries, lambda: pm.period_sales(tx, periods, catalogue))
    assert len(got["pandas"]["year"]) == 0  # no lines a year before: an empty table everywhere
    for name in periods:
        ref, duck, spark = (got[e][name] for e in ("pandas", "duckdb", "spark"))
        pd.testing.assert_frame_equal(spark, duck)
        pd.testing.assert_frame_equal(duck, ref, **TOL)
    no_qty = tx.drop(columns=["quantity", "cost"])
    _agree(_on_each(monkeypatch, queries, lambda: pm.product_sales(no_qty, catalogue)))


def test_margin_steps_three_engines_agree(queries, monkeypatch):
    tx, classes = _lines(), _classes()
    names = pd.DataFrame(
        {"customer_id": classes["customer_id"], "name": "n" + classes["customer_id"]}
    )
    window = dict(start=Q.start, end=Q.end)
    _agree(
        _on_each(monkeypatch, queries, lambda: mg.customer_margins(tx, classes, names, **window))
    )
    _agree(_on_each(monkeypatch, queries, lambda: mg.class_margins(tx, classes, **window)))
    by_two = ["customer_id", "product_id"]
    _agree(_on_each(monkeypatch, queries, lambda: mg.margin_by(tx, by_two)))
    _agree(_on_each(monkeypatch, queries, lambda: mg.overall_margin_rate(tx, **window)))
    # customer ABC is the customer summary (its own SQL on both engines) and the ABC rule
    _agree(
        _on_each(
            monkeypatch,
            queries,
            lambda: pm.customer_abc(tx.dropna(subset=["customer_id"]), Q.start, Q.end),
        )
    )


def test_leanings_three_engines_agree(queries, monkeypatch):
    tx, table = _lines(), pm.product_sales(_lines(), _catalogue())
    classes = _classes()
    channels = pd.DataFrame(
        {
            "customer_id": [f"K{i:03d}" for i in range(50)],
            "channel": ["web", "shop", None, "tel", "web"] * 10,
        }
    )
    window = dict(start=Q.start, end=Q.end)
    for groups, col in ((classes, "abc_class"), (channels, "channel")):
        _agree(
            _on_each(
                monkeypatch,
                queries,
                lambda g=groups, c=col: pm.category_leanings(tx, g, table, group_col=c, **window),
            )
        )
    assert not [t for t in sp.default_session().catalog.listTables() if t.isTemporary]


# ---------------------------------------------------------------- --engine spark takes Spark
def test_every_step_runs_on_spark_under_engine_spark(queries, monkeypatch):
    tx, catalogue, classes = _lines(300), _catalogue(), _classes()
    tx_q = between(tx, Q.start, Q.end)
    table = pm.product_sales(tx_q, catalogue)
    steps = {  # the calls of pages 02 and 03, on the slice they pass today
        "product_sales": lambda: pm.product_sales(tx_q, catalogue),
        "period_sales": lambda: pm.period_sales(tx, {"q": Q.previous()}, catalogue)["q"],
        "leanings": lambda: pm.category_leanings(tx_q, classes, table, group_col="abc_class"),
        "customer_margins": lambda: mg.customer_margins(tx_q, classes),
        "class_margins": lambda: mg.class_margins(tx_q, classes),
        "overall_margin_rate": lambda: mg.overall_margin_rate(tx_q),
    }
    want = {name: step() for name, step in steps.items()}  # pandas (CCM_ENGINE=pandas)
    assert not queries
    monkeypatch.setenv(ag.ENGINE_ENV, "spark")
    monkeypatch.setattr(w, "on_lines", lambda *a, **k: pytest.fail("DuckDB used"))
    monkeypatch.setattr(ag, "on_lines", lambda *a, **k: pytest.fail("DuckDB used"))
    assert len(tx) < ag.AUTO_MIN_ROWS  # small: Spark all the same, it was asked for
    for name, step in steps.items():
        before = len(queries)
        got = step()
        assert len(queries) == before + 1, f"{name}: not one Spark query"
        assert "ccm_tx_" in queries[-1], name
        if isinstance(got, float):
            assert got == pytest.approx(want[name], rel=1e-9), name
        else:
            pd.testing.assert_frame_equal(got, want[name], obj=name, **TOL)
    # one column set for every step: Spark copied the slice once, not once per step
    assert len({key[2] for key in sp._LINES if key[0] == id(tx_q)}) == 1
