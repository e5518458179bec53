"""Gross margin, turnover, cross and contribution ratios, receivables: hand-computed cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.products import margin as mg
from analysis.report.records import margin_summary

Q4_START, Q4_END = pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01")


def tx_frame(rows, cols=("customer_id", "product_id", "amount", "cost")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(cols))


@pytest.fixture
def three_products():
    """P1 100 sales / 60 cost, P2 200 / 150, P3 100 / 80 (one P3 line is a return)."""
    tx = tx_frame(
        [
            ("C1", "P1", 100.0, 60.0),
            ("C1", "P2", 120.0, 90.0),
            ("C2", "P2", 80.0, 60.0),
            ("C2", "P3", 130.0, 104.0),
            ("C2", "P3", -30.0, -24.0),  # return of P3
        ]
    )
    inv = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-09-30", "2025-12-31"] * 3),
            "product_id": ["P1", "P1", "P2", "P2", "P3", "P3"],
            "stock_value": [10.0, 30.0, 50.0, 50.0, 40.0, 40.0],
        }
    )
    return tx, inv


# ---------------------------------------------------------------- margin
def test_margin_by_product_and_overall(three_products):
    tx, _ = three_products
    out = mg.margin_by(tx, "product_id").set_index("product_id")
    # P1: (100-60)/100 = 0.40; P2: (200-150)/200 = 0.25; P3: (100-80)/100 = 0.20 (return netted)
    assert out.loc["P1", "gross_margin_rate"] == pytest.approx(0.40)
    assert out.loc["P2", "gross_margin_rate"] == pytest.approx(0.25)
    assert out.loc["P3", "gross_margin_rate"] == pytest.approx(0.20)
    assert out.loc["P3", "sales"] == pytest.approx(100.0)
    assert out.loc["P3", "returns"] == pytest.approx(30.0)
    assert out.loc["P2", "gross_profit"] == pytest.approx(50.0)
    # overall: (400 - 290) / 400 = 0.275
    assert mg.overall_margin_rate(tx) == pytest.approx(0.275)
    assert (out["gross_profit"].sum() / out["sales"].sum()) == pytest.approx(0.275)


def test_margin_by_customer_matches_definition(three_products):
    tx, _ = three_products
    out = mg.margin_by(tx, "customer_id").set_index("customer_id")
    # C1: (220 - 150) / 220; C2: (180 - 140) / 180
    assert out.loc["C1", "gross_margin_rate"] == pytest.approx(70 / 220)
    assert out.loc["C2", "gross_margin_rate"] == pytest.approx(40 / 180)


def test_margin_zero_and_negative_sales_is_nan_not_inf():
    tx = tx_frame(
        [
            ("C1", "P1", 50.0, 30.0),
            ("C1", "P1", -50.0, -30.0),  # nets to zero
            ("C1", "P2", -20.0, -15.0),
        ]
    )  # only a return
    out = mg.margin_by(tx, "product_id").set_index("product_id")
    assert out.loc["P1", "sales"] == 0.0 and math.isnan(out.loc["P1", "gross_margin_rate"])
    assert math.isnan(out.loc["P2", "gross_margin_rate"])
    assert not np.isinf(out["gross_margin_rate"]).any()


def test_margin_without_cost_is_nan_and_lines_without_cost_left_out():
    tx = tx_frame([("C1", "P1", 100.0)], cols=("customer_id", "product_id", "amount"))
    out = mg.margin_by(tx, "product_id")
    assert math.isnan(out.loc[0, "gross_margin_rate"]) and math.isnan(out.loc[0, "gross_profit"])
    assert math.isnan(mg.overall_margin_rate(tx))
    partial = tx_frame([("C1", "P1", 100.0, 70.0), ("C1", "P1", 50.0, None)])
    # only the costed line counts: (100 - 70) / 100 = 0.30
    assert mg.margin_by(partial, "product_id").loc[0, "gross_margin_rate"] == pytest.approx(0.30)
    assert mg.overall_margin_rate(partial) == pytest.approx(0.30)


def test_margin_by_requires_columns():
    with pytest.raises(KeyError, match="Required column amount missing"):
        mg.margin_by(pd.DataFrame({"product_id": ["P1"]}), "product_id")


def test_loss_makers_worst_first(three_products):
    tx, _ = three_products
    tx = pd.concat([tx, tx_frame([("C3", "P4", 10.0, 25.0), ("C3", "P5", 10.0, 12.0)])])
    out = mg.loss_makers(mg.margin_by(tx, "product_id"))
    assert out["product_id"].tolist() == ["P4", "P5"]  # -15 then -2


def test_margin_by_does_not_mutate(three_products):
    tx, _ = three_products
    before = tx.copy()
    mg.margin_by(tx, ["customer_id", "product_id"])
    pd.testing.assert_frame_equal(tx, before)


# ---------------------------------------------------------------- inventory
def test_average_inventory_both_snapshots(three_products):
    _, inv = three_products
    out = mg.average_inventory(inv, Q4_START, Q4_END).set_index("product_id")
    assert out.loc["P1", "avg_inventory"] == pytest.approx(20.0)  # (10 + 30) / 2
    assert (out["inventory_rule"] == "inv_both").all()


def test_average_inventory_missing_snapshot_rules():
    inv = pd.DataFrame(
        {
            "date": pd.to_datetime(
                [
                    "2025-06-30",
                    "2025-09-30",
                    "2025-11-30",  # A: opening Sep 30, closing Nov 30
                    "2025-09-30",  # B: no count in Q4
                    "2025-12-31",  # C: first counted in Q4
                    "2026-01-31",
                ]
            ),  # D: only after Q4
            "product_id": ["A", "A", "A", "B", "C", "D"],
            "stock_value": [99.0, 40.0, 60.0, 24.0, 16.0, 5.0],
        }
    )
    out = mg.average_inventory(inv, Q4_START, Q4_END).set_index("product_id")
    assert out.loc["A", "avg_inventory"] == pytest.approx(50.0)  # (40 + 60) / 2, Jun ignored
    assert out.loc["A", "closing_date"] == pd.Timestamp("2025-11-30")  # latest count in the period
    assert out.loc["B", "avg_inventory"] == pytest.approx(24.0)  # opening alone
    assert out.loc["B", "inventory_rule"] == "inv_opening_only"
    assert out.loc["C", "avg_inventory"] == pytest.approx(16.0)  # closing alone
    assert out.loc["C", "inventory_rule"] == "inv_closing_only"
    assert "D" not in out.index


def test_average_inventory_month_start_counts():
    # counts on the first day: Oct 1 opens Q4, Jan 1 closes it
    inv = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-10-01", "2025-12-01", "2026-01-01"]),
            "product_id": ["A"] * 3,
            "stock_value": [10.0, 99.0, 30.0],
        }
    )
    out = mg.average_inventory(inv, Q4_START, Q4_END)
    assert out.loc[0, "avg_inventory"] == pytest.approx(20.0)


def test_three_product_turnover_cross_and_contribution(three_products):
    """The worked example on the cost basis (the project's alternative; all figures by hand).

    product  sales  cost  margin  avg inv        turnover (COGS/inv)  cross  share  contribution
    P1       100     60   0.40    (10+30)/2=20   60/20 = 3            1.20   0.25   0.300
    P2       200    150   0.25    (50+50)/2=50   150/50 = 3           0.75   0.50   0.375
    P3       100     80   0.20    (40+40)/2=40   80/40 = 2            0.40   0.25   0.100
    """
    tx, inv = three_products
    products = mg.margin_by(tx, "product_id")
    turn = mg.stock_turnover(
        products, mg.average_inventory(inv, Q4_START, Q4_END), days=92, basis="cost"
    )
    out = mg.cross_ratios(turn).set_index("product_id")
    assert out["stock_turnover"].to_dict() == pytest.approx({"P1": 3.0, "P2": 3.0, "P3": 2.0})
    assert out["cross_ratio"].to_dict() == pytest.approx({"P1": 1.2, "P2": 0.75, "P3": 0.4})
    assert out["sales_share"].to_dict() == pytest.approx({"P1": 0.25, "P2": 0.5, "P3": 0.25})
    assert out["contribution_ratio"].to_dict() == pytest.approx({"P1": 0.3, "P2": 0.375, "P3": 0.1})
    assert list(out.index) == ["P2", "P1", "P3"]  # ranked by contribution
    # days of inventory = 92 x 20 / 60 for P1
    assert out.loc["P1", "days_of_inventory"] == pytest.approx(92 * 20 / 60)
    assert (out["turnover_basis"] == "basis_cost").all() and (
        out["turnover_period"] == "period_whole"
    ).all()


def test_sales_basis_is_the_default_and_the_cross_ratio_is_gross_profit_over_stock(three_products):
    """《如何做好客户分类管理》: turnover = sales / average stock; cross ratio = margin x turnover.

    product  sales  profit  margin  avg inv  turnover (sales/inv)  cross = profit / avg inv
    P1       100     40     0.40    20       5                     2.0  = 40 / 20
    P2       200     50     0.25    50       4                     1.0  = 50 / 50
    P3       100     20     0.20    40       2.5                   0.5  = 20 / 40
    """
    tx, inv = three_products
    turn = mg.stock_turnover(
        mg.margin_by(tx, "product_id"), mg.average_inventory(inv, Q4_START, Q4_END), days=92
    )
    out = mg.cross_ratios(turn).set_index("product_id")
    assert out["stock_turnover"].to_dict() == pytest.approx({"P1": 5.0, "P2": 4.0, "P3": 2.5})
    assert out["cross_ratio"].to_dict() == pytest.approx({"P1": 2.0, "P2": 1.0, "P3": 0.5})
    assert out["cross_ratio"].to_dict() == pytest.approx(
        (out["gross_profit"] / out["avg_inventory"]).to_dict()
    )
    assert out.loc["P1", "days_of_inventory"] == pytest.approx(92 * 20 / 100)
    assert (out["turnover_basis"] == "basis_sales").all()


def test_monthly_turnover_from_monthly_counts():
    """Monthly counts at cost: Sep 30 = 100, Oct 31 = 140, Nov 30 = 60, Dec 31 = 100.

    monthly averages: Oct (100 + 140) / 2 = 120, Nov (140 + 60) / 2 = 100, Dec (60 + 100) / 2 = 80 -> mean 100.
    Q4 sales 300, cost 240: monthly turnover on sales = 300 / 3 / 100 = 1.0, on cost = 240 / 3 / 100 = 0.8;
    margin 60 / 300 = 0.2 -> cross ratio 0.2 (= monthly gross profit 20 / average stock 100) or 0.16 on cost.
    The quarter's own turnover from the two quarter-end counts alone: 300 / ((100 + 100) / 2) = 3.0.
    """
    inv = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-09-30", "2025-10-31", "2025-11-30", "2025-12-31"]),
            "product_id": ["P"] * 4,
            "stock_value": [100.0, 140.0, 60.0, 100.0],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P"],
            "sales": [300.0],
            "cost_of_sales": [240.0],
            "gross_margin_rate": [0.2],
        }
    )
    assert mg.has_monthly_counts(inv, Q4_START, Q4_END)
    assert mg.turnover_months(inv, Q4_START, Q4_END) == 3
    assert mg.turnover_months(inv, Q4_START, Q4_END, period="quarter") is None
    monthly = mg.monthly_average_inventory(inv, Q4_START, Q4_END)
    assert monthly.loc[0, "avg_inventory"] == pytest.approx(100.0)
    assert (
        monthly.loc[0, "inventory_rule"] == "inv_monthly"
        and monthly.loc[0, "inventory_months"] == 3
    )
    on_sales = mg.cross_ratios(mg.stock_turnover(products, monthly, days=92, months=3))
    assert on_sales.loc[0, "stock_turnover"] == pytest.approx(1.0)
    assert on_sales.loc[0, "cross_ratio"] == pytest.approx(0.2)
    assert on_sales.loc[0, "turnover_period"] == "period_month"
    on_cost = mg.cross_ratios(mg.stock_turnover(products, monthly, days=92, months=3, basis="cost"))
    assert on_cost.loc[0, "stock_turnover"] == pytest.approx(0.8) and on_cost.loc[
        0, "cross_ratio"
    ] == pytest.approx(0.16)
    whole = mg.stock_turnover(products, mg.average_inventory(inv, Q4_START, Q4_END), days=92)
    assert whole.loc[0, "stock_turnover"] == pytest.approx(3.0)


def test_quarter_end_counts_are_not_monthly():
    inv = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-09-30", "2025-12-31"]),
            "product_id": ["P"] * 2,
            "stock_value": [10.0, 30.0],
        }
    )
    assert not mg.has_monthly_counts(inv, Q4_START, Q4_END)
    assert mg.turnover_months(inv, Q4_START, Q4_END) is None
    assert mg.turnover_months(inv, Q4_START, Q4_END, period="month") == 3
    with pytest.raises(ValueError, match="auto, month, quarter"):
        mg.turnover_months(inv, Q4_START, Q4_END, period="year")


def test_turnover_on_sales_basis_without_cost(three_products):
    tx, inv = three_products
    products = mg.margin_by(tx.drop(columns="cost"), "product_id")
    turn = mg.stock_turnover(products, mg.average_inventory(inv, Q4_START, Q4_END), days=92)
    turn = turn.set_index("product_id")
    assert turn.loc["P1", "stock_turnover"] == pytest.approx(100 / 20)  # sales / average stock
    assert (turn["turnover_basis"] == "basis_sales").all()
    with pytest.raises(ValueError, match="basis 'cost' needs cost_of_sales"):
        mg.stock_turnover(
            products, mg.average_inventory(inv, Q4_START, Q4_END), days=92, basis="cost"
        )
    with pytest.raises(ValueError, match="expected one of sales, cost"):
        mg.stock_turnover(
            products, mg.average_inventory(inv, Q4_START, Q4_END), days=92, basis="price"
        )


def test_turnover_zero_inventory_zero_sales_and_dead_stock():
    products = pd.DataFrame(
        {
            "product_id": ["Z", "S", "R"],
            "sales": [50.0, 0.0, -10.0],
            "cost_of_sales": [30.0, 0.0, -8.0],
        }
    )
    inv = pd.DataFrame(
        {"product_id": ["Z", "S", "R", "D"], "avg_inventory": [0.0, 20.0, 5.0, 12.0]}
    )
    out = mg.stock_turnover(products, inv, days=92).set_index("product_id")
    assert math.isnan(out.loc["Z", "stock_turnover"])  # zero stock: undefined, not inf
    assert out.loc["Z", "days_of_inventory"] == 0.0  # no stock held
    assert out.loc["S", "stock_turnover"] == 0.0  # stock that did not move
    assert math.isnan(out.loc["S", "days_of_inventory"])  # infinite cover shown as undefined
    assert math.isnan(out.loc["R", "stock_turnover"])  # returns exceed sales
    assert (
        out.loc["D", "sales"] == 0.0 and out.loc["D", "stock_turnover"] == 0.0
    )  # stock, no sales line
    assert not np.isinf(out.select_dtypes("number").to_numpy()).any()
    ratios = mg.cross_ratios(
        out.reset_index().assign(gross_margin_rate=[0.4, np.nan, np.nan, np.nan])
    )
    assert not np.isinf(ratios.select_dtypes("number").to_numpy()).any()
    assert math.isnan(ratios.set_index("product_id").loc["Z", "cross_ratio"])


def test_cross_ratios_zero_total_sales_gives_nan_share():
    df = pd.DataFrame(
        {"product_id": ["A"], "sales": [0.0], "gross_margin_rate": [0.2], "stock_turnover": [1.0]}
    )
    out = mg.cross_ratios(df)
    assert math.isnan(out.loc[0, "sales_share"]) and math.isnan(out.loc[0, "contribution_ratio"])


def test_quadrants_by_median_and_explicit_splits():
    df = pd.DataFrame(
        {
            "product_id": list("ABCDE"),
            "gross_margin_rate": [0.40, 0.10, 0.35, 0.05, 0.30],
            "stock_turnover": [5.0, 6.0, 1.0, 0.5, np.nan],
        }
    )
    out = mg.margin_turnover_quadrant(df).set_index("product_id")
    # medians over A-D: margin (0.10 + 0.35) / 2 = 0.225, turnover (1 + 5) / 2 = 3
    assert out.loc["A", "margin_split"] == pytest.approx(0.225)
    assert out.loc[list("ABCD"), "product_quadrant"].tolist() == [
        "quadrant_push",
        "quadrant_hold",
        "quadrant_review",
        "quadrant_drop",
    ]
    assert pd.isna(out.loc["E", "product_quadrant"])  # no turnover: not rated
    fixed = mg.margin_turnover_quadrant(df, margin_split=0.05, turnover_split=0.5)
    assert (
        fixed["product_quadrant"].iloc[:4] == "quadrant_push"
    ).all()  # at the split counts as high


def test_quadrant_overall_split():
    df = pd.DataFrame(
        {
            "product_id": ["A", "B"],
            "gross_margin_rate": [0.4, 0.1],
            "stock_turnover": [1.0, 4.0],
            "sales": [100.0, 300.0],
            "avg_inventory": [30.0, 10.0],
        }
    )
    out = mg.margin_turnover_quadrant(df, split="overall")
    # margin (0.4*100 + 0.1*300) / 400 = 0.175; turnover (1*30 + 4*10) / 40 = 1.75
    assert out.loc[0, "margin_split"] == pytest.approx(0.175)
    assert out.loc[0, "turnover_split"] == pytest.approx(1.75)
    assert out["product_quadrant"].tolist() == ["quadrant_review", "quadrant_hold"]
    with pytest.raises(ValueError, match="expected one of median, overall"):
        mg.margin_turnover_quadrant(df, split="mean")


# ---------------------------------------------------------------- receivables
@pytest.fixture
def receivables():
    d = pd.to_datetime
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1", "C2", "C2"],
            "invoice_id": ["I1", "I2", "I3", "I4", "I5"],
            "invoice_date": d(
                ["2025-08-01", "2025-10-10", "2025-11-01", "2025-10-05", "2025-12-01"]
            ),
            "amount": [100.0, 200.0, 50.0, 300.0, 100.0],
            "due_date": d(["2025-08-31", "2025-11-09", "2025-12-01", "2025-11-04", "2026-01-15"]),
            "paid_date": d(["2025-10-11", "2025-11-09", None, "2026-01-10", None]),
            "paid_amount": [100.0, 150.0, None, 300.0, None],
        }
    )


def test_receivable_indicators_by_customer(receivables):
    out = mg.receivable_indicators(receivables, Q4_START, Q4_END).set_index("customer_id")
    c1, c2 = out.loc["C1"], out.loc["C2"]
    # C1 invoiced in Q4: 200 + 50; receipts in Q4: I1 100 after 71 days, I2 150 after 30 days
    assert c1["invoiced"] == 250.0 and c1["received"] == 250.0 and c1["n_receipts"] == 2
    assert c1["collection_days"] == pytest.approx((71 * 100 + 30 * 150) / 250)
    assert c1["largest_receipt"] == 150.0 and c1["avg_receipt"] == 125.0
    # arrears at 1 Jan: I2 short-paid 50 + I3 unpaid 50; both past due (9 Nov, 1 Dec)
    assert c1["arrears"] == 100.0 and c1["overdue"] == 100.0
    assert c1["arrears_rate"] == pytest.approx(100 / 250)
    # C2: I4 paid after the quarter -> still owed at 1 Jan (overdue); I5 not yet due
    assert c2["received"] == 0.0 and math.isnan(c2["collection_days"])
    assert c2["arrears"] == 400.0 and c2["overdue"] == 300.0
    assert c2["arrears_rate"] == pytest.approx(1.0)


def test_class_financials_weighted(receivables):
    ind = mg.receivable_indicators(receivables, Q4_START, Q4_END)
    classes = pd.DataFrame({"customer_id": ["C1", "C2"], "abc_class": ["A", "A"]})
    out = mg.class_financials(ind, classes, class_col="abc_class").set_index("abc_class")
    a = out.loc["A"]
    assert a["customers"] == 2 and a["arrears"] == 500.0
    assert a["arrears_rate"] == pytest.approx(500 / 650)  # (100 + 400) / (250 + 400)
    assert a["collection_days"] == pytest.approx((71 * 100 + 30 * 150) / 250)  # only C1 received
    assert a["largest_receipt"] == 150.0
    unclassified = mg.class_financials(ind, classes.iloc[:1], class_col="abc_class")
    assert set(unclassified["abc_class"]) == {"A", "–"}


# ---------------------------------------------------------------- service cost
def test_service_load_and_over_served():
    d = pd.to_datetime
    inter = pd.DataFrame(
        {
            "customer_id": ["C1"] * 4 + ["C2", "C3", "C3"],
            "date": d(
                [
                    "2025-10-02",
                    "2025-10-03",
                    "2025-11-01",
                    "2025-09-01",
                    "2025-10-05",
                    "2025-10-06",
                    "2025-10-07",
                ]
            ),
            "kind": ["complaint", "visit", "task", "complaint", "praise", "visit", "praise"],
        }
    )
    load = mg.service_load(inter, Q4_START, Q4_END).set_index("customer_id")
    assert load.loc["C1", "service_load"] == 3  # September complaint is outside Q4
    assert load.loc["C3", "service_load"] == 1  # praise does not count
    assert "C2" not in load.index
    margins = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "sales": [100.0, 100.0, 100.0, 100.0],
            "gross_profit": [5.0, 30.0, 25.0, 20.0],
            "gross_margin_rate": [0.05, 0.30, 0.25, 0.20],
        }
    )
    out = mg.over_served(margins, load.reset_index()).set_index("customer_id")
    # margin 25% quantile = 0.1625 -> C1 low; load 75% quantile of (3, 1) = 2.5 -> C1 high
    assert out["over_served"].to_dict() == {"C1": True, "C2": False, "C3": False, "C4": False}
    assert out.loc["C1", "profit_per_contact"] == pytest.approx(5 / 3)
    assert math.isnan(out.loc["C4", "profit_per_contact"])


def test_customer_margins_with_class_and_name(three_products):
    tx, _ = three_products
    classes = pd.DataFrame({"customer_id": ["C1", "C2"], "abc_class": ["A", "B"]})
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["甲公司", "乙公司"]})
    out = mg.customer_margins(tx, classes, customers)
    # C1 profit 70 > C2 profit 40
    assert out["customer_id"].tolist() == ["C1", "C2"]
    assert out["customer_name"].tolist() == ["甲公司", "乙公司"] and out["abc_class"].tolist() == [
        "A",
        "B",
    ]
    bare = mg.customer_margins(tx)
    assert bare["customer_name"].isna().all() and bare["abc_class"].isna().all()


def test_quadrant_counts_every_quadrant():
    df = pd.DataFrame(
        {
            "product_quadrant": ["quadrant_push", "quadrant_push", "quadrant_drop", np.nan],
            "sales": [30.0, 20.0, 10.0, 40.0],
        }
    )
    out = mg.quadrant_counts(df).set_index("product_quadrant")
    assert out["products"].tolist() == [2, 0, 0, 1]
    assert out.loc["quadrant_push", "sales_share"] == pytest.approx(
        0.5
    )  # 50 of 100 (unrated count in total)


def test_margin_summary(three_products):
    tx, inv = three_products
    products = mg.margin_by(tx, "product_id")
    turn = mg.stock_turnover(
        products, mg.average_inventory(inv, Q4_START, Q4_END), days=92, basis="cost"
    )
    cross = mg.margin_turnover_quadrant(mg.cross_ratios(turn))
    by_class = mg.margin_by(tx.assign(abc_class=["A", "A", "B", "B", "B"]), "abc_class")
    head = margin_summary(
        tx, by_class=by_class, cross=cross, turnover=turn, products=products, top=1
    )
    assert head["gross_margin_rate"] == pytest.approx(0.275)
    assert head["margin_rate_by_class"] == pytest.approx({"A": 70 / 220, "B": 40 / 180})
    assert head["median_turnover"] == pytest.approx(3.0)  # median of 3, 3, 2
    assert head["top_products_by_contribution"] == [
        {
            "product_id": "P2",
            "cross_ratio": pytest.approx(0.75),
            "contribution_ratio": pytest.approx(0.375),
        }
    ]
    assert sum(head["quadrant_counts"].values()) == 3 and head["n_loss_making_products"] == 0
    assert head["turnover_basis"] == "basis_cost" and head["turnover_period"] == "period_whole"
    bare = margin_summary(tx.drop(columns="cost"))
    assert bare["gross_margin_rate"] is None and bare["median_turnover"] is None
    json.dumps(head)  # serialisable as is


def test_class_margins(three_products):
    tx, _ = three_products
    classes = pd.DataFrame({"customer_id": ["C1", "C2"], "abc_class": ["A", "B"]})
    out = mg.class_margins(tx, classes).set_index("abc_class")
    # A = C1: (220 - 150) / 220; B = C2: (180 - 140) / 180
    assert out["gross_margin_rate"].to_dict() == pytest.approx({"A": 70 / 220, "B": 40 / 180})
