"""本季要点 · Highlights (analysis.report.highlights) on hand-made summaries."""

import pytest

from analysis.report import highlights as hl
from analysis.report.headlines import fmt_money, fmt_value
from analysis.report.language import is_foreign

BASE = {
    "00_data_overview": {
        "sales": 1_200_000.0,
        "gross_margin_rate": 0.15,
        "kpis": {
            "sales": {
                "this_quarter": 1_200_000.0,
                "previous_quarter": 1_000_000.0,
                "same_quarter_last_year": 1_500_000.0,
            },
            "gross_margin_rate": {
                "this_quarter": 0.15,
                "previous_quarter": 0.16,
                "same_quarter_last_year": 0.18,
            },
        },
    },
    "01_customer_composition": {
        "n_customers": 400,
        "total_sales": 4_000_000.0,
        "A": {"customers": 60, "sales_share": 0.78, "value_share": 0.78},
        "gini": 0.70,
        "top20_share": 0.75,
        "migration": {"up": 5, "down": 12, "same": 380},
        "migration_value": {"down": {"value_before": 500_000.0, "value_after": 300_000.0}},
        "previous_quarter": {"A": {"customers": 62, "value_share": 0.75}, "gini": 0.72},
    },
    "03_margin_ranking": {"n_loss_making_products": 3},
    "02_product_mix": {"n_products": 100},
    "04_churn_risk": {"risk_list_rows": 30, "expected_lost_sales_top_n": 200_000.0},
    "07_credit_limits": {
        "ledger_approved": True,
        "ledger_balanced": True,
        "ledger_net": 0.0,
        "ledger_adjustments": 1,
        "ledger_problems": [],
        "receivables_total": 1_000_000.0,
        "non_key_owed": 100_000.0,
        "key_customers": 100,
    },
}


# ------------------------------------------------------------------ the kinds
def test_each_kind_reads_its_numbers_and_its_change():
    f = hl.a_share_finding(BASE)
    # 0.78 against 0.75: +3.0 points, a relative change of 0.78 / 0.75 - 1 = 4%
    assert f.key == "hl_a_share_up" and f.score == pytest.approx(0.04)
    assert hl.sentence(f, "zh") == (
        "A类客户（60 家）占近12个月销售额的 78.0%，较上季度末 +3.0个百分点（75.0%）："
        "对少数大客户的依赖加深，巩固A类客户的同时培养B类客户，分散风险。"
    )
    assert hl.sentence(f, "en").startswith(
        "Class A customers (60) hold 78.0% of 12-month sales, +3.0 pts on the end of last quarter (75.0%)"
    )
    down = hl.moved_down_finding(BASE)  # 12 customers lost 200,000 of 4,000,000: 5%
    assert down.key == "hl_moved_down_sales" and down.score == pytest.approx(0.05)
    assert (
        "12 家客户较上季度降级，近12个月销售额合计 30.0万元，比上季度末少 20.0万元"
        in hl.sentence(down, "zh")
    )
    g = hl.gini_finding(BASE)  # 0.70 against 0.72: -0.020, relative |0.70/0.72 - 1| = 2.78%
    assert g.key == "hl_gini_down" and g.score == pytest.approx(0.02 / 0.72)
    assert "较上季度末 -0.020" in hl.sentence(g, "zh")
    m = hl.margin_finding(BASE)  # 15% against 18%: -3.0 points, relative 1/6
    assert m.key == "hl_margin_down" and m.score == pytest.approx(1 / 6)
    assert hl.sentence(m, "en").startswith(
        "Gross margin rate 15.0% this quarter, -3.0 pts on the same quarter last year (18.0%)"
    )
    s = hl.sales_finding(
        BASE
    )  # year on year 1.2m / 1.5m - 1 = -20% (the score), +20% on the quarter
    assert s.key == "hl_sales_down" and s.score == pytest.approx(0.2)
    assert hl.sentence(s, "zh").startswith("本季度销售额 120.0万元，同比 -20.0%，环比 +20.0%")
    c = hl.churn_top_finding(BASE)  # 200,000 of 4,000,000 = 5%
    assert c.score == pytest.approx(0.05) and "占近12个月销售额的 5.0%" in hl.sentence(c, "zh")
    r = hl.non_key_receivables_finding(BASE)
    assert r.score == pytest.approx(0.1) and "10.0万元，占应收账款余额的 10.0%" in hl.sentence(
        r, "zh"
    )
    loss = hl.loss_making_finding(BASE)
    assert loss.alert and loss.score == pytest.approx(0.03) and loss.key == "hl_loss_making"


