"""Notebooks 02_product_mix and 03_margin_ranking executed through papermill."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data import io as aio
from analysis.data.periods import Quarter
from analysis.data.sample import generate

pytestmark = pytest.mark.notebook


def quarter_margin(tx: pd.DataFrame, quarter: str) -> float:
    """Independent check: sum(amount - cost) / sum(amount) over the quarter's lines."""
    q = Quarter.parse(quarter)
    lines = tx[(tx["date"] >= q.start) & (tx["date"] < q.end)]
    return float((lines["amount"] - lines["cost"]).sum() / lines["amount"].sum())


@pytest.fixture(scope="module")
def product_tx_dir(tmp_path_factory):
    """A real-looking transactions table with product_id and cost, and no other table."""
    d = tmp_path_factory.mktemp("product_tx")
    tx = generate(n_customers=40)["transactions"]
    aio.write_tables({"transactions": tx}, d)
    return d


def test_02_on_sample(sample_page, sample_dir):
    # the pages as the sample report ran them (conftest.sample_page: built once, shared)
    s, _ = sample_page("02_product_mix")
    tx = aio.load_dataset(sample_dir).transactions
    assert s["gross_margin_rate"] == pytest.approx(quarter_margin(tx, s["quarter"]))
    counts = s["product_abc_counts"]
    assert set(counts) == {"A", "B", "C"} and counts["A"] < counts["B"] + counts["C"]
    top = s["top_products_by_sales"]
    assert len(top) == 5 and top[0]["sales"] >= top[-1]["sales"] > 0
    assert {x["needs"] for x in s["skipped_sections"]} <= {"table 'targets'"}


def test_03_on_sample(sample_page, sample_dir):
    s, final = sample_page("03_margin_ranking", lang="en")
    tx = aio.load_dataset(sample_dir).transactions
    assert s["gross_margin_rate"] == pytest.approx(quarter_margin(tx, s["quarter"]))
    assert set(s["margin_rate_by_class"]) == {"A", "B", "C"}
    assert all(0 < v < 1 for v in s["margin_rate_by_class"].values())
    # 《如何做好客户分类管理》: sales / average stock, per month (the sample counts stock at every month end)
    assert (
        s["median_turnover"] > 0
        and s["turnover_basis"] == "basis_sales"
        and s["turnover_period"] == "period_month"
    )
    turn = pd.read_csv(final / "stock_turnover.csv", dtype={"product_id": str})
    ok = (turn["avg_inventory"] > 0) & (turn["sales"] >= 0)
    assert turn.loc[ok, "stock_turnover"].to_numpy() == pytest.approx(
        (turn.loc[ok, "sales"] / 3 / turn.loc[ok, "avg_inventory"]).to_numpy()
    )
    cross = pd.read_csv(final / "cross_ratios.csv", dtype={"product_id": str}).dropna(
        subset=["cross_ratio"]
    )
    # on the sales basis the cross ratio is gross profit / average stock (per month)
    assert cross["cross_ratio"].to_numpy() == pytest.approx(
        (cross["gross_profit"] / 3 / cross["avg_inventory"]).to_numpy()
    )
    assert len(s["top_products_by_contribution"]) == 5
    ratios = [x["contribution_ratio"] for x in s["top_products_by_contribution"]]
    assert ratios == sorted(ratios, reverse=True)
    assert s["skipped_sections"] == []


def test_both_on_transactions_with_product_and_cost_only(run_notebook, product_tx_dir, tmp_path):
    tx = aio.load_dataset(product_tx_dir).transactions
    s2 = run_notebook("02_product_mix", product_tx_dir)
    s3 = run_notebook("03_margin_ranking", product_tx_dir)
    expected = quarter_margin(tx, s3["quarter"])
    assert s2["gross_margin_rate"] == pytest.approx(expected)
    assert s3["gross_margin_rate"] == pytest.approx(expected)
    assert sum(s2["product_abc_counts"].values()) >= s2["n_products"] > 0
    skipped = {x["needs"] for x in s3["skipped_sections"]}
    assert skipped == {
        "table 'products'",
        "table 'inventory'",
        "table 'receivables'",
        "table 'interactions'",
    }
    # per product: the saved margin table (run_notebook writes into tmp_path / "out") against the raw lines
    saved = pd.read_csv(
        tmp_path / "out" / "product_margins.csv", dtype={"product_id": str}
    ).set_index("product_id")
    q = Quarter.parse(s3["quarter"])
    lines = tx[(tx["date"] >= q.start) & (tx["date"] < q.end)]
    g = (
        lines.assign(gp=lines["amount"] - lines["cost"])
        .groupby("product_id")[["gp", "amount"]]
        .sum()
    )
    g = g[g["amount"] > 0]
    assert saved.loc[g.index, "gross_margin_rate"].to_numpy() == pytest.approx(
        (g["gp"] / g["amount"]).to_numpy()
    )


def test_both_on_transactions_without_products_or_cost(run_notebook, tiny_tx_dir):
    s2 = run_notebook("02_product_mix", tiny_tx_dir)
    s3 = run_notebook("03_margin_ranking", tiny_tx_dir)
    assert s2["gross_margin_rate"] is None and s3["gross_margin_rate"] is None
    assert s2["top_products_by_sales"] == [] and s3["top_products_by_contribution"] == []
    assert "column 'product_id' in transactions" in {x["needs"] for x in s2["skipped_sections"]}
    assert "column 'cost' in transactions" in {x["needs"] for x in s3["skipped_sections"]}
