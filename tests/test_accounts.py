"""Account management (analysis.accounts, notebook 09): every rule on a hand-built frame with
hand-computed values; the sample company's new columns; the notebook on the sample and on a copy
without the optional columns."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.accounts import (
    ibm_types as ibm,
    lifecycle as lc,
    retention as rt,
    salespeople as sp,
    wallet as wl,
)
from analysis.classify import screening as scr
from analysis.data import io as aio
from analysis.data.periods import Quarter


# ---------------------------------------------------------------- salespeople and visit plan
def _owned():
    # total sales 1,000: 张 700 (600 key), 李 200 (key), no owner 100 (key)
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "salesperson": ["张", "张", "李", np.nan],
            "monetary": [600.0, 100.0, 200.0, 100.0],
            "abc_class": ["A", "B", "A", "C"],
            "tier": ["important", "ordinary", "secondary", "secondary"],
        }
    )


def test_with_owner_blank_is_missing_and_route_falls_back_to_region():
    classes = pd.DataFrame({"customer_id": ["a", "b", "c"]})
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "salesperson": ["王", "  ", None],
            "route": ["东线", None, ""],
            "region": ["苏州", "无锡", "常州"],
        }
    )
    out = sp.with_owner(classes, customers)
    assert out["salesperson"].tolist()[0] == "王" and out["salesperson"].iloc[1:].isna().all()
    assert out["route"].tolist() == ["东线", "无锡", "常州"]


def test_salesperson_summary_by_hand():
    s = sp.salesperson_summary(_owned()).set_index("salesperson")
    assert s.index.tolist() == [
        "张",
        "李",
        sp.UNASSIGNED,
    ]  # by sales, the customers without an owner last
    assert s.loc[
        "张", ["customers", "class_A", "class_B", "class_C", "key_customers"]
    ].tolist() == [2, 1, 1, 0, 1]
    assert s.loc["张", "sales_share"] == pytest.approx(0.7)
    assert s.loc["张", "key_sales_share"] == pytest.approx(600 / 700)
    assert s.loc[sp.UNASSIGNED, "sales_share"] == pytest.approx(0.1)
    assert s["sales"].sum() == pytest.approx(1000)


def test_key_customers_without_owner_come_first():
    keys = sp.key_customers_by_owner(_owned())
    assert keys["customer_id"].tolist() == [
        "c4",
        "c1",
        "c3",
    ]  # c2 is ordinary, not key; 张 (U+5F20) < 李
    assert keys["no_owner"].tolist() == [True, False, False]


def test_unowned_note_counts_and_sums():
    assert "1" in sp.unowned_note(sp.key_customers_by_owner(_owned()), "en")
    assert sp.unowned_note(sp.key_customers_by_owner(_owned().dropna()), "en").startswith(
        "Every key customer"
    )


def _plan_input():
    return pd.DataFrame(
        {
            "customer_id": ["a1", "b1", "b2", "c1", "x"],
            "salesperson": ["张"] * 4 + [np.nan],
            "route": ["R1", "R1", "R1", "R2", None],
            "abc_class": ["A", "B", "B", "C", "B"],
            "monetary": [10.0, 9.0, 8.0, 1.0, 5.0],
        }
    )


def test_visit_plan_spreads_the_weeks_by_hand():
    plan = sp.visit_plan(_plan_input()).set_index("customer_id")
    # A weekly: all 13 weeks; B every 4 weeks, the larger starts in week 1, the next in week 2; C once
    assert plan.loc["a1", "visits"] == 13 and plan.loc["a1", "weeks"] == ", ".join(
        map(str, range(1, 14))
    )
    assert plan.loc["b1", "weeks"] == "1, 5, 9, 13" and plan.loc["b1", "visits"] == 4
    assert plan.loc["b2", "weeks"] == "2, 6, 10" and plan.loc["b2", "visits"] == 3
    assert plan.loc["c1", "weeks"] == "1" and plan.loc["c1", "visits"] == 1
    # the larger route (R1, 3 customers) is Monday's, R2 Tuesday's; no owner, no route: its own group, last
    assert plan.loc["a1", "weekday"] == "mon" and plan.loc["c1", "weekday"] == "tue"
    assert (
        plan.index[-1] == "x"
        and plan.loc["x", "salesperson"] == sp.UNASSIGNED
        and plan.loc["x", "route"] == "–"
    )


def test_visit_plan_frequency_parameters():
    plan = sp.visit_plan(_plan_input(), every_weeks={"A": 2, "B": 0, "C": 13})
    assert set(plan["customer_id"]) == {"a1", "c1"}  # 0 = not visited
    assert plan.set_index("customer_id").loc["a1", "weeks"] == "1, 3, 5, 7, 9, 11, 13"
    with pytest.raises(ValueError, match="every_weeks"):
        sp.visit_plan(_plan_input(), every_weeks={"A": -1})


def test_visit_workload_by_hand():
    w = sp.visit_workload(sp.visit_plan(_plan_input())).set_index("salesperson")
    assert w.loc[
        "张", ["customers", "routes", "visits_A", "visits_B", "visits_C", "visits"]
    ].tolist() == [4, 2, 13, 7, 1, 21]
    assert w.loc["张", "visits_per_week"] == pytest.approx(21 / 13)


def test_plan_sheets_one_per_salesperson(tmp_path):
    staff = sp.staff_table(sp.visit_plan(_plan_input()), "zh")
    sheets = sp.plan_sheets(staff, "zh")
    assert list(sheets) == ["张", "（未分配）"]
    assert (
        len(sheets["张"]) == 4
        and "业务员" not in sheets["张"].columns
        and "拜访周次" in sheets["张"].columns
    )
    wb = load_workbook(aio.write_workbook(sheets, tmp_path / "plan.xlsx"))
    assert wb.sheetnames == ["张", "（未分配）"]


def test_write_workbook_keeps_text_as_text_and_cleans_sheet_names(tmp_path):
    df = pd.DataFrame({"name": ['=HYPERLINK("http://x")', "+1"], "n": [1, 2.5]})
    wb = load_workbook(
        aio.write_workbook({"a/b": df, "A/B": df, "x" * 40: df}, tmp_path / "w.xlsx")
    )
    assert wb.sheetnames == ["a_b", "A_B(2)", "x" * 31]
    cells = wb["a_b"]["A"]
    assert [c.value for c in cells] == ["name", '=HYPERLINK("http://x")', "+1"]
    assert all(c.data_type == "s" for c in cells)


# ---------------------------------------------------------------- lifecycle, depth, value level
def _base():
    return pd.DataFrame(
        {
            "customer_id": ["t", "d1", "d2", "f1", "f2", "s"],
            "tenure_days": [100, 1000, 1000, 400, 1000, 1000],
            "recency_days": [5, 120, 10, 10, 10, 10],
            "monetary": [50.0, 100.0, 60.0, 100.0, 130.0, 110.0],
            "monetary_prev_12m": [0.0, 100.0, 100.0, 100.0, 100.0, 100.0],
        }
    )


def test_lifecycle_rules_in_order():
    st = lc.lifecycle_stages(_base()).set_index("customer_id")
    # t: first purchase 100 < 180 days ago; d1: 120 > 90 days without a purchase; d2: 60/100 - 1 = -40%;
    # f1: a customer for 400 < 730 days; f2: +30% >= +20%; s: +10%, old, recent
    assert st["stage"].to_dict() == {
        "t": "trial",
        "d1": "decline",
        "d2": "decline",
        "f1": "forming",
        "f2": "forming",
        "s": "stable",
    }
    assert st.loc["d2", "sales_change"] == pytest.approx(-0.4) and np.isnan(
        st.loc["t", "sales_change"]
    )


def test_lifecycle_parameters_move_the_boundaries():
    st = lc.lifecycle_stages(_base(), lapse_days=150, decline_rate=0.5, growth_rate=0.35).set_index(
        "customer_id"
    )
    assert (
        st.loc["d1", "stage"] == "stable"
        and st.loc["d2", "stage"] == "stable"
        and st.loc["f2", "stage"] == "stable"
    )
    with pytest.raises(ValueError, match="trial_days"):
        lc.lifecycle_stages(_base(), trial_days=800)


def test_lost_and_prospects_are_apart_from_buying_customers():
    st = lc.with_lost_and_prospects(
        lc.lifecycle_stages(_base()), ["t", "s", "gone", "gone"], ["t", "s", "gone", "new"]
    )
    assert st.set_index("customer_id").loc[["gone", "new"], "stage"].tolist() == [
        "lost",
        "prospect",
    ]
    summary = lc.stage_summary(st).set_index("stage")
    assert summary["customers"].tolist() == [
        1,
        1,
        2,
        1,
        2,
        1,
    ]  # prospect, trial, forming, stable, decline, lost
    assert summary.loc["forming", "monetary_share"] == pytest.approx(230 / 550)
    assert summary.loc["stable", "strategy"] == "stable"


def test_cooperation_depth():
    st = lc.with_lost_and_prospects(lc.lifecycle_stages(_base()), ["gone"], ["new"])
    depth = lc.cooperation_depth(st).set_index("customer_id")["depth"]
    assert depth[["t", "f1", "s", "gone", "new"]].tolist() == [
        "short_term",
        "short_term",
        "long_term",
        "former",
        "prospect",
    ]


def test_value_levels_follow_the_pyramid():
    df = pd.DataFrame(
        {
            "tier": ["important", "secondary", "ordinary", "small", np.nan],
            "monetary": [50.0, 30.0, 15.0, 5.0, 0.0],
            "gross_profit": [5.0, 3.0, 1.5, 0.5, 0.0],
        }
    )
    out = lc.value_levels(df)
    assert out["value_level"].tolist()[:4] == ["high", "high", "mid", "low"] and pd.isna(
        out["value_level"].iloc[4]
    )
    s = lc.value_level_summary(out).set_index("value_level")
    assert s["customers"].tolist() == [2, 1, 1]
    assert s.loc["high", "monetary_share"] == pytest.approx(0.8)
    assert s.loc["low", "service"] == "low"


# ---------------------------------------------------------------- IBM types
def test_ibm_types_by_hand():
    df = pd.DataFrame(
        {
            "customer_id": ["sl", "fg", "new", "lo", "unsat", "wn", "lowgrow", "gen"],
            "recency_days": [100, 5, 5, 5, 5, 5, 5, 5],
            "monetary": [10.0, 130.0, 80.0, 10.0, 10.0, 100.0, 20.0, 10.0],
            "monetary_prev_12m": [10.0, 100.0, 0.0, 10.0, 10.0, 100.0, 10.0, 10.0],
            "tenure_days": [900, 900, 200, 900, 900, 900, 900, 900],
            "loyalty": [0.9, 0.9, 0.3, 0.9, 0.9, 0.5, 0.5, 0.5],
            "value_level": ["high", "mid", "high", "low", "low", "high", "low", "low"],
            "service_balance": [0, 0, 0, 0, -1, 0, 0, 0],
        }
    )
    typed = ibm.ibm_types(df, satisfaction_col="service_balance").set_index("customer_id")[
        "ibm_type"
    ]
    # sl: 100 > 90 days; fg: +30% and mid value; new: under a year, already high; lo: loyalty 0.9 >= 0.85;
    # unsat: as loyal but more complaints than praise; wn: high value, flat; lowgrow: low value, +100%
    assert typed.to_dict() == {
        "sl": "sleeping",
        "fg": "fast_growing",
        "new": "fast_growing",
        "lo": "loyal",
        "unsat": "general",
        "wn": "worth_nurturing",
        "lowgrow": "worth_nurturing",
        "gen": "general",
    }
    stages = pd.DataFrame({"customer_id": ["p"], "stage": ["prospect"]})
    summary = ibm.type_summary(ibm.with_prospects(ibm.ibm_types(df), stages)).set_index("ibm_type")
    assert summary.loc["prospect", "customers"] == 1 and summary.loc["general", "customers"] == 1


# ---------------------------------------------------------------- retention
def test_recency_risk_proxy_by_hand():
    base = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "recency_days": [30, 90],
            "frequency": [10, 10],
            "tenure_days": [300, 300],
            "monetary": [1000.0, 1000.0],
        }
    )
    r = rt.recency_risk(base)
    # usual interval 300 / 10 = 30 days: a is 1 interval overdue -> 1/2; b 3 intervals -> 3/4
    assert r["churn_probability"].tolist() == pytest.approx([0.5, 0.75])
    assert r["expected_lost_sales"].tolist() == pytest.approx([500, 750])


def test_churn_risk_falls_back_to_the_recency_proxy_without_churners():
    from analysis.data.io import Dataset

    days = pd.date_range(
        "2024-01-03", "2025-12-28", freq="7D"
    )  # everyone buys every week: no churner to learn from
    tx = pd.DataFrame(
        [(c, d, 100.0) for c in "abc" for d in days], columns=["customer_id", "date", "amount"]
    )
    risk, source = rt.churn_risk(
        Dataset(data_dir=".", tables={"transactions": tx}), Quarter.parse("2025Q4"), lang="en"
    )
    assert source == "recency" and risk["customer_id"].tolist() == ["a", "b", "c"]
    assert risk["reasons"].iloc[0].startswith("days since the last purchase")


def _risk():
    return pd.DataFrame(
        {
            "customer_id": list("abcdefg"),
            "churn_probability": [0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.29],
            "expected_lost_sales": [10.0, 90.0, 30.0, 40.0, 50.0, 60.0, 70.0],
        }
    )


def _classes():
    return pd.DataFrame(
        {
            "customer_id": list("abcdefg"),
            "tier": ["important", "secondary", "small", "ordinary", "small", "small", "small"],
            "decision": ["drop", "keep", "reprice", "nurture", "reprice", "reprice", "reprice"],
            "tenure_days": [2000, 2000, 2000, 1095, 1094, 10, 10],
        }
    )


def test_retention_actions_first_rule_that_holds():
    complaints = pd.DataFrame(
        {"customer_id": ["b", "c"], "complaints": [2, 1], "last_complaints": ["x", "y"]}
    )
    acts = rt.retention_actions(_risk(), _classes(), complaints=complaints).set_index("customer_id")
    # a: dropped although key; b: key (with complaints); c: complaint; d: 1,095 days; e: 1,094 days; f: 0.3 counts
    assert acts["action"].to_dict() == {
        "b": "account_manager_visit",
        "f": "follow_up_call",
        "e": "follow_up_call",
        "d": "loyalty_offer",
        "c": "complaint_follow_up",
        "a": "not_chased",
    }
    assert acts.index.tolist() == [
        "b",
        "f",
        "e",
        "d",
        "c",
        "a",
    ]  # by expected lost sales; g (0.29) is not at risk
    assert acts.loc["c", "last_complaints"] == "y" and acts.loc["d", "complaints"] == 0


def test_retention_without_interactions_has_no_complaint_rule():
    acts = rt.retention_actions(_risk(), _classes()).set_index("customer_id")
    assert acts.loc["c", "action"] == "loyalty_offer" and (acts["complaints"] == 0).all()
    summary = rt.action_summary(acts).set_index("action")
    assert summary.loc["loyalty_offer", "customers"] == 2
    assert summary.loc["loyalty_offer", "expected_lost_sales"] == pytest.approx(70)


def test_recent_complaints_newest_first_in_the_window():
    inter = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2025-01-05", "2025-03-01", "2025-02-01", "2025-04-01", "2025-03-01"]
            ),
            "kind": ["complaint", "complaint", "complaint", "complaint", "praise"],
            "note": ["old", "march", "feb", "after", "nice"],
        }
    )
    c = rt.recent_complaints(inter, "2025-02-01", "2025-04-01")
    assert c["customer_id"].tolist() == ["a"]
    assert c.loc[0, "complaints"] == 2 and c.loc[0, "last_complaints"] == "march; feb"


def _tx():
    return pd.DataFrame(
        {
            "customer_id": ["A", "B", "B", "C", "D", "D"],
            "date": pd.to_datetime(
                ["2025-03-01", "2025-05-01", "2025-11-01", "2024-09-30", "2025-05-01", "2025-10-15"]
            ),
            "amount": [100.0, 50.0, 60.0, 70.0, 80.0, -20.0],
        }
    )


def test_lost_customers_are_page_04s_churners_of_the_quarter():
    lost = rt.lost_customers(_tx(), Quarter.parse("2025Q4"))
    # A: bought in the year before 1 Oct, not in Q4; B bought in Q4; C's last purchase is more than 365 days
    # before 1 Oct 2025 (not active); D only returned goods in Q4 (a return is not a purchase)
    assert lost["customer_id"].tolist() == ["A", "D"]
    assert lost["last_purchase"].tolist() == [
        pd.Timestamp("2025-03-01"),
        pd.Timestamp("2025-05-01"),
    ]


def test_win_back_list_and_churn_by_stage():
    lost = rt.lost_customers(_tx(), Quarter.parse("2025Q4"))
    before = pd.DataFrame(
        {
            "customer_id": ["A", "B", "D"],
            "monetary": [100.0, 50.0, 80.0],
            "decision": ["keep", "keep", "drop"],
        }
    )
    win = rt.win_back_list(lost, before)
    assert win["customer_id"].tolist() == ["A", "D"] and win["win_back"].tolist() == [True, False]
    assert win["last_purchase"].tolist() == ["2025-03-01", "2025-05-01"]
    assert "2" in rt.lost_note(win, "2025Q4", "en")
    stages = pd.DataFrame(
        {"customer_id": ["A", "B", "D", "E"], "stage": ["decline", "stable", "decline", "trial"]}
    )
    by = rt.churn_by_stage(stages, lost).set_index("stage")
    assert (
        by.loc["decline", ["customers", "churned"]].tolist() == [2, 2]
        and by.loc["decline", "churn_rate"] == 1.0
    )
    assert by.loc["stable", "churn_rate"] == 0.0 and np.isnan(by.loc["forming", "churn_rate"])
    assert by.loc["all", "churn_rate"] == pytest.approx(2 / 4)


# ---------------------------------------------------------------- share of wallet and the screening
def _wallet():
    base = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "monetary": [30.0, 120.0, 10.0, 5.0],
            "monetary_prev_12m": [20.0, 100.0, 10.0, 5.0],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "total_purchases": [100.0, 100.0, np.nan, 0.0]}
    )
    return wl.share_of_wallet(base, customers)


def test_share_of_wallet_by_hand():
    w = _wallet().set_index("customer_id")
    assert w.index.tolist() == ["a", "b"]  # unknown or zero totals are left out
    # a: 30 / 100 = 30%, a year before 20 / 100 = 20%, +10 points; 70 bought elsewhere
    assert w.loc[
        "a", ["share_of_wallet", "share_prev", "share_change", "headroom"]
    ].tolist() == pytest.approx([0.3, 0.2, 0.1, 70])
    assert w.loc["b", "over_total"] and w.loc["b", "headroom"] == 0 and not w.loc["a", "over_total"]


def test_wallet_summary_pools_the_shares():
    classes = pd.DataFrame({"customer_id": ["a", "b"], "abc_class": ["A", "A"]})
    s = wl.wallet_summary(_wallet(), classes, order=["A", "B"]).set_index("abc_class")
    assert s.loc["A", "share_of_wallet"] == pytest.approx(150 / 200)  # (30 + 120) / (100 + 100)
    assert s.loc["A", "share_change"] == pytest.approx(150 / 200 - 120 / 200)
    assert s.loc["B", "customers"] == 0 and np.isnan(s.loc["B", "share_of_wallet"])
    assert s.loc["all", "customers"] == 2
    assert wl.wallet_opportunities(_wallet(), max_share=0.5)["customer_id"].tolist() == ["a"]
    assert wl.wallet_record(_wallet()) == {
        "customers_with_total": 2,
        "share_of_wallet": 0.75,
        "share_of_wallet_prev": 0.6,
        "over_total": 1,
    }


def test_screening_cooperation_ground():
    df = pd.DataFrame(
        {
            "tier": ["ordinary", "ordinary", "small", "ordinary", "important"],
            "monetary": [10.0] * 5,
            "potential_value": [10.0] * 5,
            "share_of_wallet": [0.1, 0.5, 0.1, np.nan, 0.1],
        }
    )
    out = scr.annual_screening(df, cooperation_col="share_of_wallet")
    # an ordinary customer without potential but a low share is nurtured; small ones and high shares are not
    assert out["decision"].tolist() == ["nurture", "reprice", "reprice", "reprice", "keep"]
    assert out["reason"].tolist() == [
        "low_share",
        "ordinary_no_potential",
        "small_no_potential",
        "ordinary_no_potential",
        "top_tier",
    ]
    assert out["cooperation"].tolist()[:3] == ["low", "high", "low"] and pd.isna(
        out["cooperation"].iloc[3]
    )
    plain = scr.annual_screening(df.drop(columns="share_of_wallet"))
    assert "cooperation" not in plain.columns and plain["decision"].tolist()[0] == "reprice"


# ---------------------------------------------------------------- data contract and sample
def test_chinese_headers_of_the_new_columns(tmp_path):
    pd.DataFrame(
        {"客户编号": ["a"], "业务员": ["王芳"], "线路": ["苏州东线"], "采购总额": [120000]}
    ).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({"customer_id": ["a"], "date": ["2025-01-02"], "amount": [1.0]}).to_csv(
        tmp_path / "transactions.csv", index=False
    )
    c = aio.load_dataset(tmp_path)["customers"]
    assert c.loc[0, ["salesperson", "route", "total_purchases"]].tolist() == [
        "王芳",
        "苏州东线",
        120000,
    ]
    pd.DataFrame({"客户编号": ["a"], "销售员": ["李娜"]}).to_csv(
        tmp_path / "customers.csv", index=False
    )
    assert aio.load_dataset(tmp_path)["customers"].loc[0, "salesperson"] == "李娜"


def test_sample_has_owners_routes_and_totals(sample_dir):
    c = aio.load_dataset(sample_dir)["customers"]
    owners = c["salesperson"].dropna()
    assert owners.nunique() == 6 and 5 <= c["salesperson"].isna().sum() <= 20
    assert c["route"].notna().all() and (c["route"].str[:2] == c["region"].str[:2]).all()
    assert 0.8 < c["total_purchases"].notna().mean() < 0.95


# ---------------------------------------------------------------- notebook 09
@pytest.mark.notebook
def test_09_on_the_sample(sample_page):
    # page 09 as the sample report ran it (conftest.sample_page: built once, shared)
    s, final = sample_page("09_account_management")
    assert s["skipped_sections"] == []
    assert (
        s["salespeople"] == 6 and s["key_customers"] == 83 and s["key_customers_without_owner"] == 4
    )
    assert s["risk_source"] == "model" and s["at_risk"] == sum(s["actions"].values())
    assert sum(s["stages"].values()) == 450 and s["stages"]["prospect"] == 0
    assert s["churn_rate_by_stage"]["decline"] > s["churn_rate_by_stage"]["all"]
    assert 0.2 < s["share_of_wallet"]["share_of_wallet"] < 0.4
    wb = load_workbook(final / "visit_plan_by_salesperson.xlsx", read_only=True)
    assert len(wb.sheetnames) == 7  # six salespeople and the customers without one


@pytest.mark.notebook
def test_09_skips_with_notes_without_the_new_columns(run_notebook, sample_dir, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for f in sample_dir.glob("*.csv"):
        shutil.copy(f, d / f.name)
    c = pd.read_csv(d / "customers.csv", dtype=str)
    c.drop(columns=["salesperson", "route", "total_purchases"]).to_csv(
        d / "customers.csv", index=False
    )
    s = run_notebook("09_account_management", d)
    skipped = {x["section"]: x["needs"] for x in s["skipped_sections"]}
    assert skipped == {
        "sec_salespeople": "column 'salesperson' in customers",
        "sec_visit_plan": "column 'salesperson' in customers",
        "sec_share_of_wallet": "column 'total_purchases' in customers",
    }
    assert (
        s["key_customers"] is None
        and s["visits_next_quarter"] is None
        and s["share_of_wallet"] is None
    )
    assert s["stages"]["stable"] > 0 and s["at_risk"] > 0


@pytest.mark.notebook
def test_09_runs_on_transactions_alone(run_notebook, tiny_tx_dir):
    s = run_notebook("09_account_management", tiny_tx_dir)
    assert [x["section"] for x in s["skipped_sections"]] == [
        "sec_salespeople",
        "sec_visit_plan",
        "sec_retention_complaints",
        "sec_share_of_wallet",
    ]
    assert sum(s["stages"].values()) == 40 and s["actions"]["complaint_follow_up"] == 0


# ---------------------------------------------------------------- page 09's steps
def test_without_owner_lists_the_unowned_key_customers():
    out = sp.without_owner(sp.key_customers_by_owner(_owned()))
    assert out["customer_id"].tolist() == ["c4"]  # c4 is secondary (key) and has no owner
    assert out.index.tolist() == [0]
    assert "salesperson" not in out and "no_owner" not in out
    assert list(out.columns) == ["customer_id", "abc_class", "tier", "monetary"]  # those present


def test_salesperson_plan_is_one_salespersons_visits():
    plan = sp.visit_plan(sp.with_owner(_plan_input(), _plan_input()))
    first = sp.salesperson_plan(plan)
    assert set(first["salesperson"]) == {plan["salesperson"].iloc[0]}
    assert len(first) == (plan["salesperson"] == plan["salesperson"].iloc[0]).sum()
    assert list(first.columns) == [c for c in sp.PLAN_COLUMNS if c in plan.columns]
    assert first.index[0] == 0
    assert sp.salesperson_plan(plan, "nobody").empty


def test_account_stages_adds_the_lost_the_prospects_and_the_depth():
    tx = pd.DataFrame(
        {
            "customer_id": ["t", "s", "gone", "late"],
            "date": pd.to_datetime(["2025-09-01", "2025-09-01", "2024-01-01", "2026-01-05"]),
        }
    )
    customers = pd.DataFrame({"customer_id": ["t", "s", "gone", "new"]})
    st = lc.account_stages(
        _base(), tx, "2026-01-01", customers=customers, long_term_days=730
    ).set_index("customer_id")
    # gone bought before 2026-01-01 but is not among the buying customers: lost; new never
    # bought: prospect; late's only purchase is after the date: neither
    assert st.loc["gone", "stage"] == "lost" and st.loc["new", "stage"] == "prospect"
    assert "late" not in st.index
    assert st.loc[["t", "s", "gone", "new"], "depth"].tolist() == [
        "short_term",  # t: a customer for 100 days
        "long_term",  # s: 1,000 days
        "former",
        "prospect",
    ]
    without_book = lc.account_stages(_base(), tx, "2026-01-01")
    assert "new" not in set(without_book["customer_id"])


def test_complaints_within_the_days_before_the_end():
    inter = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2025-03-01", "2025-01-15", "2025-03-30"]),
            "kind": ["complaint", "complaint", "complaint"],
            "note": ["march", "january", "late march"],
        }
    )
    # 30 days before 2025-04-01: from 2025-03-02, so only b's complaint of 03-30 counts
    c = rt.complaints_within(inter, "2025-04-01", days=30)
    assert c["customer_id"].tolist() == ["b"]
    # 90 days: from 2025-01-01, all three
    assert rt.complaints_within(inter, "2025-04-01", days=90)["complaints"].tolist() == [2, 1]
    assert rt.complaints_within(None, "2025-04-01", days=90) is None


def test_win_back_columns_follow_the_basis():
    assert rt.WIN_BACK_COLUMNS[:3] == ("customer_id", "name", "last_purchase")
    assert "abc_class" in rt.WIN_BACK_COLUMNS and "abc_class" not in rt.WIN_BACK_PAGE_COLUMNS
    assert set(rt.WIN_BACK_BASIS) <= set(rt.WIN_BACK_COLUMNS)


def test_cooperation_decisions_counts_each_pair():
    classes = pd.DataFrame(
        {
            "cooperation": ["high", "low", "low", "high", np.nan],
            "decision": ["keep", "nurture", "nurture", "keep", "drop"],
        }
    )
    out = wl.cooperation_decisions(classes)
    assert out.to_dict("list") == {
        "cooperation": ["high", "low"],
        "decision": ["keep", "nurture"],
        "customers": [2, 2],
    }
    with pytest.raises(KeyError, match="decision"):
        wl.cooperation_decisions(classes.drop(columns="decision"))
