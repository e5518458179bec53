"""Page records of the case pages (05-07): the headline numbers each page writes to summary.json."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.finance import credit, roi
from analysis.report.records import (
    credit_limits_summary,
    efficiency_case_summary,
    growth_case_summary,
    margin_summary,
    product_mix_summary,
)


def test_growth_case_summary_of_case_1():
    value = roi.growth_value(roi.CASE_1)
    s = growth_case_summary(value, roi.second_year(roi.CASE_1), None)
    assert s["added_margin"] == 403_200  # (3,000 - 1,800) x 56 x 6
    assert s["value"] == 73_200  # 403,200 - 80,000 - 250,000
    assert s["break_even_clients"] == 46  # 330,000 / 7,200 = 45.8
    assert s["value_year_2"] == 476_400  # 1,200 x 56 x 12 - 330,000 (both costs recur)
    assert s["firm_class"] is None
    assert list(s) == [
        "added_margin",
        "investment",
        "value",
        "break_even_upgrades",
        "break_even_clients",
        "achieved_rate",
        "target_met",
        "value_year_2",
        "firm_class",
    ]


def test_growth_case_summary_reads_year_two_by_name_not_position():
    years = pd.DataFrame({"projection_year": ["year_2", "year_1"], "class_value": [5.0, 1.0]})
    value = dict.fromkeys(
        (
            "added_margin",
            "investment",
            "value",
            "break_even_upgrades",
            "break_even_clients",
            "achieved_rate",
            "target_met",
        ),
        0,
    )
    firm = {"clients": 2, "share": 0.5, "avg_fee": 2000.0}
    s = growth_case_summary(value, years, firm)
    assert s["value_year_2"] == 5.0
    assert s["firm_class"] == firm


def test_efficiency_case_summary_of_case_2():
    plan = roi.staffing_plan(roi.CASE_2_CLASSES, roi.CASE_2_GROUPS, roi.CASE_2_CLIENTS_PER_HEAD)
    staffing = roi.staffing_summary(plan, staff_before=10, cost_per_head=100_000)
    # 2 + 3 new clients x 100 CNY a month x 12 months = 6,000
    new = roi.new_business_revenue({"referrals": 2, "ecommerce": 3}, monthly_fee=100, months=12)
    s = efficiency_case_summary(staffing, new)
    assert s == {
        "value": 200_000.0,  # (10 - 8) x 100,000
        "staff_before": 10.0,
        "staff_after": 8.0,
        "staff_saved": 2.0,
        "clients": 800.0,  # 240 + 150 + 360 + 50
        "new_business_revenue": 6_000.0,
    }


def test_credit_limits_summary_without_receivables():
    check = {
        "balanced": True,
        "net": 0.0,
        "approved": False,
        "problems": ["x"],
        "adjustments": 1,
        "raised": 1.0,
    }
    s = credit_limits_summary(check, {}, None, credit.CASE_3_CONCENTRATION)
    assert s["ledger_balanced"] is True and s["ledger_approved"] is False
    assert s["ledger_problems"] == ["x"] and s["ledger_adjustments"] == 1
    assert "ledger_raised" not in s
    assert s["limits_by_grade"] is None
    assert s["case_overlap"] == credit.CASE_3_CONCENTRATION["overlap"]


def test_credit_limits_summary_lists_limits_by_grade():
    by_grade = pd.DataFrame(
        {"credit_grade": ["A", "grade_unrated"], "new_credit_limit": [100.0, 50.0]}
    )
    check = dict.fromkeys(("balanced", "net", "approved", "problems", "adjustments"), 0)
    s = credit_limits_summary(check, {"overlap": 3}, by_grade, credit.CASE_3_CONCENTRATION)
    assert s["limits_by_grade"] == {"A": 100.0, "grade_unrated": 50.0}
    assert s["overlap"] == 3


def test_growth_case_summary_needs_year_two():
    years = pd.DataFrame({"projection_year": ["year_1"], "class_value": [1.0]})
    with pytest.raises(KeyError, match="year_2"):
        growth_case_summary(roi.growth_value(roi.CASE_1), years)


def test_page_summaries_take_the_quarter_from_a_window_of_the_lines():
    tx = pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2025-09-30 23:59", "2025-10-01 00:00", "2025-12-31 23:59", "2026-01-01 00:00"]
            ),
            "amount": [1000.0, 100.0, 300.0, 50.0],
            "cost": [0.0, 60.0, 140.0, 50.0],
        }
    )
    window = dict(start="2025-10-01", end="2026-01-01")
    # (100 + 300 - 60 - 140) / (100 + 300) = 0.5, from the quarter's two lines only
    assert product_mix_summary(None, tx, **window)["gross_margin_rate"] == pytest.approx(0.5)
    assert margin_summary(tx, **window)["gross_margin_rate"] == pytest.approx(0.5)
    assert margin_summary(tx)["gross_margin_rate"] == pytest.approx((1450 - 250) / 1450)
