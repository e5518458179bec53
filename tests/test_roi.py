"""Worked cases 1 and 2 of 《客户分类管理》: every figure the source publishes, plus hand-computed ones."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from analysis.classify import tags
from analysis.finance import roi
from analysis.finance.roi import CASE_1, GrowthCase


# ------------------------------------------------------------------ case 1
def test_added_gross_margin_matches_the_case():
    # 《客户分类管理》: (3,000 - 1,800) x 56 clients x 6 months = 403,200 CNY ("40.3万")
    assert roi.added_gross_margin(old_fee=1800, new_fee=3000, upgraded=56, months=6) == 403_200


def test_added_gross_margin_scales_with_margin_rate():
    # 1,200 x 10 x 3 x 0.5 = 18,000
    assert (
        roi.added_gross_margin(old_fee=800, new_fee=2000, upgraded=10, months=3, margin_rate=0.5)
        == 18_000
    )


def test_case_1_value_is_73200():
    v = roi.growth_value(CASE_1)
    assert v["added_margin"] == 403_200
    assert v["investment"] == 330_000  # 80,000 lead bonus + 250,000 three advisor posts
    assert v["value"] == 73_200  # 《客户分类管理》: V = 40.3 - 8 - 25 = 7.3万 (exact: 73,200)
    assert v["roi"] == pytest.approx(73_200 / 330_000)
    assert v["fee_uplift"] == 1200


def test_case_1_target_vs_achieved():
    v = roi.growth_value(CASE_1)
    # target 15% of 338 = 50.7 clients; achieved 56 = 16.57% ("about 16%")
    assert v["target_upgrades"] == pytest.approx(50.7)
    assert v["achieved_rate"] == pytest.approx(56 / 338)
    assert round(v["achieved_rate"], 3) == 0.166
    assert v["target_met"] is True
    assert roi.growth_value(replace(CASE_1, upgraded=50))["target_met"] is False


def test_break_even_upgrades_by_hand():
    # 330,000 / (1,200 x 6) = 330,000 / 7,200 = 45.8333 -> 46 whole clients, 13.56% of 338
    assert roi.break_even_upgrades(CASE_1) == pytest.approx(45.833333, rel=1e-6)
    v = roi.growth_value(CASE_1)
    assert v["break_even_clients"] == 46
    assert v["break_even_rate"] == pytest.approx(45.833333 / 338, rel=1e-6)


def test_break_even_exact_integer_is_not_rounded_up():
    # 7,200 x 45 = 324,000 of investment: exactly 45 clients break even
    case = replace(CASE_1, investment={"x": 324_000})
    assert roi.growth_value(case)["break_even_clients"] == 45


def test_break_even_without_uplift_is_infinite():
    case = replace(CASE_1, new_fee=1800)
    assert roi.break_even_upgrades(case) == math.inf
    assert roi.growth_value(case)["break_even_clients"] is None


def test_waterfall_steps_end_at_v():
    w = roi.value_waterfall(CASE_1)
    assert list(w["step"]) == ["added_margin", "lead_bonus", "advisor_posts", "class_value"]
    assert list(w["amount"]) == [403_200, -80_000, -250_000, 73_200]
    # the lead bonus bar hangs from 403,200 down to 323,200; the posts from 323,200 to 73,200
    assert w.loc[1, ["bottom", "top"]].tolist() == [323_200, 403_200]
    assert w.loc[2, ["bottom", "top"]].tolist() == [73_200, 323_200]
    assert w.loc[3, ["bottom", "top"]].tolist() == [0, 73_200]


def test_waterfall_negative_value_bar_goes_below_zero():
    w = roi.value_waterfall(replace(CASE_1, upgraded=40))  # 288,000 - 330,000 = -42,000
    assert w.iloc[-1][["amount", "bottom", "top"]].tolist() == [-42_000, -42_000, 0]


def test_target_vs_achieved_table():
    t = roi.target_vs_achieved(CASE_1).set_index("scenario")
    # target: 50.7 x 7,200 = 365,040 of margin, V = 35,040
    assert t.loc["upgrade_target", "added_margin"] == pytest.approx(365_040)
    assert t.loc["upgrade_target", "class_value"] == pytest.approx(35_040)
    assert t.loc["upgrade_target", "upgrade_rate"] == pytest.approx(0.15)
    assert t.loc["upgrade_achieved", "class_value"] == pytest.approx(73_200)
    assert t.loc["break_even", "class_value"] == pytest.approx(0, abs=1e-6)


def test_value_grid_by_hand():
    g = roi.value_grid(CASE_1, rates=[0.10, 0.15, 0.20], uplifts=[1200, 1500])
    assert g.shape == (3, 2)
    # 0.15 x 338 = 50.7 x 1,200 x 6 = 365,040 - 330,000 = 35,040
    assert g.loc[0.15, 1200] == pytest.approx(35_040)
    # 0.10 x 338 = 33.8 x 7,200 = 243,360 - 330,000 = -86,640
    assert g.loc[0.10, 1200] == pytest.approx(-86_640)
    # 0.20 x 338 = 67.6 x 1,500 x 6 = 608,400 - 330,000 = 278,400
    assert g.loc[0.20, 1500] == pytest.approx(278_400)
    # at the achieved rate 56/338 and the case's uplift the grid gives the case's V
    assert roi.value_grid(CASE_1, rates=[56 / 338], uplifts=[1200]).iloc[0, 0] == pytest.approx(
        73_200
    )


def test_tornado_by_hand():
    t = roi.tornado(CASE_1).set_index("input")
    # new fee 2,400 / 3,600: uplift 600 / 1,800 -> 201,600 / 604,800 of margin
    assert t.loc["new_fee", ["value_low", "value_high"]].tolist() == pytest.approx(
        [-128_400, 274_800]
    )
    # old fee 1,440 / 2,160: uplift 1,560 / 840 -> 524,160 / 282,240
    assert t.loc["old_fee", ["value_low", "value_high"]].tolist() == pytest.approx(
        [194_160, -47_760]
    )
    # 44.8 / 67.2 upgrades: 403,200 x 0.8 = 322,560 and x 1.2 = 483,840
    assert t.loc["upgraded", ["value_low", "value_high"]].tolist() == pytest.approx(
        [-7_440, 153_840]
    )
    assert t.loc["months", "range"] == pytest.approx(161_280)
    # the posts cost 200,000 / 300,000; the bonus 64,000 / 96,000
    assert t.loc["advisor_posts", ["value_low", "value_high"]].tolist() == pytest.approx(
        [123_200, 23_200]
    )
    assert t.loc["lead_bonus", "range"] == pytest.approx(32_000)
    # widest bar first: the new fee (403,200) then the old fee (241,920)
    assert list(t.index[:2]) == ["new_fee", "old_fee"]
    assert list(t.index[-1:]) == ["lead_bonus"]


def test_tornado_rejects_a_swing_in_percent():
    with pytest.raises(ValueError, match="swing must be between 0 and 1"):
        roi.tornado(CASE_1, swing=20)


def test_second_year_all_costs_recur():
    y = roi.second_year(CASE_1).set_index("projection_year")
    # a full year of upgraded fees: 1,200 x 56 x 12 = 806,400; both costs again: 330,000
    assert y.loc["year_2", "added_margin"] == 806_400
    assert y.loc["year_2", "class_value"] == 476_400
    assert y.loc["year_2", "cumulative_value"] == 73_200 + 476_400


def test_second_year_only_salaries_recur_and_some_clients_leave():
    y = roi.second_year(CASE_1, recurring=["advisor_posts"], retained_rate=0.75).set_index(
        "projection_year"
    )
    # 42 clients stay (56 x 0.75): 1,200 x 42 x 12 = 604,800 - 250,000 = 354,800
    assert y.loc["year_2", "upgraded_clients"] == 42
    assert y.loc["year_2", "class_value"] == pytest.approx(354_800)
    assert y.loc["year_1", "class_value"] == 73_200


def test_second_year_unknown_cost_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"\['salary'\].*valid: \['advisor_posts', 'lead_bonus'\]"):
        roi.second_year(CASE_1, recurring=["salary"])


def test_growth_case_validates_inputs():
    with pytest.raises(ValueError, match="target_rate must be a share"):
        GrowthCase(clients_in_class=10, old_fee=1, new_fee=2, upgraded=1, months=1, target_rate=15)
    with pytest.raises(ValueError, match="upgraded must be >= 0"):
        replace(CASE_1, upgraded=-1)


def test_functions_do_not_touch_the_case():
    before = dict(CASE_1.investment)
    roi.tornado(CASE_1)
    roi.second_year(CASE_1, recurring=["lead_bonus"])
    assert CASE_1.investment == before


def test_tag_class_profile_uses_the_tag_rules():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "tags": ["关注外账;有财税意识", "需出入库单", None, "高新科技; 关注外账"],
            "monthly_fee": [1800.0, 1000.0, 900.0, 2200.0],
        }
    )
    rules = tags.parse_tag_rules(
        {
            "approved_tags": {
                t: {"en": t} for t in ["关注外账", "有财税意识", "需出入库单", "高新科技"]
            },
            "classes": [
                {
                    "key": "value_mining",
                    "zh": "价值挖掘类客户",
                    "en": "Value-mining client",
                    "any_of": ["关注外账", "高新科技"],
                    "min_any": 1,
                }
            ],
        }
    )
    classes = tags.tag_classes(customers, rules)
    p = roi.tag_class_profile(customers, classes, class_key="value_mining")
    # a and d carry a value tag: 2 of 4 clients, fee (1,800 + 2,200) / 2 = 2,000
    assert p == {"clients": 2, "share": 0.5, "avg_fee": 2000.0}
    assert roi.tag_class_profile(customers, classes, class_key="other")["clients"] == 0
    side = roi.class_vs_case(p, CASE_1).set_index("figure_source")
    assert side["firm_class_clients"].tolist() == [338, 2]
    assert side["firm_class_avg_fee"].tolist() == [1800, 2000]
    with pytest.raises(ValueError, match="Required column monthly_fee missing from customers"):
        roi.tag_class_profile(
            customers.drop(columns="monthly_fee"), classes, class_key="value_mining"
        )


# ------------------------------------------------------------------ case 2
def _case_2_plan(**kw):
    return roi.staffing_plan(
        roi.CASE_2_CLASSES, roi.CASE_2_GROUPS, roi.CASE_2_CLIENTS_PER_HEAD, **kw
    )


def test_case_2_class_mix_is_800_clients():
    assert list(roi.CASE_2_CLASSES.values()) == [240, 150, 360, 50]
    assert sum(roi.CASE_2_CLASSES.values()) == 800


def test_case_2_staffing_plan():
    plan = _case_2_plan().set_index("service_group")
    # group 1: 390 / 130 = 3 (supervisor + intern + junior); group 2: 260 / 85 = 3.06 -> 3;
    # group 3: (100 + 50) / 75 = 2
    assert plan["clients"].tolist() == [390, 260, 150]
    assert plan["heads"].tolist() == [3, 3, 2]
    assert plan.loc["group_2", "fte"] == pytest.approx(260 / 85)
    assert plan.loc["group_3", "clients_per_head"] == 75
    named = _case_2_plan(class_names={"books_and_tax": "有账有税"}).set_index("service_group")
    assert named.loc["group_3", "service_classes"] == "有账有税: 100, books_tax_stock: 50"


def test_case_2_value_is_200000():
    s = roi.staffing_summary(_case_2_plan(), staff_before=10, cost_per_head=100_000)
    assert s["staff_after"] == 8 and s["staff_saved"] == 2
    assert s["value"] == 200_000  # the source: 2 x 10万 = 20万
    # fractional workload 3 + 3.0588 + 2 = 8.0588 -> (10 - 8.0588) x 100,000 = 194,118
    assert s["value_fte"] == pytest.approx(194_117.65, abs=0.01)


def test_case_2_readings_of_staff_and_pay():
    # the other reading of the staff: 原有9个会计 (the nine who carried clients) leaves the supervisor
    # (one head of group 1, no books) out of the count after as well: 9 -> 7, the same 2 saved
    nine = roi.staffing_summary(
        _case_2_plan(), staff_before=9, cost_per_head=100_000, heads_outside_count=1
    )
    assert (nine["staff_after"], nine["staff_saved"], nine["value"]) == (7, 2, 200_000)
    # the pay the source quotes, 7K a month = 84,000 a year, instead of its 10万 per head
    pay = roi.staffing_summary(_case_2_plan(), staff_before=10, cost_per_head=7_000 * 12)
    assert pay["value"] == 168_000
    with pytest.raises(ValueError, match="heads_outside_count"):
        roi.staffing_summary(
            _case_2_plan(), staff_before=9, cost_per_head=1, heads_outside_count=20
        )


def test_efficiency_value_formula():
    assert roi.efficiency_value(staff_before=10, staff_after=8, cost_per_head=100_000) == 200_000
    # plus management cost saved
    assert (
        roi.efficiency_value(
            staff_before=5, staff_after=4, cost_per_head=90_000, management_cost_saved=10_000
        )
        == 100_000
    )


def test_rounding_up_never_exceeds_capacity():
    plan = _case_2_plan(rounding="up").set_index("service_group")
    assert plan.loc["group_2", "heads"] == 4  # ceil(3.06)
    assert _case_2_plan(rounding="none")["heads"].sum() == pytest.approx(3 + 260 / 85 + 2)
    with pytest.raises(
        ValueError, match="unknown rounding 'ceil'; expected one of nearest, up, none"
    ):
        _case_2_plan(rounding="ceil")


def test_per_class_capacity_within_a_group():
    # group 3 at 85 class-3 clients or 50 class-4 clients per head: 100/85 + 50/50 = 2.18 -> 2
    caps = {**roi.CASE_2_CLIENTS_PER_HEAD, "group_3": {"books_and_tax": 85, "books_tax_stock": 50}}
    plan = roi.staffing_plan(roi.CASE_2_CLASSES, roi.CASE_2_GROUPS, caps).set_index("service_group")
    assert plan.loc["group_3", "fte"] == pytest.approx(100 / 85 + 1)
    assert plan.loc["group_3", "heads"] == 2


def test_staffing_plan_checks_every_client_is_served_once():
    groups = {**roi.CASE_2_GROUPS, "group_2": {"books_and_tax": 250}}
    with pytest.raises(ValueError, match="books_and_tax: 350 served of 360"):
        roi.staffing_plan(roi.CASE_2_CLASSES, groups, roi.CASE_2_CLIENTS_PER_HEAD)
    with pytest.raises(ValueError, match="unknown class 'stock'"):
        roi.staffing_plan(roi.CASE_2_CLASSES, {"g": {"stock": 1}}, {"g": 10})
    with pytest.raises(ValueError, match="no clients_per_head for group group_3"):
        roi.staffing_plan(roi.CASE_2_CLASSES, roi.CASE_2_GROUPS, {"group_1": 130, "group_2": 85})
    with pytest.raises(ValueError, match="must be > 0"):
        roi.staffing_plan(
            roi.CASE_2_CLASSES, roi.CASE_2_GROUPS, {**roi.CASE_2_CLIENTS_PER_HEAD, "group_1": 0}
        )


def test_capacity_sensitivity_85_to_95():
    s = roi.capacity_sensitivity(
        roi.CASE_2_CLASSES,
        roi.CASE_2_GROUPS,
        roi.CASE_2_CLIENTS_PER_HEAD,
        groups=["group_2"],
        capacities=[70, 85, 95, 105],
        staff_before=10,
        cost_per_head=100_000,
    ).set_index("capacity_per_head")
    # group 2's 260 clients: 70 -> 3.71 -> 4 heads (9 in all, saves 1); 85 -> 3.06 and 95 -> 2.74 -> 3
    # heads (saves 2); 105 -> 2.48 -> 2 heads (7 in all, saves 3)
    assert s["staff_after"].tolist() == [9, 8, 8, 7]
    assert s["class_value"].tolist() == [100_000, 200_000, 200_000, 300_000]
    # what the capacity is worth before rounding: 95 -> (10 - 5 - 260/95) x 100,000 = 226,315.79
    assert s.loc[95, "class_value_fte"] == pytest.approx(226_315.79, abs=0.01)
    with pytest.raises(ValueError, match=r"unknown groups \['group_9'\]"):
        roi.capacity_sensitivity(
            roi.CASE_2_CLASSES,
            roi.CASE_2_GROUPS,
            roi.CASE_2_CLIENTS_PER_HEAD,
            groups=["group_9"],
            capacities=[90],
            staff_before=10,
            cost_per_head=1,
        )


def test_new_business_revenue_line():
    t = roi.new_business_revenue(
        {"referrals": 87, "ecommerce": 28}, monthly_fee=500, months=12, margin_rate=0.6
    ).set_index("new_business_source")
    # 87 x 500 x 12 = 522,000; 28 x 500 x 12 = 168,000; total 690,000, margin 60% = 414,000
    assert t.loc["referrals", "new_revenue"] == 522_000
    assert t.loc["all_sources", "new_clients"] == 115
    assert t.loc["all_sources", "new_revenue"] == 690_000
    assert t.loc["all_sources", "new_margin"] == pytest.approx(414_000)
    zero = roi.new_business_revenue({"referrals": 87}, monthly_fee=0, months=12)
    assert zero["new_revenue"].sum() == 0


def test_staffing_table_is_one_row_with_v_named_as_on_the_case_tables():
    plan = roi.staffing_plan(roi.CASE_2_CLASSES, roi.CASE_2_GROUPS, roi.CASE_2_CLIENTS_PER_HEAD)
    summary = roi.staffing_summary(plan, staff_before=10, cost_per_head=100_000)
    table = roi.staffing_table(summary)
    assert list(table.columns) == [
        "clients",
        "staff_before",
        "staff_after",
        "fte_after",
        "staff_saved",
        "class_value",
        "class_value_fte",
    ]
    row = table.iloc[0]
    # case 2: 800 clients; 10 staff before, 8 after; V = (10 - 8) x 100,000
    assert (row["clients"], row["staff_after"], row["class_value"]) == (800, 8, 200_000)
    # the fractional workload: 390/130 + 260/85 + 150/75 = 3 + 3.0588 + 2 = 8.0588 FTE,
    # V = (10 - 8.0588) x 100,000 = 194,118
    assert row["class_value_fte"] == pytest.approx(194_117.6, abs=0.1)