def test_a_finding_whose_number_is_missing_does_not_appear():
    assert (
        hl.margin_finding({"00_data_overview": {"gross_margin_rate": 0.15}}) is None
    )  # no last year
    assert (
        hl.a_share_finding({}) is None and hl.gini_finding({"01_customer_composition": {}}) is None
    )
    assert hl.loss_making_finding({"03_margin_ranking": {"n_loss_making_products": None}}) is None
    assert hl.ledger_finding({"07_credit_limits": {}}) is None
    assert hl.churn_top_finding({"04_churn_risk": {"not_computed": "too few churners"}}) is None
    kinds = {
        f.kind for f in hl.candidates({k: v for k, v in BASE.items() if k != "00_data_overview"})
    }
    assert "margin" not in kinds and "sales" not in kinds and "a_share" in kinds
    nan = {"01_customer_composition": {"gini": float("nan")}}
    assert hl.gini_finding(nan) is None
    # without the number before, the finding stands without a change and scores 0
    alone = hl.a_share_finding(
        {
            "01_customer_composition": {
                "A": {"customers": 60, "sales_share": 0.78, "value_share": 0.78}
            }
        }
    )
    assert (
        alone.key == "hl_a_share"
        and alone.score == 0
        and "较上季度" not in hl.sentence(alone, "zh")
    )


def test_ranking_puts_actions_first_then_the_largest_changes():
    ranked = hl.highlights(BASE)
    kinds = [f.kind for f in ranked]
    # loss-making products call for action; then by score: sales 20%, margin 16.7%, non-key
    # receivables 10%, moved down 5% = churn 5% (kinds' order), a_share 4%, gini 2.8%, ledger 0
    assert kinds == [
        "loss_making",
        "sales",
        "margin",
        "non_key_receivables",
        "moved_down",
        "churn_top",
        "a_share",
        "gini",
        "ledger",
    ]
    assert 6 <= len(ranked) <= hl.MAX_FINDINGS
    assert [f.kind for f in hl.highlights(BASE, limit=3)] == kinds[:3]


def test_a_ledger_that_breaks_the_rules_comes_first():
    broken = {
        **BASE,
        "07_credit_limits": {
            **BASE["07_credit_limits"],
            "ledger_approved": False,
            "ledger_balanced": False,
            "ledger_net": 10_000.0,
            "ledger_problems": ["a", "b"],
        },
    }
    first = hl.highlights(broken)[0]
    assert first.kind == "ledger" and first.key == "hl_ledger_unbalanced"
    assert hl.sentence(first, "zh") == (
        "本季度赊销额度调整不平衡（净额 1.0万元，共 2 处问题）：调增必须由其他客户的调减抵消，改正前不得执行。"
    )


def test_the_same_findings_in_both_languages_each_in_its_own():
    ranked = hl.highlights(BASE)
    for lang in ("zh", "en"):
        for f in ranked:
            text = hl.sentence(f, lang)
            assert "{" not in text and "None" not in text
            assert not is_foreign(text, lang), text


def test_more_findings_than_room_keep_the_largest():
    many = {
        **BASE,
        "08_value_forecast": {"develop": 20, "watch": 10, "customers": 400},
        "09_account_management": {
            "key_customers": 80,
            "key_customers_without_owner": 4,
            "share_of_wallet": {"share_of_wallet": 0.30, "share_of_wallet_prev": 0.25},
        },
    }
    assert len(hl.candidates(many)) == 12
    kept = hl.highlights(many)
    assert len(kept) == hl.MAX_FINDINGS == 10
    assert {f.kind for f in kept} >= {"unowned_key", "loss_making", "wallet"}  # wallet: +20%
    assert "ledger" not in {f.kind for f in kept}  # score 0: no room left


