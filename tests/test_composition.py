"""Composition by customer type: subtotals, shares and the big customers' share, by hand."""

import numpy as np
import pandas as pd
import pytest

from analysis.classify.composition import attach_type, composition_by, share_within_type


def customers():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "channel": ["批发商", "批发商", "零售商", "零售商", None],
        }
    )


def summary():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "monetary": [60.0, 20.0, 15.0, -5.0, 10.0],
            "abc_class": ["A", "B", "A", "C", "B"],
        }
    )


def test_attach_type_marks_blank_types_unknown():
    out = attach_type(summary(), customers())
    assert out["channel"].tolist() == ["批发商", "批发商", "零售商", "零售商", "unknown"]


def test_composition_subtotals_shares_and_big_customers():
    comp = composition_by(attach_type(summary(), customers())).set_index("channel")
    # totals: 批发商 80, 零售商 10 (15 - 5 return-heavy), unknown 10; all 100
    assert comp.index.tolist() == ["批发商", "零售商", "unknown", "total"]
    assert comp["sales"].tolist() == pytest.approx([80, 10, 10, 100])
    assert comp["customers"].tolist() == [2, 2, 1, 5]
    assert comp["sales_share"].tolist() == pytest.approx([0.8, 0.1, 0.1, 1.0])
    assert comp["avg_sales"].tolist() == pytest.approx([40, 5, 10, 20])
    # big = class A: 批发商 a (60 of 80), 零售商 c (15 of 10 -> 1.5: returns of d lower the type total)
    assert comp["big_customers"].tolist() == [1, 1, 0, 2]
    assert comp["big_share_in_type"].tolist() == pytest.approx([0.75, 1.5, 0.0, 0.75])
    assert comp["big_share_of_total"].tolist() == pytest.approx([0.6, 0.15, 0.0, 0.75])
    assert comp["largest_share_in_type"].tolist() == pytest.approx([0.75, 1.5, 1.0, 0.6])


def test_composition_without_total_and_other_big_classes():
    comp = composition_by(
        attach_type(summary(), customers()), big_values=("A", "B"), total_label=None
    )
    assert "total" not in comp["channel"].tolist()
    assert comp.set_index("channel").loc["批发商", "big_share_in_type"] == pytest.approx(1.0)


def test_type_total_not_positive_gives_nan_shares():
    df = pd.DataFrame(
        {
            "customer_id": ["x", "y"],
            "channel": ["a", "a"],
            "monetary": [-5.0, 5.0],
            "abc_class": ["C", "A"],
        }
    )
    comp = composition_by(df, total_label=None)
    assert np.isnan(comp.loc[0, "big_share_in_type"]) and np.isnan(comp.loc[0, "sales_share"])


def test_share_within_type():
    out = share_within_type(attach_type(summary(), customers()))
    assert out["type_share"].tolist() == pytest.approx([0.75, 0.25, 1.5, -0.5, 1.0])


def test_one_customer_and_missing_column():
    one = pd.DataFrame(
        {"customer_id": ["a"], "channel": ["x"], "monetary": [3.0], "abc_class": ["A"]}
    )
    comp = composition_by(one)
    assert comp["sales_share"].tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(KeyError, match="Required column channel missing"):
        attach_type(summary(), customers().drop(columns="channel"))
