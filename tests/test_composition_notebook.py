"""Notebook 01_customer_composition executed through papermill, checked against independent computations.

The independent checks below re-derive the recorded numbers from the raw lines
with plain numpy/pandas, written differently from ``analysis`` (no
customer_summary, no classification helpers): sums by ``np.unique``/``bincount``,
"share held by strictly larger customers" by ``searchsorted``, the Gini
coefficient as 1 - 2 x the trapezoid area under the Lorenz curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import PROJECT_ROOT
from analysis.data import io as aio
from analysis.data.periods import Quarter

pytestmark = pytest.mark.notebook
NB = "01_customer_composition"
CDNOW = PROJECT_ROOT / "data" / "real" / "cdnow"


# ------------------------------------------------------------------ independent computation
def _abc(ids: np.ndarray, values: np.ndarray, a: float, b: float) -> dict:
    """Class per id: A when the positive values strictly above it hold < a of the positive total."""
    pos = np.clip(values, 0, None)
    order = np.sort(pos)
    suffix = np.concatenate([np.cumsum(order[::-1])[::-1], [0.0]])  # suffix[k] = sum of order[k:]
    above = suffix[np.searchsorted(order, pos, side="right")]
    share = above / pos.sum() if pos.sum() > 0 else np.ones_like(pos)
    cls = np.where(
        values <= 0, "C", np.where(share < a - 1e-12, "A", np.where(share < b - 1e-12, "B", "C"))
    )
    return dict(zip(ids, cls))


def _window_sales(
    tx: pd.DataFrame, start, end, col: str = "amount"
) -> tuple[np.ndarray, np.ndarray]:
    w = tx[(tx["date"] >= start) & (tx["date"] < end)]
    ids, inv = np.unique(w["customer_id"].to_numpy(), return_inverse=True)
    weights = w["amount"].to_numpy() - (w["cost"].to_numpy() if col == "gross_profit" else 0.0)
    return ids, np.bincount(inv, weights=weights, minlength=len(ids))


def expected(tx: pd.DataFrame, quarter: str, a: float = 0.75, b: float = 0.95) -> dict:
    q = Quarter.parse(quarter)
    start, end = q.shift(-3).start, q.shift(1).start
    ids, sales = _window_sales(tx, start, end)
    n = len(ids)
    classes = _abc(ids, sales, a, b)
    cls = np.array([classes[i] for i in ids])
    out = {"n_customers": n, "total_sales": sales.sum()}
    for c in "ABC":
        out[c] = {
            "customers": int((cls == c).sum()),
            "sales_share": sales[cls == c].sum() / sales.sum(),
        }
    x = np.sort(np.clip(sales, 0, None))
    lorenz = np.concatenate([[0.0], np.cumsum(x)]) / x.sum()
    out["gini"] = 1 - np.sum(lorenz[1:] + lorenz[:-1]) / n  # 1 - 2 x trapezoid area
    out["top20_share"] = x[::-1][: (n + 4) // 5].sum() / x.sum()
    # pyramid on gross profit (sales without cost): customers strictly above, against 1% / 20% / 50% of n
    # (the key customers, important + secondary, are the top 20%: 《客户分类案例》)
    v = _window_sales(tx, start, end, "gross_profit")[1] if "cost" in tx.columns else sales
    above = n - np.searchsorted(np.sort(v), v, side="right")
    tier = np.where(
        v <= 0,
        "small",
        np.where(
            above * 100 < 1 * n,
            "important",
            np.where(
                above * 100 < 20 * n,
                "secondary",
                np.where(above * 100 < 50 * n, "ordinary", "small"),
            ),
        ),
    )
    out["pyramid"] = {
        t: int((tier == t).sum()) for t in ("important", "secondary", "ordinary", "small")
    }
    # loyalty: tenure over the whole history, months with a purchase in the window
    buys = tx[(tx["amount"] > 0) & (tx["date"] < end)]
    first = buys.groupby("customer_id")["date"].min()
    tenure = ((end - pd.Series(ids).map(first)).dt.days.fillna(0) / 730).clip(upper=1).to_numpy()
    wb = buys[buys["date"] >= start]
    months = wb["date"].dt.to_period("M").groupby(wb["customer_id"]).nunique()
    active = (pd.Series(ids).map(months).fillna(0) / 12).to_numpy()
    loyal = (tenure + active) / 2
    hi_s, hi_l = (sales >= np.median(sales)) & (sales > 0), loyal >= np.median(loyal)
    quad = np.where(hi_s, np.where(hi_l, "A", "B"), np.where(hi_l, "C", "D"))
    out["quadrants"] = {k: int((quad == k).sum()) for k in "ABCD"}
    # migration: 12-month classes at the previous quarter end against now
    p_ids, p_sales = _window_sales(tx, q.shift(-4).start, q.start)
    before, after = _abc(p_ids, p_sales, a, b), classes
    rank = {"A": 0, "B": 1, "C": 2}
    moves = {"up": 0, "down": 0, "same": 0, "entered": 0, "left": 0}
    for cid in set(before) | set(after):
        if cid not in before:
            moves["entered"] += 1
        elif cid not in after:
            moves["left"] += 1
        else:
            d = rank[after[cid]] - rank[before[cid]]
            moves["up" if d < 0 else "down" if d > 0 else "same"] += 1
    out["migration"] = moves
    return out


def assert_agrees(s: dict, exp: dict) -> None:
    assert s["n_customers"] == exp["n_customers"]
    assert s["total_sales"] == pytest.approx(exp["total_sales"], rel=1e-9)
    for c in "ABC":
        assert s[c]["customers"] == exp[c]["customers"], c
        assert s[c]["sales_share"] == pytest.approx(exp[c]["sales_share"], abs=1e-9), c
    assert s["gini"] == pytest.approx(exp["gini"], abs=1e-9)
    assert s["top20_share"] == pytest.approx(exp["top20_share"], abs=1e-9)
    assert s["pyramid"] == exp["pyramid"]
    assert s["quadrants"] == exp["quadrants"]
    assert s["migration"] == exp["migration"]


def synthetic_transactions(n_customers: int = 22_000, seed: int = 11) -> pd.DataFrame:
    """Transactions only, 2024-2025: heavy-tailed spend, churn and arrivals, returns, equal amounts, zeros."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    n_lines = rng.poisson(rng.gamma(1.2, 6.0, n_customers)) + 1
    cust = np.repeat(np.arange(n_customers), n_lines)
    first = rng.integers(0, len(days), n_customers)
    last = np.minimum(len(days) - 1, first + rng.integers(30, 2 * len(days), n_customers))
    day = first[cust] + (rng.random(len(cust)) * (last[cust] - first[cust] + 1)).astype(int)
    size = rng.lognormal(5, 1.3, n_customers)
    amount = np.round(size[cust] * rng.uniform(0.3, 1.7, len(cust)), 2)
    fixed = rng.random(n_customers) < 0.05  # subscription-like customers: equal amounts (ties)
    amount = np.where(fixed[cust], 100.0, amount)
    ret = rng.random(len(cust)) < 0.03
    amount = np.where(
        ret, -np.round(amount * rng.uniform(0.5, 3.0, len(cust)), 2), amount
    )  # some totals < 0
    amount = np.where(rng.random(len(cust)) < 0.005, 0.0, amount)
    return (
        pd.DataFrame(
            {"customer_id": [f"U{i:05d}" for i in cust], "date": days[day], "amount": amount}
        )
        .sort_values(["date", "customer_id"], kind="stable")
        .reset_index(drop=True)
    )


