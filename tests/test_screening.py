"""Annual screening decisions and the strategy table, one customer per rule."""

import numpy as np
import pandas as pd
import pytest

from analysis.classify.screening import annual_screening, strategy_table


def customers():
    return pd.DataFrame(
        {
            "customer_id": ["k", "kd", "m", "o1", "o2", "s1", "s2", "sd"],
            "tier": [
                "important",
                "important",
                "secondary",
                "ordinary",
                "ordinary",
                "small",
                "small",
                "small",
            ],
            "monetary": [500.0, 400.0, 200.0, 50.0, 40.0, 10.0, -5.0, 8.0],
            "potential_value": [20.0, 30.0, 80.0, 70.0, 10.0, 10.0, 20.0, 90.0],
            "credit_grade": ["A", "D", "B", "A", "B", "A", "A", "D"],
        }
    )


def test_each_rule_gives_its_decision_and_reason():
    out = annual_screening(customers(), credit_col="credit_grade").set_index("customer_id")
    assert out["decision"].to_dict() == {
        "k": "keep",
        "kd": "keep",
        "m": "keep",
        "o1": "nurture",
        "o2": "reprice",
        "s1": "reprice",
        "s2": "drop",
        "sd": "drop",
    }
    assert out["reason"].to_dict() == {
        "k": "top_tier",
        "kd": "top_tier_watch_credit",
        "m": "top_tier",
        "o1": "potential",
        "o2": "ordinary_no_potential",
        "s1": "small_no_potential",
        "s2": "no_profit",
        "sd": "poor_credit",
    }


def test_without_credit_poor_payers_are_judged_on_potential():
    out = annual_screening(customers()).set_index("customer_id")
    assert out.loc["sd", "decision"] == "nurture" and out.loc["kd", "reason"] == "top_tier"


def test_missing_potential_counts_as_none():
    df = customers().assign(potential_value=np.nan)
    out = annual_screening(df).set_index("customer_id")
    assert out.loc["o1", "decision"] == "reprice" and out.loc["s2", "decision"] == "drop"


def test_strategy_table_per_tier():
    t = strategy_table(annual_screening(customers(), credit_col="credit_grade")).set_index("tier")
    assert t.index.tolist() == ["important", "secondary", "ordinary", "small"]
    assert t["customers"].tolist() == [2, 1, 2, 3]
    # sales 900, 200, 90, 13 of 1203
    assert t["monetary"].tolist() == pytest.approx([900, 200, 90, 13])
    assert t["monetary_share"].tolist() == pytest.approx(
        [900 / 1203, 200 / 1203, 90 / 1203, 13 / 1203]
    )
    assert t.loc[
        "small", ["decision_keep", "decision_nurture", "decision_reprice", "decision_drop"]
    ].tolist() == [0, 0, 1, 2]
    assert t.loc["important", "strategy"] == "important"


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="Required column potential_value missing"):
        annual_screening(customers().drop(columns="potential_value"))
