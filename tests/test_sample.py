"""The sample company: reproducible from its seed, loadable, and calibrated to DOMAIN.md case 3.

Case 3 (《客户分类案例》, pharma distributor "MM"): 450 customers, revenue 40M CNY a year, the
top 100 customers bring over 83% of it, receivables about 10M CNY.  The calibration
tests read the committed files in data/sample, so they fail if the data drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import SAMPLE_DIR
from analysis.data import sample
from analysis.data.io import load_dataset
from analysis.data.schema import INTERACTION_KINDS, TABLES
from analysis.engine.aggregate import customer_summary

END = pd.Timestamp("2025-12-31")
TABLE_NAMES = [
    "transactions",
    "customers",
    "products",
    "inventory",
    "receivables",
    "interactions",
    "targets",
]


@pytest.fixture(scope="module")
def ds():
    """The committed sample, loaded and validated (references included) by analysis.data.io."""
    return load_dataset(SAMPLE_DIR)


@pytest.fixture(scope="module")
def summary(ds):
    return customer_summary(ds.transactions, as_of=END + pd.Timedelta(days=1))


# ---------------------------------------------------------------- reproducibility
def test_generator_reproduces_committed_files_byte_for_byte(tmp_path):
    written = sample.write_sample(tmp_path, seed=2025)
    assert sorted(p.name for p in written) == sorted(f"{t}.csv" for t in TABLE_NAMES)
    for path in written:
        committed = SAMPLE_DIR / path.name
        assert committed.exists(), f"{committed} is missing: run `ccm sample --out data/sample`"
        assert path.read_bytes() == committed.read_bytes(), f"{path.name} differs from data/sample"


def test_committed_csv_is_utf8_without_bom():
    for name in TABLE_NAMES:
        data = (SAMPLE_DIR / f"{name}.csv").read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")


def test_same_seed_same_tables_other_seed_other_tables():
    a, b = sample.generate(7, n_customers=40), sample.generate(7, n_customers=40)
    c = sample.generate(8, n_customers=40)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["transactions"].equals(c["transactions"])


def test_small_company_is_complete_and_canonical():
    tables = sample.generate(3, n_customers=40)
    assert list(tables) == TABLE_NAMES
    for name, df in tables.items():
        assert len(df) > 0, name
        assert set(TABLES[name].required) <= set(df.columns), name
        assert set(df.columns) <= set(TABLES[name].columns), name
    ids = set(tables["customers"]["customer_id"])
    assert len(ids) == 40
    for child in ("transactions", "receivables", "interactions"):
        assert set(tables[child]["customer_id"]) <= ids
    assert set(tables["transactions"]["customer_id"]) == ids  # everyone bought at least once
    # sales scale with the customer count: about 90,000 CNY a customer a year
    yearly = tables["transactions"]["amount"].sum() / 4
    assert 40 * 90_000 * 0.5 < yearly < 40 * 90_000 * 2


def test_rejects_empty_company():
    with pytest.raises(ValueError, match="n_customers"):
        sample.generate(n_customers=0)


# ---------------------------------------------------------------- calibration (case 3)
def test_about_450_customers_with_chinese_names(ds):
    cust = ds["customers"]
    assert 430 <= len(cust) <= 470
    assert cust["customer_id"].str.fullmatch(r"C\d{4}").all()
    assert cust["name"].str.contains(r"[\u4e00-\u9fff]").all()
    assert cust["name"].is_unique
    assert set(cust["channel"]) == {"批发商", "零售商", "代理商", "特约店", "连锁店", "专营店"}
    assert cust["region"].notna().all() and cust["industry"].notna().all()


def test_yearly_sales_about_40m_each_full_year(ds):
    tx = ds.transactions
    yearly = tx.groupby(tx["date"].dt.year)["amount"].sum()
    assert list(yearly.index) == [2022, 2023, 2024, 2025]
    assert yearly.between(36e6, 44e6).all(), yearly.round(-4).to_dict()


def test_top_100_customers_bring_about_83_percent_of_2025_sales(ds):
    tx = ds.transactions
    by_customer = tx[tx["date"].dt.year == 2025].groupby("customer_id")["amount"].sum()
    share = by_customer.nlargest(100).sum() / by_customer.sum()
    assert 0.80 <= share <= 0.86, share


def test_at_least_12_quarters(ds):
    quarters = ds.transactions["date"].dt.to_period("Q").unique()
    assert len(quarters) >= 12


def test_winter_peak_and_february_dip(ds):
    tx = ds.transactions
    monthly = tx.groupby(tx["date"].dt.month)["amount"].sum()
    assert monthly[12] > 1.2 * monthly[7]
    assert monthly[2] < monthly[[1, 3]].min()


def test_gross_margins_differ_by_category(ds):
    tx = ds.transactions.merge(ds["products"][["product_id", "category"]], on="product_id")
    by_cat = tx.groupby("category")[["amount", "cost"]].sum()
    rate = 1 - by_cat["cost"] / by_cat["amount"]
    assert set(rate.index) == set(sample.CATEGORIES)
    assert rate.max() - rate.min() > 0.05, rate.round(3).to_dict()
    assert (rate > 0).all()


def test_returns_are_one_to_two_percent_of_sales(ds):
    amount = ds.transactions["amount"]
    ret = -amount[amount < 0].sum() / amount[amount > 0].sum()
    assert 0.005 < ret < 0.03, ret
    returns = ds.transactions[amount < 0]
    assert returns["order_id"].str.startswith("RT").all() and (returns["quantity"] < 0).all()


def test_customers_leave_and_arrive(summary):
    churned = summary["recency_days"] > 180
    arrived = summary["first_date"] >= pd.Timestamp("2024-01-01")
    assert churned.sum() >= 20
    assert arrived.sum() >= 5


def test_churn_is_learnable_from_behaviour(ds):
    """Customers who stop buying in the next 180 days already bought less and complained more."""
    as_of, tx = pd.Timestamp("2024-07-01"), ds.transactions
    year = customer_summary(tx, as_of=as_of, start=as_of - pd.Timedelta(days=365))
    quarter = customer_summary(tx, as_of=as_of, start=as_of - pd.Timedelta(days=91))
    feats = (
        year.set_index("customer_id")[["frequency"]]
        .join(quarter.set_index("customer_id")["frequency"].rename("recent"))
        .fillna(0)
    )
    feats = feats[feats["frequency"] > 0]
    ahead = tx[
        (tx["date"] >= as_of) & (tx["date"] < as_of + pd.Timedelta(days=180)) & (tx["amount"] > 0)
    ]
    left = ~feats.index.isin(ahead["customer_id"])
    assert 10 <= left.sum() <= 60
    recent_share = feats["recent"] / feats["frequency"]
    assert recent_share[left].mean() < 0.5 * recent_share[~left].mean()
    it = ds["interactions"]
    complaints = it[
        (it["kind"] == "complaint")
        & (it["date"] < as_of)
        & (it["date"] >= as_of - pd.Timedelta(days=180))
    ]["customer_id"].value_counts()
    per_customer = complaints.reindex(feats.index, fill_value=0)
    assert per_customer[left].mean() > 1.5 * per_customer[~left].mean()


def test_outstanding_receivables_about_10m_at_the_end(ds):
    rec = ds["receivables"]
    outstanding = (rec["amount"] - rec["paid_amount"]).sum()
    assert 6e6 <= outstanding <= 14e6, outstanding
    assert rec["invoice_id"].is_unique
    paid = rec["paid_date"].notna()
    assert (rec.loc[paid, "paid_date"] >= rec.loc[paid, "invoice_date"]).all()
    assert (rec.loc[~paid, "paid_amount"] == 0).all()
    late_days = (rec["paid_date"] - rec["due_date"]).dt.days
    assert (late_days > 30).sum() > 100  # slow payers
    assert (rec.loc[paid, "paid_date"] <= END).all()
    terms = (rec["due_date"] - rec["invoice_date"]).dt.days
    assert set(terms) <= {30, 45, 60, 90}


def test_inventory_monthly_at_cost_with_a_few_gaps(ds):
    inv = ds["inventory"]
    n_products = len(ds["products"])
    dates = inv["date"].unique()
    assert len(dates) == 49  # opening 2021-12-31 plus 48 month ends
    missing = len(dates) * n_products - len(inv)
    assert 0 < missing < 0.01 * len(dates) * n_products
    assert (inv["stock_value"] > 0).all()


def test_interactions_tags_and_credit(ds):
    it = ds["interactions"]
    assert set(it["kind"]) == set(INTERACTION_KINDS)
    assert it["note"].str.contains(r"[\u4e00-\u9fff]").all()
    tags = ds["customers"]["tags"].dropna().str.split(";").explode()
    assert set(tags) <= set(sample.TAGS)
    assert tags.nunique() >= 8
    assert (ds["customers"]["credit_limit"] > 0).all()
    since = ds["customers"].set_index("customer_id")["since"]
    first = ds.transactions.groupby("customer_id")["date"].min()
    assert (since.reindex(first.index) <= first).all()


def test_product_ids_and_categories(ds):
    prod = ds["products"]
    assert 100 <= len(prod) <= 150
    assert prod["product_id"].str.fullmatch(r"P\d{3}").all()
    assert set(ds.transactions["product_id"]) <= set(prod["product_id"])
    assert (prod["unit_cost"] < prod["unit_price"]).all()
    assert np.isclose(ds.transactions["amount"].round(2), ds.transactions["amount"]).all()


def test_targets_are_last_years_quarter_plus_growth():
    # 2025Q4 target of a category = its 2024Q4 sales x 1.08, rounded to 10,000 CNY
    ds = load_dataset(SAMPLE_DIR)
    tx, products, targets = ds["transactions"], ds["products"], ds["targets"]
    cat = tx["product_id"].map(products.set_index("product_id")["category"])
    in_q = (tx["date"] >= "2024-10-01") & (tx["date"] < "2025-01-01") & (cat == "处方药")
    expected = round(tx.loc[in_q, "amount"].sum() * 1.08 / 10_000) * 10_000
    got = targets.loc[
        (targets["quarter"] == "2025Q4") & (targets["category"] == "处方药"), "target"
    ].item()
    assert got == expected
    assert targets["quarter"].min() == "2023Q1" and targets["quarter"].max() == "2025Q4"
