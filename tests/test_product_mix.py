"""Product sales composition: ranking, catalogue fallbacks, leanings, mix shift, targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.products import mix as pm
from analysis.report.records import json_number, product_mix_summary, top_records


@pytest.fixture
def tx():
    """Four products; P9 is not in the catalogue; one line has no product id; one return."""
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2", "C2", "C3", "C3", "C3"],
            "product_id": ["P1", "P2", "P1", "P3", "P9", "P2", None],
            "amount": [300.0, 100.0, 200.0, 150.0, 50.0, -20.0, 20.0],
            "cost": [200.0, 60.0, 150.0, 90.0, 45.0, -12.0, 10.0],
            "quantity": [3.0, 1.0, 2.0, 5.0, 1.0, -1.0, 2.0],
        }
    )


@pytest.fixture
def products():
    return pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3", "P4"],
            "name": ["甲", "乙", "丙", "丁"],
            "category": ["药", "药", "器械", "器械"],
        }
    )


def test_product_sales_sums_and_unknown_products(tx, products):
    out = pm.product_sales(tx, products, unknown_category="未分类").set_index("product_id")
    assert list(out.index) == ["P1", "P3", "P2", "P9", "(none)"]  # by sales 500, 150, 80, 50, 20
    assert out.loc["P1", "sales"] == 500.0 and out.loc["P1", "quantity_sold"] == 5.0
    # P2: 100 - 20 return = 80 net; profit (100-60) + (-20+12) = 32; rate 32 / 80 = 0.4
    assert out.loc["P2", "sales"] == 80.0 and out.loc["P2", "gross_profit"] == 32.0
    assert out.loc["P2", "gross_margin_rate"] == pytest.approx(0.4)
    assert out.loc["P2", "returns"] == 20.0
    # P9 sold but not in the catalogue: kept as its own id, category unknown
    assert out.loc["P9", "product_name"] == "P9" and out.loc["P9", "category"] == "未分类"
    assert not out.loc["P9", "in_catalogue"] and out.loc["P1", "in_catalogue"]
    assert out.loc["(none)", "category"] == "未分类"
    assert out["sales"].sum() == pytest.approx(tx["amount"].sum())  # nothing dropped
    assert "P4" not in out.index  # catalogue products without sales are not invented


def test_product_sales_without_catalogue_cost_or_quantity(tx):
    bare = tx.drop(columns=["cost", "quantity"])
    out = pm.product_sales(bare)
    assert (out["category"] == pm.UNKNOWN_CATEGORY).all()
    assert out["gross_margin_rate"].isna().all() and out["quantity_sold"].isna().all()


def test_product_sales_keep_ids_adds_zero_rows(tx, products):
    out = pm.product_sales(tx, products, keep_ids=["P4", "P1"]).set_index("product_id")
    assert out.loc["P4", "sales"] == 0.0 and out.loc["P4", "product_name"] == "丁"
    assert out.loc["P1", "sales"] == 500.0  # an id already sold is not duplicated
    assert out.index.is_unique


def test_product_abc_reuses_customer_rule(tx, products):
    ranked = pm.product_abc(pm.product_sales(tx, products), cutoffs=(0.75, 0.95))
    # total 800: shares 500/800, 150/800, 80/800, 50/800, 20/800
    assert ranked["product_id"].tolist() == ["P1", "P3", "P2", "P9", "(none)"]
    assert ranked["cum_share"].tolist() == pytest.approx([0.625, 0.8125, 0.9125, 0.975, 1.0])
    # A: nothing before P1 (0 < 0.75), P3 has 62.5% before -> A; P2 81.25% before -> B;
    # P9 91.25% before -> B; (none) 97.5% before -> C
    assert ranked["abc_class"].tolist() == ["A", "A", "B", "B", "C"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]


def test_customer_abc_by_quarter_sales():
    d = pd.to_datetime
    tx = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C1", "C3"],
            "date": d(["2025-10-02", "2025-10-03", "2025-11-04", "2025-09-30", "2026-01-01"]),
            "amount": [80.0, 15.0, 5.0, 1000.0, 1000.0],
            "cost": [50.0, 10.0, 1.0, 0.0, 0.0],
        }
    )
    out = pm.customer_abc(tx, "2025-10-01", "2026-01-01").set_index("customer_id")
    # only Q4 lines: 80 / 15 / 5 of 100 -> A (0 before), B (80% before), C (95% before)
    assert out["abc_class"].to_dict() == {"C1": "A", "C2": "B", "C3": "C"}
    assert out.loc["C1", "monetary"] == 80.0 and out.loc["C1", "gross_profit"] == 30.0


def test_category_subtotals(tx, products):
    out = pm.category_subtotals(pm.product_sales(tx, products, unknown_category="未分类"))
    out = out.set_index("category")
    # 药: P1 500 + P2 80 = 580; profit 150 + 32 = 182; 器械: P3 150, profit 60
    assert out.loc["药", "sales"] == 580.0 and out.loc["药", "products"] == 2
    assert out.loc["药", "gross_margin_rate"] == pytest.approx(182 / 580)
    assert out.loc["器械", "gross_margin_rate"] == pytest.approx(60 / 150)
    assert out.loc["未分类", "sales"] == 70.0  # P9 50 + the line without id 20
    assert out["share"].sum() == pytest.approx(1.0)
    assert out.index[0] == "药"


def test_category_leanings_against_average(tx, products):
    cats = pm.product_sales(tx, products)
    classes = pd.DataFrame({"customer_id": ["C1", "C2"], "abc_class": ["A", "B"]})
    out = pm.category_leanings(tx, classes, cats, group_col="abc_class")
    cell = out.set_index(["abc_class", "category"])
    # A (C1): 药 400 of 400; B (C2): 药 200, 器械 150 of 350; C3 unassigned ("–"): unknown 70, 药 -20
    assert cell.loc[("A", "药"), "share_in_group"] == pytest.approx(1.0)
    assert cell.loc[("B", "器械"), "share_in_group"] == pytest.approx(150 / 350)
    # overall 药 = 580 / 800
    assert cell.loc[("A", "药"), "overall_share"] == pytest.approx(580 / 800)
    assert cell.loc[("A", "药"), "lean_pts"] == pytest.approx(1 - 580 / 800)
    assert cell.loc[("B", "器械"), "lean_index"] == pytest.approx((150 / 350) / (150 / 800))
    assert ("–", pm.UNKNOWN_CATEGORY) in cell.index
    mat = pm.leanings_matrix(out, group_col="abc_class", group_order=["A", "B", "–"])
    assert list(mat.columns) == ["A", "B", "–", "all"]
    assert mat.loc["器械", "A"] == 0.0  # A bought none
    assert mat["all"].sum() == pytest.approx(1.0)


def test_mix_shift_new_dropped_and_points():
    now = pd.DataFrame({"product_id": ["P1", "P2", "P4"], "sales": [60.0, 30.0, 10.0]})
    before = pd.DataFrame({"product_id": ["P1", "P2", "P3"], "sales": [50.0, 25.0, 25.0]})
    out = pm.mix_shift(now, before).set_index("product_id")
    # P1 share 0.60 vs 0.50 -> +10 points; P3 0 vs 0.25 -> -25 points
    assert out.loc["P1", "change_pts"] == pytest.approx(0.10)
    assert out.loc["P3", "change_pts"] == pytest.approx(-0.25)
    assert out.loc["P4", "mix_status"] == "mix_new" and out.loc["P3", "mix_status"] == "mix_dropped"
    assert out.loc["P2", "mix_status"] == "mix_continuing"
    assert out["change_pts"].sum() == pytest.approx(0.0)
    assert out.index[-1] == "P3"  # largest loss last


def test_sales_vs_target_product_and_category(tx, products):
    table = pm.product_sales(tx, products)
    targets = pd.DataFrame(
        {
            "quarter": ["2025Q4", "2025Q4", "2025q4", "2025Q3"],
            "product_id": ["P1", None, "P7", "P1"],
            "category": [None, "器械", None, None],
            "target": [400.0, 300.0, 0.0, 999.0],
        }
    )
    out = pm.sales_vs_target(table, targets, "2025Q4").set_index("target_key")
    assert len(out) == 3  # Q3 target ignored
    assert (
        out.loc["P1", "target_achievement"] == pytest.approx(500 / 400)
        and out.loc["P1", "target_level"] == "product"
    )
    assert (
        out.loc["器械", "target_achievement"] == pytest.approx(0.5)
        and out.loc["器械", "target_gap"] == -150.0
    )
    assert math.isnan(out.loc["P7", "target_achievement"]) and out.loc["P7", "sales"] == 0.0
    assert out.index[0] == "器械"  # least achieved first


def test_product_sales_does_not_mutate(tx, products):
    before = tx.copy()
    pm.product_sales(tx, products)
    pd.testing.assert_frame_equal(tx, before)


def test_product_sales_requires_product_id():
    with pytest.raises(KeyError, match="Required column product_id missing"):
        pm.product_sales(pd.DataFrame({"amount": [1.0]}))


def test_strongest_leanings_and_records():
    lean = pd.DataFrame(
        {
            "abc_class": ["A", "A", "B", "B"],
            "category": ["x", "tiny", "x", "y"],
            "lean_pts": [0.05, 0.5, -0.2, 0.01],
            "overall_share": [0.6, 0.005, 0.6, 0.395],
        }
    )
    out = pm.strongest_leanings(lean, n=2)
    assert out["lean_pts"].tolist() == [-0.2, 0.05]  # "tiny" left out (0.5% of sales)
    recs = top_records(
        pd.DataFrame({"product_id": ["P1"], "sales": [np.float64(3.5)], "ratio": [np.nan]}),
        ["product_id", "sales", "ratio"],
    )
    assert recs == [{"product_id": "P1", "sales": 3.5, "ratio": None}]
    assert json_number(float("inf")) is None


def test_largest_shifts_and_headlines(tx, products):
    shift = pd.DataFrame({"product_id": list("abcde"), "change_pts": [0.3, 0.1, 0.0, -0.1, -0.3]})
    assert pm.largest_shifts(shift, n=1)["product_id"].tolist() == ["a", "e"]
    ranked = pm.product_abc(pm.product_sales(tx, products))
    head = product_mix_summary(ranked, tx, top=2)
    # costs 200+60+150+90+45-12+10 = 543 -> (800 - 543) / 800
    assert head["gross_margin_rate"] == pytest.approx((800 - 543) / 800)
    assert head["product_abc_counts"] == {"A": 2, "B": 2, "C": 1}
    assert [r["product_id"] for r in head["top_products_by_sales"]] == ["P1", "P3"]
    assert product_mix_summary(None, tx.drop(columns="cost"))["gross_margin_rate"] is None


def test_mix_counts():
    shift = pd.DataFrame({"mix_status": ["mix_new", "mix_new", "mix_dropped", "mix_continuing"]})
    assert pm.mix_counts(shift) == {"new": 2, "dropped": 1}


def test_product_sales_of_an_empty_period(tx, products):
    out = pm.product_sales(tx.iloc[0:0], products)
    assert out.empty and out["quantity_sold"].dtype == "float64"
    shift = pm.mix_shift(pm.product_sales(tx, products), out)
    assert (shift["mix_status"] == "mix_new").sum() == 5 and shift["share_before"].isna().all()


def test_product_labels_are_complete_pairs():
    """Every entry of labels/product.yaml is exactly {zh, en} (an unquoted comma in a flow
    mapping silently cuts the English text), and every key the product pages emit resolves."""
    from pathlib import Path

    import yaml

    from analysis.products import margin as mg
    from analysis.viz import labels as label_table
    from analysis.viz.labels import label

    path = Path(label_table.__file__).with_name("labels") / "product.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    # zh and en, and a table column's display format (fmt, analysis.viz.tables)
    assert {k: sorted(v) for k, v in entries.items() if set(v) - {"fmt"} != {"zh", "en"}} == {}
    emitted = [
        *mg.QUADRANTS.values(),
        *pm.MIX_STATUS,
        "inv_both",
        "inv_opening_only",
        "inv_closing_only",
        "basis_cost",
        "basis_sales",
        "category_unknown",
    ]
    for key in emitted:
        assert label(key, "zh") and label(key, "en")
