"""Value scorecard and value groups (《如何做好客户分类管理》, the CRM article), by hand."""

import numpy as np
import pandas as pd
import pytest

from analysis.classify.scorecard import (
    cream_layer,
    growth_rate,
    percentile_score,
    service_balance,
    value_groups,
    value_scorecard,
)


def test_percentile_score_ties_share_average_rank():
    # ranks 1, 2.5, 2.5, 4 of 4 -> 25, 62.5, 62.5, 100
    assert percentile_score([10, 20, 20, 40]).tolist() == pytest.approx([25, 62.5, 62.5, 100])
    assert percentile_score([7]).tolist() == [100.0]
    assert np.isnan(percentile_score([np.nan, 1]).iloc[0])


def test_growth_rate_is_bounded():
    g = growth_rate([10, 0, 5, -5, 30], [0, 0, 15, 5, 10])
    # new: +1; nothing: 0; (5-15)/20 = -.5; (-5-5)/10 = -1; (30-10)/40 = .5
    assert g.tolist() == pytest.approx([1.0, 0.0, -0.5, -1.0, 0.5])


def test_service_balance_counts_in_window():
    inter = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "date": pd.to_datetime(
                ["2025-01-05", "2025-02-01", "2025-03-01", "2025-01-09", "2024-05-01"]
            ),
            "kind": ["praise", "complaint", "suggestion", "visit", "praise"],
        }
    )
    out = service_balance(inter, "2025-01-01", "2025-04-01").set_index("customer_id")
    # a: 1 praise + 1 suggestion - 1 complaint = 1; b: only a visit in the window -> no row
    assert out.loc["a", "service_balance"] == 1 and "b" not in out.index


def current():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "monetary": [100.0, 50.0, 20.0, -10.0],
            "gross_profit": [10.0, 10.0, 4.0, -2.0],
            "frequency": [10, 2, 5, 0],
        }
    )


def test_value_scorecard_families():
    prev = pd.DataFrame({"customer_id": ["a", "b", "d"], "monetary": [100.0, 10.0, 10.0]})
    serv = pd.DataFrame({"customer_id": ["a", "c"], "service_balance": [-2, 3]})
    card = value_scorecard(current(), prev, serv).set_index("customer_id")
    # financial: profit 10, 10, 4, -2 -> 87.5, 87.5, 50, 25
    assert card["financial_score"].tolist() == pytest.approx([87.5, 87.5, 50, 25])
    # sales: mean of sales (100, 75, 50, 25) and frequency (100, 50, 75, 25)
    assert card["sales_score"].tolist() == pytest.approx([100, 62.5, 62.5, 25])
    assert card["current_value"].tolist() == pytest.approx([93.75, 75, 56.25, 25])
    # growth: a 0, b (50-10)/60 = 2/3, c new = 1, d (-10-10)/20 = -1 -> scores 50, 75, 100, 25
    assert card["growth"].tolist() == pytest.approx([0, 2 / 3, 1, -1])
    assert card["customer_score"].tolist() == pytest.approx([50, 75, 100, 25])
    # service balance a -2, b 0, c 3, d 0 -> 25, 62.5, 100, 62.5
    assert card["service_score"].tolist() == pytest.approx([25, 62.5, 100, 62.5])
    assert card["potential_value"].tolist() == pytest.approx([37.5, 68.75, 100, 43.75])


def test_scorecard_without_cost_previous_or_service():
    cur = current().drop(columns="gross_profit")
    card = value_scorecard(cur)
    # financial falls back to sales: 100, 75, 50, 25; potential unknown
    assert card["financial_score"].tolist() == pytest.approx([100, 75, 50, 25])
    assert card["potential_value"].isna().all()


def test_value_groups_in_order_value_over_served_potential_low_value():
    card = pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "current_value": [80, 40, 40, 40, 50],
            "potential_value": [10, 90, 90, np.nan, 10],
        }
    )
    over = pd.DataFrame({"customer_id": ["a", "c"], "over_served": [True, True]})
    out = value_groups(card, over_served=over)["value_group"].tolist()
    # a is a value customer even if over-served; c over-served beats potential; d missing potential -> low value
    assert out == ["value", "potential", "over_served", "low_value", "value"]
    assert value_groups(card)["value_group"].tolist()[2] == "potential"


def test_cream_layer_is_top_current_value():
    card = pd.DataFrame({"customer_id": list("abc"), "current_value": [10, 90, 50]})
    assert cream_layer(card, n=2)["customer_id"].tolist() == ["b", "c"]
