"""Concentration measures: hand-computed Lorenz points, Gini and top shares."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.classify.concentration import (
    concentration_summary,
    concentration_trend,
    gini,
    lorenz_curve,
    top_n_share,
    top_share,
)


def test_gini_hand_computed():
    # x = 1,2,3,4: sum (2i-n-1) x_i = -3*1 - 1*2 + 1*3 + 3*4 = 10; n * sum x = 4 * 10 = 40 -> 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)


def test_gini_one_customer_takes_all_is_n_minus_1_over_n():
    # (2*4-4-1) * 10 / (4 * 10) = 0.75 = (n-1)/n
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)


def test_gini_equal_values_ties_and_single_customer_are_zero():
    assert gini([5, 5, 5]) == pytest.approx(0.0)
    assert gini([42.0]) == pytest.approx(0.0)


def test_gini_all_zero_and_empty_are_nan():
    assert math.isnan(gini([0, 0, 0]))
    assert math.isnan(gini([]))


def test_negative_totals_count_as_zero():
    # a customer whose returns exceed its purchases (-5) counts as 0: same as [0, 0, 0, 10]
    assert gini([-5, 0, 0, 10]) == pytest.approx(0.75)
    assert top_share([-5, 0, 0, 10], 0.25) == pytest.approx(1.0)


def test_lorenz_curve_points():
    # sorted 1,2,3,4 of total 10: cumulative 0, 1, 3, 6, 10 -> 0, .1, .3, .6, 1
    curve = lorenz_curve(pd.Series([3.0, 1.0, 4.0, 2.0]))
    assert curve["customer_share"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert curve["value_share"].tolist() == pytest.approx([0, 0.1, 0.3, 0.6, 1.0])


def test_lorenz_curve_all_zero_has_no_shares():
    curve = lorenz_curve([0, 0])
    assert curve["value_share"].isna().all()


def test_top_share_uses_ceiling_of_the_fraction():
    # top 20% of 5 customers = 1 customer: 10 / 20
    assert top_share([1, 2, 3, 4, 10], 0.2) == pytest.approx(0.5)
    # top 20% of 7 customers = ceil(1.4) = 2 customers: (7 + 6) / 28
    assert top_share([1, 2, 3, 4, 5, 6, 7], 0.2) == pytest.approx(13 / 28)
    # 0.2 * 15 is 3.0000000000000004 in floating point: still 3 customers, (15 + 14 + 13) / 120
    assert top_share(np.arange(1, 16), 0.2) == pytest.approx(42 / 120)


def test_top_n_share():
    assert top_n_share([1, 2, 3, 4, 10], 2) == pytest.approx(14 / 20)
    assert top_n_share([1, 2], 10) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 1"):
        top_n_share([1, 2], 0)


def test_top_share_rejects_bad_fraction():
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        top_share([1, 2], 1.5)


def test_concentration_summary_keeps_net_total():
    s = concentration_summary([10, -2, 0], top_n=1, top_fraction=0.5)
    assert s["customers"] == 3 and s["total"] == pytest.approx(8.0)
    # clipped values 10, 0, 0: top 1 holds everything; top ceil(1.5) = 2 as well
    assert s["top_n_share"] == pytest.approx(1.0) and s["top_share"] == pytest.approx(1.0)


def test_concentration_trend_per_quarter():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2025-01-05", "2025-02-01", "2025-04-02", "2025-05-03", "2025-06-30"]
            ),
            "amount": [30.0, 10.0, 10.0, 10.0, 20.0],
        }
    )
    trend = concentration_trend(tx, ["2025Q1", "2025Q2"], top_n=1)
    assert trend["quarter"].tolist() == ["2025Q1", "2025Q2"]
    assert trend["customers"].tolist() == [2, 3]
    assert trend["value"].tolist() == pytest.approx([40.0, 40.0])
    # Q1: 10, 30 -> (-1*10 + 1*30) / (2*40) = 0.25; Q2: 10, 10, 20 -> (-2*10 + 0 + 2*20) / (3*40) = 1/6
    assert trend["gini"].tolist() == pytest.approx([0.25, 1 / 6])
    assert trend["top_n_share"].tolist() == pytest.approx([0.75, 0.5])