# ------------------------------------------------------------------ number formats
def test_money_in_wan_yuan_in_chinese():
    assert fmt_money(12_293_164.01, "zh") == "1,229.3万元"
    assert fmt_money(9_500, "zh") == "9,500元"
    assert fmt_money(-260_956.13, "zh") == "-26.1万元"
    assert fmt_money(12_293_164.01, "en") == "¥12,293,164"
    assert (
        fmt_value(0.0124, "pts", "en") == "+1.2 pts"
        and fmt_value(-0.0035, "sdec3", "zh") == "-0.004"
    )
    assert fmt_value(None, "pct", "zh") == "–" and fmt_value(False, "bool", "zh") == "✗"
    assert fmt_value("logistic_c0.1", "label:churn_cand_", "zh") == "逻辑回归（强正则 C=0.1）"
    assert (
        fmt_value(90, "days", "zh") == "90 天"
        and fmt_value("2026-01-01T00:00", "date", "en") == "2026-01-01"
    )


# ------------------------------------------------------------------ what the pages record for them
def test_page_01_records_the_quarter_before_from_the_migration():
    import pandas as pd

    from analysis.report.records import migration_record

    moves = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "class_before": ["A", "B", "A", "none"],
            "class_after": ["A", "B", "B", "C"],
            "move": ["same", "same", "down", "entered"],
            "value_before": [60.0, 10.0, 30.0, float("nan")],
            "value_after": [70.0, 12.0, 8.0, 5.0],
        }
    )
    r = migration_record(moves)
    # before: A holds 60 + 30 of 100; B 10 of 100; C nobody
    assert r["previous_quarter"]["A"] == {"customers": 2, "value_share": 0.9}
    assert r["previous_quarter"]["C"] == {"customers": 0, "value_share": 0.0}
    # Gini of (10, 30, 60): mean absolute difference 2*(20+50+30)/9 = 200/9, / (2 * mean 100/3) = 1/3
    assert r["previous_quarter"]["gini"] == pytest.approx(1 / 3)
    assert r["migration_value"]["down"] == {
        "customers": 1,
        "value_before": 30.0,
        "value_after": 8.0,
    }
    assert migration_record(moves.drop(columns=["value_before", "value_after"])) == {}


def test_page_00_records_this_quarter_last_quarter_and_last_year():
    import pandas as pd

    from analysis.data import overview as ov

    kpis = pd.DataFrame(
        {
            "kpi": ["sales", "gross_margin_rate", "active_customers", "new_customers", "orders"],
            "this_quarter": [120.0, 0.15, 5.0, 1.0, 12.0],
            "previous_quarter": [100.0, 0.16, 4.0, 0.0, 10.0],
            "same_quarter_last_year": [150.0, float("nan"), 6.0, 2.0, 14.0],
            "change_vs_previous": [0.2, -0.01, 0.25, float("nan"), 0.2],
        }
    )
    r = ov.headline(kpis, {"customers": 9, "products": 4, "orders": 99}, ["transactions"])
    assert r["orders"] == 12 and r["customers"] == 9  # the quarter's orders, not all the data's
    assert r["kpis"]["sales"] == {
        "this_quarter": 120.0,
        "previous_quarter": 100.0,
        "same_quarter_last_year": 150.0,
    }
    assert r["kpis"]["gross_margin_rate"]["same_quarter_last_year"] is None
    assert hl.margin_finding({"00_data_overview": r}) is None  # no last year: no finding
    assert hl.sales_finding({"00_data_overview": r}).values["yoy"][0] == pytest.approx(-0.2)


def test_a_change_too_small_to_act_on_reads_as_unchanged():
    # the sample: class A 75.1% against 75.2%, Gini 0.7568 against 0.7569, margin 14.8% vs 15.0%
    page = {
        "A": {"customers": 68, "value_share": 0.7511},
        "gini": 0.7568,
        "top20_share": 0.7919,
        "previous_quarter": {"A": {"value_share": 0.7522}, "gini": 0.7569},
    }
    a = hl.a_share_finding({"01_customer_composition": page})
    g = hl.gini_finding({"01_customer_composition": page})
    assert (a.key, g.key) == ("hl_a_share_flat", "hl_gini_flat")
    assert "基本持平" in hl.sentence(a, "zh") and "about the same" in hl.sentence(g, "en")
    kpis = {"gross_margin_rate": {"this_quarter": 0.1477, "same_quarter_last_year": 0.1498}}
    m = hl.margin_finding({"00_data_overview": {"kpis": kpis}})
    assert m.key == "hl_margin_flat" and m.score == pytest.approx(0.0021 / 0.1498)
    # half a point is a change
    kpis["gross_margin_rate"]["same_quarter_last_year"] = 0.1527
    assert hl.margin_finding({"00_data_overview": {"kpis": kpis}}).key == "hl_margin_down"