# ------------------------------------------------------------------ runs
def test_on_sample_every_section_runs(sample_page, sample_dir):
    # page 01 as the sample report ran it (conftest.sample_page: built once, shared)
    s, final = sample_page(NB)
    assert s["skipped_sections"] == []
    tx = aio.load_dataset(sample_dir).transactions
    assert_agrees(s, expected(tx, s["quarter"]))
    assert sum(s["credit_grades"].values()) == s["n_customers"]
    assert sum(s["abcd"].values()) == s["n_customers"] and s["abcd"]["A"] == pytest.approx(
        0.2 * s["n_customers"], abs=1
    )
    assert sum(s["screening"].values()) == sum(s["value_groups"].values()) == s["n_customers"]
    assert s["tag_classes"] and s["unapproved_tags"] == 0
    roster = pd.read_csv(final / "customer_roster.csv", dtype=str)
    assert len(roster) == s["roster_rows"] >= s["n_customers"]
    assert roster["客户编号"].is_unique and {"ABC类别", "客户层级", "筛选结论", "理由"} <= set(
        roster.columns
    )
    assert set(roster["客户层级"].dropna()) == {"重要客户", "次要客户", "普通客户", "小客户"}
    # the key customers (重要 + 次要) are the top 20% of the customers ranked by profit
    assert s["key_customers"]["key_customers"] == pytest.approx(0.2 * s["n_customers"], abs=1)
    assert (final / "customer_roster.xlsx").exists()


def test_on_transactions_only_with_other_cutoffs(run_notebook, tiny_tx_dir):
    s = run_notebook(
        NB, tiny_tx_dir, lang="en", abc_basis="gross_profit", abc_cutoff_a=0.8, abc_cutoff_b=0.95
    )
    needs = {x["needs"] for x in s["skipped_sections"]}
    assert needs == {
        "column 'cost' in transactions",
        "column 'channel' in customers",
        "table 'receivables'",
        "table 'interactions'",
        "column 'tags' in customers",
    }
    assert s["abc_basis"] == "sales" and s["abc_cutoffs"] == [0.8, 0.95]
    assert s["credit_grades"] is None and s["abcd"] is None and s["tag_classes"] is None
    assert_agrees(s, expected(aio.load_dataset(tiny_tx_dir).transactions, s["quarter"], 0.8, 0.95))


@pytest.mark.slow
def test_tens_of_thousands_of_customers_agree_with_independent_computation(
    run_notebook, tmp_path_factory
):
    d = tmp_path_factory.mktemp("big_tx")
    tx = synthetic_transactions()
    aio.write_tables({"transactions": tx}, d)
    s = run_notebook(NB, d)
    exp = expected(tx, s["quarter"])
    assert s["quarter"] == "2025Q4" and exp["n_customers"] > 10_000
    assert min(exp["A"]["customers"], exp["B"]["customers"], exp["C"]["customers"]) > 0
    assert_agrees(s, exp)


@pytest.mark.slow
@pytest.mark.skipif(not (CDNOW / "transactions.csv").exists(), reason="CDNOW data not vendored")
def test_cdnow_real_transactions_agree_with_independent_computation(run_notebook):
    # 1997Q4: the trailing 12 months hold the whole 1997 cohort (23,570 customers)
    s = run_notebook(NB, CDNOW, quarter="1997Q4")
    tx = pd.read_csv(CDNOW / "transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    exp = expected(tx, "1997Q4")
    assert exp["n_customers"] > 20_000
    assert_agrees(s, exp)
