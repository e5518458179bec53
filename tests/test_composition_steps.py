"""Page 01's steps that used to be arithmetic and joins in notebook cells (issue 13 item 2).

Every number is worked by hand in the comment beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.classify import classes as cl, customer_base as cb, scorecard as sc
from analysis.classify.screening import annual_screening, screen_customers
from analysis.finance.credit import abcd_classes, credit_basis, credit_classes, credit_indicators
from analysis.products.margin import arrears_by_class, over_served_customers
from analysis.value.forecast import customer_forecast


def test_value_group_summary_arpu_by_hand():
    card = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "value_group": ["value", "value", "potential", "low_value"],
            "monetary": [240.0, 120.0, 60.0, 0.0],
        }
    )
    out = sc.value_group_summary(card).set_index("value_group")
    # value: (240 + 120) / 2 customers / 12 months = 15; potential: 60 / 1 / 12 = 5
    assert out.loc["value", "arpu"] == pytest.approx(15.0)
    assert out.loc["potential", "arpu"] == pytest.approx(5.0)
    assert out.loc["low_value", "arpu"] == 0.0
    assert np.isnan(out.loc["over_served", "arpu"])  # no customer: no ARPU
    assert out.loc["value", "count_share"] == 0.5  # 2 of 4
    assert out.loc["value", "monetary_share"] == pytest.approx(360 / 420)
    assert sc.value_group_summary(card, months=3).loc[0, "arpu"] == pytest.approx(60.0)


def _indicators(arrears):
    n = len(arrears)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "invoiced": [100.0] * n,
            "received": [50.0] * n,
            "n_receipts": [1] * n,
            "largest_receipt": [50.0] * n,
            "avg_receipt": [50.0] * n,
            "collection_days": [10.0] * n,
            "arrears": arrears,
            "overdue": [0.0] * n,
            "arrears_rate": [a / 100 for a in arrears],
        }
    )


def test_arrears_by_class_shares_by_hand():
    ind = _indicators([100.0, 300.0, 0.0])
    classes = pd.DataFrame({"customer_id": ["c0", "c1", "c2"], "abc_class": ["A", "B", "A"]})
    out = arrears_by_class(ind, classes).set_index("abc_class")
    # A holds 100 + 0 of the 400 owed: 25%; B 300: 75%
    assert out["arrears_share"].to_dict() == {"A": 0.25, "B": 0.75}
    assert out.loc["A", "customers"] == 2 and out.loc["A", "arrears"] == 100.0
    assert list(out.columns) == [
        "customers",
        "invoiced",
        "arrears",
        "overdue",
        "collection_days",
        "arrears_rate",
        "arrears_share",
    ]
    nothing = arrears_by_class(_indicators([0.0, 0.0]), classes.head(2))
    assert nothing["arrears_share"].isna().all()  # nothing owed: no share


def _moves():
    return pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "move": ["up", "up", "down", "left", "same", "entered"],
            "change": [50.0, 10.0, -30.0, -80.0, 5.0, 20.0],
        }
    )


def test_move_summary_by_hand():
    out = cl.move_summary(_moves()).set_index("move")
    assert "change_share" not in out.columns
    assert out.loc["up", "count"] == 2 and out.loc["up", "change"] == 60.0  # 50 + 10
    assert out.loc["up", "count_share"] == pytest.approx(2 / 6)


def test_largest_moves_each_way():
    out = cl.largest_moves_each_way(_moves(), n=1)
    # up (entered counts as up): biggest gain 50 (a); down (left counts): biggest loss -80 (d)
    assert out["customer_id"].tolist() == ["a", "d"]


def _abc():
    return pd.DataFrame(
        {"customer_id": ["x", "y", "z"], "abc_class": ["A", "B", "C"], "monetary": [90.0, 8.0, 2.0]}
    )


def test_graded_customers_and_credit_sales_summary():
    ind = pd.DataFrame(
        {
            "customer_id": ["x", "y"],
            "collection_days": [30.0, 100.0],  # x: 0 days beyond 30-day terms; y: 70 beyond
            "terms_days": [30.0, 30.0],
            "overdue": [0.0, 50.0],
            "invoiced": [100.0, 100.0],  # y: half overdue
            "arrears": [0.0, 60.0],
        }
    )
    credit = cl.graded_customers(_abc(), ind).set_index("customer_id")
    assert credit.loc["x", "credit_grade"] == "A" and credit.loc["y", "credit_grade"] == "D"
    assert pd.isna(credit.loc["z", "credit_grade"])
    # x: A-class and good credit; y: B-class (weak sales) and poor credit; z: not rated
    assert credit.loc["x", "credit_sales"] == "both_good"
    assert credit.loc["y", "credit_sales"] == "both_weak"
    assert pd.isna(credit.loc["z", "credit_sales"])
    mix = cl.credit_sales_summary(credit.reset_index()).set_index("credit_sales")
    assert mix.loc["both_good", "count"] == 1 and mix.loc["both_weak", "arrears"] == 60.0
    assert mix.loc["both_good", "count_share"] == pytest.approx(1 / 3)  # z counts in the total


def test_credit_indicators_carry_the_terms():
    rec = pd.DataFrame(
        {
            "customer_id": ["x", "x"],
            "invoice_date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
            "due_date": pd.to_datetime(["2025-01-31", "2025-02-21"]),  # 30 and 20 days
            "amount": [100.0, 100.0],
            "paid_date": pd.to_datetime(["2025-01-11", None]),
            "paid_amount": [100.0, None],
        }
    )
    ind = credit_indicators(rec, "2025-01-01", "2025-04-01")
    assert ind.loc[0, "terms_days"] == 25.0  # median of 30 and 20
    assert ind.loc[0, "invoiced"] == 200.0 and ind.loc[0, "arrears"] == 100.0


def test_abcd_classes_leave_out_receivables_without_sales():
    ind = pd.DataFrame(
        {
            "customer_id": ["x", "y", "ghost"],
            "collection_days": [10.0, 20.0, 5.0],
            "arrears_rate": [0.0, 0.1, 0.0],
            "arrears": [0.0, 10.0, 0.0],
        }
    )
    out = abcd_classes(_abc(), ind, class_shares=(0.34, 0.33, 0.33, 0.0))
    assert sorted(out["customer_id"]) == ["x", "y", "z"]
    expected = credit_classes(credit_basis(_abc(), ind.head(2)), class_shares=(0.34, 0.33, 0.33, 0))
    pd.testing.assert_frame_equal(out, expected)


def test_over_served_customers_from_sales_and_interactions():
    abc = pd.DataFrame(
        {
            "customer_id": ["p", "q", "r", "s"],
            "monetary": [100.0, 100.0, 100.0, 100.0],
            "gross_profit": [40.0, 30.0, 20.0, 2.0],  # margin rates 40%, 30%, 20%, 2%
        }
    )
    inter = pd.DataFrame(
        {
            "customer_id": ["s"] * 4 + ["p"],
            "date": pd.to_datetime(["2025-01-05"] * 5),
            "kind": ["visit", "complaint", "task", "visit", "visit"],
        }
    )
    out = over_served_customers(abc, inter, "2025-01-01", "2025-02-01").set_index("customer_id")
    # s: lowest margin (2% <= the 25% quantile) and 4 contacts (>= the 75% quantile of 1 and 4)
    assert out["over_served"].to_dict() == {"s": True, "p": False, "q": False, "r": False}
    assert out.loc["s", "profit_per_contact"] == pytest.approx(0.5)  # 2 / 4


def _base():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "monetary": [300.0, 100.0, 10.0],
            "gross_profit": [60.0, 10.0, 1.0],
            "frequency": [12, 4, 1],
            "monetary_prev_12m": [100.0, 100.0, 0.0],
            "n_lines_quarter": [3, 0, 1],
            "monetary_quarter": [80.0, 0.0, 5.0],
        }
    )


def test_value_card_scores_against_the_year_before():
    card = sc.value_card(_base())
    previous = _base().assign(monetary=_base()["monetary_prev_12m"])
    expected = sc.value_groups(sc.value_scorecard(_base(), previous), split=50.0)
    pd.testing.assert_frame_equal(card.drop(columns="monetary"), expected)
    assert card["monetary"].tolist() == [300.0, 100.0, 10.0]
    fc = pd.DataFrame({"customer_id": ["a", "b"], "expected_gross_profit": [1.0, 9.0]})
    with_fc = sc.value_card(_base(), forecast=fc).set_index("customer_id")
    assert with_fc["potential_basis"].to_dict() == {"a": "forecast", "b": "forecast", "c": "proxy"}
    assert with_fc.loc["b", "potential_value"] > with_fc.loc["a", "potential_value"]


def test_screen_customers_joins_then_screens():
    base = _base()
    tiers = base[["customer_id"]].assign(tier=["important", "ordinary", "small"])
    card = sc.value_card(base)
    credit = pd.DataFrame({"customer_id": ["a", "c"], "credit_grade": ["A", "D"]})
    out = screen_customers(base, tiers, card, credit, value_col="gross_profit")
    joined = base.merge(tiers, how="left").merge(card.drop(columns="monetary"), how="left")
    joined = joined.merge(credit, how="left")
    expected = annual_screening(joined, value_col="gross_profit", credit_col="credit_grade")
    assert out["decision"].tolist() == expected["decision"].tolist()
    assert out.loc[2, "decision"] == "drop"  # c: poor credit (D), not a key customer
    fc = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "expected_sales": [50.0, 500.0, 10.0],
            "expected_gross_profit": [5.0, 50.0, 1.0],
        }
    )
    by_fc = screen_customers(base, tiers, card, None, value_col="gross_profit", forecast=fc)
    assert by_fc["potential_basis"].eq("forecast").all()
    # b (ordinary) has the highest expected profit: potential 100 >= 50, so nurture
    assert by_fc.loc[1, "decision"] == "nurture"


def test_quarter_abc_ranks_the_quarter_buyers_only():
    out = cb.quarter_abc(_base(), "monetary")
    assert sorted(out["customer_id"]) == ["a", "c"]  # b bought nothing in the quarter
    assert out.set_index("customer_id").loc["a", "abc_class"] == "A"
    # the page keeps it to its end: the quarter's columns only, the classes as on all of base
    assert {"monetary", "gross_profit", "frequency"}.isdisjoint(out.columns)
    assert out["monetary_quarter"].tolist() == [80.0, 5.0]
    whole = cl.abc_classes(_base().query("n_lines_quarter > 0"), "monetary_quarter")
    pd.testing.assert_frame_equal(out, whole[out.columns.tolist()])
    by_profit = cb.quarter_abc(_base().assign(gross_profit_quarter=[1.0, 0.0, 9.0]), "gross_profit")
    assert by_profit["customer_id"].tolist() == ["c", "a"]  # ranked by the quarter's profit
    assert "gross_profit_quarter" in by_profit and "monetary_quarter" in by_profit


def test_previous_abc_is_the_trailing_year_of_the_quarter_before():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b"],
            "date": pd.to_datetime(["2024-12-15", "2025-03-10", "2025-05-01"]),
            "amount": [100.0, 50.0, 999.0],  # b's May line is after 2025Q1
        }
    )
    out = cb.previous_abc(tx, "2025Q2", "monetary").set_index("customer_id")
    # 2025Q1's trailing twelve months: [2024-04-01, 2025-04-01): a 100, b 50
    assert out["monetary"].to_dict() == {"a": 100.0, "b": 50.0}


def test_class_moves_compares_last_quarter_with_this_one():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c"],
            "date": pd.to_datetime(["2024-12-15", "2025-03-10", "2025-05-01", "2025-05-02"]),
            "amount": [100.0, 50.0, 999.0, 1.0],
        }
    )
    # this quarter (2025Q2, trailing year [2024-07-01, 2025-07-01)): b 1049, a 100, c 1
    now = cl.abc_classes(
        pd.DataFrame({"customer_id": ["a", "b", "c"], "monetary": [100.0, 1049.0, 1.0]}),
        "monetary",
    )
    moves = cb.class_moves(tx, "2025Q2", now, "monetary").set_index("customer_id")
    before = cb.previous_abc(tx, "2025Q2", "monetary")
    expected = cl.class_migration(before, now, value_col="monetary").set_index("customer_id")
    pd.testing.assert_frame_equal(moves, expected)
    # 2025Q1: a 100 (share before 0: A), b 50 (before 100/150 = 0.67 < 0.75: A); c new
    assert moves.loc["a", "class_before"] == "A" and moves.loc["c", "class_before"] == "none"
    assert moves.loc["b", "value_before"] == 50.0 and moves.loc["b", "value_after"] == 1049.0


def test_with_names_uses_the_name_or_the_id():
    customers = pd.DataFrame({"customer_id": ["a"], "name": ["甲公司"]})
    out = cb.with_names(_base(), customers)
    assert out["name"].tolist() == ["甲公司", "b", "c"]
    assert "name" not in _base().columns


def test_customer_forecast_is_none_without_enough_history():
    tx = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2025-03-01"]), "amount": [10.0]}
    )
    assert customer_forecast(tx, "2025-04-01") is None
