"""Worked case 3 of 《客户分类案例》 (credit limits by class): the published figures and hand-computed ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.engine.aggregate import customer_summary
from analysis.finance import credit
from analysis.products.margin import receivable_indicators

T = pd.Timestamp


# ------------------------------------------------------------- payment record
@pytest.fixture
def receivables():
    return pd.DataFrame(
        {
            "customer_id": ["X", "X", "X", "Y", "Y", "Y"],
            "invoice_id": ["i1", "i2", "i3", "i4", "i5", "i6"],
            "invoice_date": [
                T("2024-01-10"),
                T("2024-06-01"),
                T("2024-12-01"),
                T("2023-12-01"),
                T("2024-03-01"),
                T("2024-05-01"),
            ],
            "amount": [1000.0, 3000.0, 1000.0, 500.0, 2000.0, 1000.0],
            # i5 is paid after the as-of date, i6 only in part (400 of 1,000)
            "paid_date": [
                T("2024-02-09"),
                T("2024-07-31"),
                pd.NaT,
                pd.NaT,
                T("2025-01-15"),
                T("2024-05-31"),
            ],
            "paid_amount": [1000.0, 3000.0, np.nan, np.nan, 2000.0, 400.0],
        }
    )


def test_credit_basis_joins_sales_and_payment_record(receivables):
    tx = pd.DataFrame(
        {
            "customer_id": ["X", "X", "Z"],
            "date": [T("2024-02-01"), T("2024-05-01"), T("2024-03-01")],
            "amount": [4000.0, 2000.0, 500.0],
        }
    )
    before = receivables.copy()
    summary = customer_summary(tx, as_of="2025-01-01", start="2024-01-01")
    ind = receivable_indicators(receivables, "2024-01-01", "2025-01-01")
    b = credit.credit_basis(summary, ind).set_index("customer_id")
    # X sold 6,000; Y has invoices but no sales (0); Z sold 500 without invoices (no payment record)
    assert b["sales"].to_dict() == {"X": 6000.0, "Y": 0.0, "Z": 500.0}
    # X paid 1,000 after 30 days and 3,000 after 60: (30 x 1,000 + 60 x 3,000) / 4,000 = 52.5 days;
    # 1,000 of 5,000 invoiced still open -> arrears rate 0.2
    assert b.loc["X", ["collection_days", "arrears", "arrears_rate"]].tolist() == pytest.approx(
        [52.5, 1000, 0.2]
    )
    # Y owes its 2023 invoice 500 + 2,000 paid only after the year + 600 short-paid = 3,100
    assert b.loc["Y", "arrears"] == 3100
    assert np.isnan(b.loc["Z", "arrears_rate"]) and b.loc["Z", "arrears"] == 0
    pd.testing.assert_frame_equal(receivables, before)


def test_credit_basis_without_receivables():
    summary = pd.DataFrame({"customer_id": ["a", "b"], "monetary": [10.0, 20.0]})
    b = credit.credit_basis(summary)
    assert b["sales"].tolist() == [10.0, 20.0] and b["collection_days"].isna().all()
    with pytest.raises(
        ValueError, match="Required column collection_days missing from the receivable indicators"
    ):
        credit.credit_basis(summary, pd.DataFrame({"customer_id": ["a"]}))


# ------------------------------------------------------------------- classes
def _basis(n=10):
    # sales 1,000 ... 10,000; payment record the reverse of sales for the first half
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(n)],
            "sales": [1000.0 * (i + 1) for i in range(n)],
            "collection_days": [30.0] * n,
            "arrears_rate": [0.0] * n,
        }
    )


def test_credit_classes_20_30_30_20():
    c = credit.credit_classes(_basis())
    assert c["credit_class"].value_counts().sort_index().tolist() == [2, 3, 3, 2]
    # equal payment records: the grade follows sales
    assert c.loc[c["credit_class"] == "A", "customer_id"].tolist() == ["c09", "c08"]
    assert c.loc[c["credit_class"] == "D", "customer_id"].tolist() == ["c01", "c00"]


def test_poor_payment_pulls_a_big_customer_down():
    b = _basis().assign(arrears_rate=[0.0] * 9 + [0.9], collection_days=[30.0] * 9 + [200.0])
    c = credit.credit_classes(b)
    # c09 sells most (sales score 1.0) but pays worst (payment score 0.1): 0.5 x 1.0 + 0.5 x 0.1 = 0.55.
    # The nine others tie on payment (average rank 6 of 10 -> 0.6): c08 0.5 x 0.9 + 0.3 = 0.75, c07 0.70,
    # c06 0.65, c05 0.60, then c09 ties c04 at 0.55 and goes first on sales: 5th of 10, class B
    assert c["customer_id"].tolist()[:5] == ["c08", "c07", "c06", "c05", "c09"]
    c = c.set_index("customer_id")
    assert c.loc["c09", "credit_score"] == pytest.approx(0.55)
    assert c.loc["c08", "credit_score"] == pytest.approx(0.75)
    assert c.loc["c09", "credit_class"] == "B"
    assert (
        credit.credit_classes(b, sales_weight=1.0)
        .set_index("customer_id")
        .loc["c09", "credit_class"]
        == "A"
    )


def test_customer_without_payment_record_is_neutral():
    b = _basis(4).assign(collection_days=[np.nan, 10, 20, 30], arrears_rate=[np.nan, 0, 0.1, 0.2])
    c = credit.credit_classes(b).set_index("customer_id")
    assert c.loc["c00", "payment_score"] == 0.5


def test_credit_classes_checks_shares():
    with pytest.raises(ValueError, match=r"sum to 1, got \[0.2, 0.3, 0.3\]"):
        credit.credit_classes(_basis(), class_shares=(0.2, 0.3, 0.3), classes=("A", "B", "C"))
    with pytest.raises(ValueError, match="3 values for 4 classes"):
        credit.credit_classes(_basis(), class_shares=(0.2, 0.3, 0.5))


# -------------------------------------------------------------------- limits
def test_class_limits():
    t = credit.class_limits(10_000_000, {"A": 0.5, "B": 0.3, "C": 0.15, "D": 0.05})
    assert t["class_limit"].tolist() == pytest.approx([5_000_000, 3_000_000, 1_500_000, 500_000])
    with pytest.raises(ValueError, match=r"sum to 1.*sum 0.9"):
        credit.class_limits(1, {"A": 0.5, "B": 0.4})


def test_resolve_total_limit():
    assert credit.resolve_total_limit(5e6) == 5e6
    # 0: this year's limits (30 + 50 = 80), else what is outstanding (12)
    assert (
        credit.resolve_total_limit(
            0, current_limits=pd.Series([30.0, 50.0]), outstanding=pd.Series([12.0])
        )
        == 80
    )
    assert (
        credit.resolve_total_limit(0, current_limits=None, outstanding=pd.Series([5.0, 7.0])) == 12
    )
    with pytest.raises(ValueError, match="set total_limit"):
        credit.resolve_total_limit(0)


def _one_class(arrears=(0.5, 0.0, 0.0)):
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "credit_class": ["A"] * 3,
            "sales": [600.0, 300.0, 100.0],
            "arrears_rate": list(arrears),
        }
    )


def test_customer_limits_proportional_to_sales():
    lim = credit.customer_limits(
        _one_class((0, 0, 0)), credit.class_limits(100, {"A": 1.0})
    ).set_index("customer_id")
    assert lim["new_credit_limit"].to_dict() == pytest.approx({"a": 60, "b": 30, "c": 10})


def test_customer_limits_capped_by_payment_record():
    limits = credit.class_limits(150, {"A": 1.0})
    lim = credit.customer_limits(_one_class(), limits, cap_sales_share=0.25).set_index(
        "customer_id"
    )
    # a's cap: 600 x 0.25 x (1 - 0.5) = 75 (its share would be 90); the 15 left go to b and c 3:1
    assert lim.loc["a", "limit_cap"] == 75
    assert lim["new_credit_limit"].to_dict() == pytest.approx({"a": 75, "b": 56.25, "c": 18.75})


def test_customer_limits_leave_a_reserve_when_everyone_is_capped():
    limits = credit.class_limits(200, {"A": 1.0})
    lim = credit.customer_limits(_one_class(), limits, cap_sales_share=0.25)
    # caps 75 / 75 / 25 = 175 of 200: 25 stay unallocated
    assert lim.set_index("customer_id")["new_credit_limit"].to_dict() == pytest.approx(
        {"a": 75, "b": 75, "c": 25}
    )
    by_class = credit.limits_by_class(lim, limits)
    assert by_class.loc[0, ["allocated", "unallocated"]].tolist() == pytest.approx([175, 25])


def test_customer_limits_arrears_rate_above_one_means_no_room():
    # an arrears rate above 1 (old debts larger than the year's invoicing) caps the limit at 0
    lim = credit.customer_limits(_one_class((1.7, 0.0, 0.0)), credit.class_limits(100, {"A": 1.0}))
    assert lim.set_index("customer_id")["new_credit_limit"].to_dict() == pytest.approx(
        {"a": 0, "b": 75, "c": 25}
    )


def test_grade_d_gets_no_new_limit():
    # 《如何做好客户分类管理》: 信用差的则不能授予信用额度. a is grade D: no limit, its share goes to b and c 3:1
    classes = _one_class((0, 0, 0)).assign(credit_grade=["D", "A", "A"])
    lim = credit.customer_limits(classes, credit.class_limits(100, {"A": 1.0})).set_index(
        "customer_id"
    )
    assert lim["new_credit_limit"].to_dict() == pytest.approx({"a": 0, "b": 75, "c": 25})
    assert lim.loc["a", "grade_factor"] == 0 and lim.loc["a", "limit_cap"] == 0
    by_grade = credit.limits_by_grade(lim.reset_index()).set_index("credit_grade")
    assert by_grade["customers"].to_dict() == {"A": 2, "D": 1}
    assert by_grade.loc["D", "new_credit_limit"] == 0 and by_grade.loc[
        "A", "limit_share"
    ] == pytest.approx(1.0)


def test_better_grades_get_more_room():
    # default factors A 1, B 0.8, C 0.5 (the project's choice), no grade 0.5:
    # weights 600 x 0.5 = 300 (C), 300 x 1 = 300 (A), 100 x 0.5 = 50 (no grade) -> 60 split 300 : 300 : 50
    classes = _one_class((0, 0, 0)).assign(credit_grade=["C", "A", np.nan])
    lim = credit.customer_limits(classes, credit.class_limits(65, {"A": 1.0})).set_index(
        "customer_id"
    )
    assert lim["grade_factor"].to_dict() == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert lim["new_credit_limit"].to_dict() == pytest.approx({"a": 30, "b": 30, "c": 5})
    # the factors are a parameter; an unknown grade is named
    flat = credit.customer_limits(
        classes,
        credit.class_limits(65, {"A": 1.0}),
        grade_factors={"A": 1, "B": 1, "C": 1, "D": 0},
        unrated_factor=1,
    )
    assert flat.set_index("customer_id")["new_credit_limit"].to_dict() == pytest.approx(
        {"a": 39, "b": 19.5, "c": 6.5}
    )
    with pytest.raises(ValueError, match=r"no grade factor for credit grades \['E'\]"):
        credit.customer_limits(
            classes.assign(credit_grade="E"), credit.class_limits(65, {"A": 1.0})
        )


def test_customer_limits_need_a_limit_for_every_class():
    with pytest.raises(ValueError, match=r"no class limit for classes \['A'\]"):
        credit.customer_limits(_one_class(), credit.class_limits(1, {"B": 1.0}))


def test_full_chain_keeps_the_total():
    c = credit.credit_classes(_basis(40).assign(sales=np.linspace(1000, 40000, 40)))
    limits = credit.class_limits(20_000, {"A": 0.5, "B": 0.3, "C": 0.15, "D": 0.05})
    lim = credit.customer_limits(c, limits)
    by_class = credit.limits_by_class(lim, limits)
    assert by_class["allocated"].sum() + by_class["unallocated"].sum() == pytest.approx(20_000)
    assert by_class["customers"].tolist() == [8, 12, 12, 8]
    assert (lim["new_credit_limit"] <= lim["limit_cap"] + 1e-9).all()


# ------------------------------------------------------------- concentration
def _case_3_book():
    """450 customers shaped like case 3: 100 key customers by sales; the 100 largest debtors owe 7.8M;
    76 of them are key customers owing 3.2M."""
    ids, sales, owed = [], [], []
    for i in range(76):  # key and large debtors: 75 x 42,000 + 50,000 = 3,200,000
        (
            ids.append(f"K{i:03d}"),
            sales.append(300_000.0),
            owed.append(50_000.0 if i == 0 else 42_000.0),
        )
    for i in range(76, 100):  # key customers owing little
        ids.append(f"K{i:03d}"), sales.append(250_000.0), owed.append(1_000.0)
    for i in range(24):  # large debtors that are not key: 23 x 190,000 + 230,000 = 4,600,000
        (
            ids.append(f"N{i:03d}"),
            sales.append(20_000.0),
            owed.append(230_000.0 if i == 0 else 190_000.0),
        )
    for i in range(326):  # the rest: small sales, small debts
        ids.append(f"R{i:03d}"), sales.append(10_000.0), owed.append(6_000.0)
    return pd.Series(owed, index=ids), pd.Series(sales, index=ids)


def test_concentration_reproduces_case_3():
    owed, sales = _case_3_book()
    assert len(owed) == 450
    c = credit.receivables_concentration(owed, sales)
    assert c["top_debtors"] == 100
    assert c["top_debtors_owed"] == 7_800_000  # 《客户分类案例》: the 100 largest debtors owe 780万
    assert c["overlap"] == 76  # only 76 of them are key customers
    assert c["overlap_owed"] == 3_200_000  # and they owe 320万
    assert c["non_key_owed"] == 4_600_000
    assert c["overlap_share_of_top"] == pytest.approx(3.2 / 7.8)
    # 7.8M + 24 x 1,000 + 326 x 6,000 = 9,780,000 ("about 10M")
    assert c["receivables_total"] == 9_780_000
    # key sales: 76 x 300,000 + 24 x 250,000 = 28.8M of 28.8M + 0.48M + 3.26M = 32.54M
    assert c["key_sales_share"] == pytest.approx(28.8 / 32.54)


def test_concentration_with_fewer_customers_than_top_n():
    owed = pd.Series({"a": 10.0, "b": 0.0, "c": 5.0})
    sales = pd.Series({"a": 1.0, "b": 100.0, "c": 0.0})
    c = credit.receivables_concentration(owed, sales, top_debtors=100, key_customers=1)
    # b owes nothing and c sold nothing: debtors a, c; the one key customer is b
    assert (c["top_debtors"], c["key_customers"], c["overlap"], c["overlap_owed"]) == (2, 1, 0, 0.0)


def test_concentration_vs_case_quotes_the_source():
    owed, sales = _case_3_book()
    t = credit.concentration_vs_case(credit.receivables_concentration(owed, sales)).set_index(
        "figure_source"
    )
    assert t.loc["case_figure", ["overlap", "overlap_owed", "top_debtors_owed"]].tolist() == [
        76,
        3_200_000,
        7_800_000,
    ]
    assert t.loc["case_figure", "overlap_share_of_top"] == pytest.approx(3.2 / 7.8)  # 41%
    assert t.loc["our_figure", "overlap"] == 76


# -------------------------------------------------------------------- ledger
def test_case_adjustment_balances():
    r = credit.check_adjustments(credit.CASE_3_ADJUSTMENT)
    # C7 +100,000 = B117 20,000 + C3 30,000 + D24 50,000
    assert (r["raised"], r["cut"], r["net"], r["balanced"]) == (100_000, -100_000, 0, True)
    assert r["message"] == "adjustments balance: +100,000 raised vs -100,000 cut"


def test_unbalanced_adjustment_names_the_imbalance():
    bad = {**credit.CASE_3_ADJUSTMENT, "D24": -40_000}
    with pytest.raises(
        ValueError,
        match="adjustments do not balance: [+]100,000 raised vs -90,000 cut, net [+]10,000",
    ):
        credit.check_adjustments(bad)
    r = credit.check_adjustments(bad, strict=False)
    assert r["balanced"] is False and r["net"] == 10_000


def test_over_cut_adjustment_shows_a_negative_net():
    with pytest.raises(ValueError, match="net -5,000"):
        credit.check_adjustments({"C7": 100_000, "B117": -105_000})


def test_adjustments_as_a_table():
    table = pd.DataFrame(
        {
            "customer_id": list(credit.CASE_3_ADJUSTMENT),
            "limit_change": list(credit.CASE_3_ADJUSTMENT.values()),
        }
    )
    assert credit.check_adjustments(table)["balanced"]
    ledger = credit.adjustment_ledger(table)
    assert ledger["customer_id"].tolist() == ["C7", "B117", "C3", "D24"]
    assert ledger["limit_direction"].tolist() == ["limit_raise"] + ["limit_cut"] * 3
    with pytest.raises(ValueError, match="Required column limit_change missing"):
        credit.check_adjustments(table.rename(columns={"limit_change": "amount"}))


def test_apply_adjustments_keeps_the_total():
    limits = pd.DataFrame(
        {
            "customer_id": ["C7", "B117", "C3", "D24", "A1"],
            "new_credit_limit": [200_000.0, 100_000.0, 80_000.0, 60_000.0, 500_000.0],
        }
    )
    out = credit.apply_adjustments(limits, credit.CASE_3_ADJUSTMENT).set_index("customer_id")
    assert out["new_credit_limit"].to_dict() == {
        "C7": 300_000,
        "B117": 80_000,
        "C3": 50_000,
        "D24": 10_000,
        "A1": 500_000,
    }
    assert out["new_credit_limit"].sum() == limits["new_credit_limit"].sum()
    assert limits["new_credit_limit"].tolist()[0] == 200_000  # input untouched
    with pytest.raises(ValueError, match=r"customers without a limit: \['X9'\]"):
        credit.apply_adjustments(limits, {"X9": 10.0, "A1": -10.0})
    with pytest.raises(ValueError, match=r"below zero the limit of \['D24'\]"):
        credit.apply_adjustments(limits, {"A1": 70_000, "D24": -70_000})
    with pytest.raises(ValueError, match="do not balance"):
        credit.apply_adjustments(limits, {"A1": 1_000})


# ---------------------------------------------------------------- governance
def _entry(changes, quarter="2025Q4", **roles):
    chain = {"raised_by": "sales_director", "approved_by": "ceo", "filed_with": "cfo", **roles}
    return {"quarter": quarter, **chain, "changes": changes}


def test_case_ledger_is_approved_and_shows_the_chain():
    v = credit.check_ledger(
        credit.CASE_3_LEDGER, payers=credit.CASE_3_PAYERS, default_quarter="2025Q4"
    )
    assert v["approved"] and v["balanced"] and v["net"] == 0 and v["problems"] == []
    chain = credit.approval_chain(credit.CASE_3_LEDGER, default_quarter="2025Q4")
    assert chain["approval_step"].tolist() == ["raised_by", "approved_by", "filed_with"]
    assert (
        chain["required_role"].tolist() == ["sales_director", "ceo", "cfo"]
        and chain["step_ok"].all()
    )
    lines = credit.ledger_lines(
        credit.CASE_3_LEDGER, payers=credit.CASE_3_PAYERS, default_quarter="2025Q4"
    )
    assert lines.set_index("customer_id")["payment_record"].to_dict() == credit.CASE_3_PAYERS
    assert (lines["quarter"] == "2025Q4").all()


def test_raising_a_poor_payer_fails_with_a_clear_message():
    bad = [_entry({"D24": 50_000, "C7": -50_000})]
    with pytest.raises(
        ValueError,
        match="raises D24 by 50,000 but D24 is a poor payer: raises go to good payers only",
    ):
        credit.check_ledger(bad, payers=credit.CASE_3_PAYERS)
    unknown = [_entry({"X9": 10_000, "C7": -10_000})]
    with pytest.raises(ValueError, match="X9 is a customer with no payment record"):
        credit.check_ledger(unknown, payers=credit.CASE_3_PAYERS)


def test_a_second_adjustment_in_a_quarter_fails():
    twice = [_entry(dict(credit.CASE_3_ADJUSTMENT)), _entry({"C7": 10_000, "C3": -10_000})]
    with pytest.raises(
        ValueError, match="2 adjustments in 2025Q4: limits may be adjusted only once a quarter"
    ):
        credit.check_ledger(twice, payers=credit.CASE_3_PAYERS)
    # one in each of two quarters is fine
    spread = [
        _entry(dict(credit.CASE_3_ADJUSTMENT), "2025Q3"),
        _entry({"C7": 10_000, "C3": -10_000}, "2025Q4"),
    ]
    assert credit.check_ledger(spread, payers=credit.CASE_3_PAYERS)["approved"]


def test_a_missing_approval_fails_and_every_broken_rule_is_listed():
    bad = [_entry({"C7": 100_000, "D24": -90_000}, approved_by="", filed_with="sales_director")]
    v = credit.check_ledger(bad, payers=credit.CASE_3_PAYERS, strict=False)
    assert not v["approved"] and not v["balanced"] and v["net"] == 10_000
    assert v["problems"] == [
        "adjustment 1 (2025Q4) must be approved by the CEO (approved_by is missing)",
        "adjustment 1 (2025Q4) must be filed with the CFO (filed_with is 'sales_director')",
        "adjustment 1 (2025Q4): adjustments do not balance: +100,000 raised vs -90,000 cut, net +10,000",
    ]
    assert v["message"].startswith(
        "adjustment ledger breaks the rules: adjustment 1 (2025Q4) must be approved"
    )
    with pytest.raises(ValueError, match=r"must be approved by the CEO \(approved_by is missing\)"):
        credit.check_ledger(bad, payers=credit.CASE_3_PAYERS)
    assert (
        not credit.approval_chain(bad)
        .set_index("approval_step")["step_ok"]
        .to_dict()["approved_by"]
    )


def test_payment_records_from_credit_grades():
    grades = pd.Series({"a": "A", "b": "B", "c": "C", "d": "D", "e": np.nan})
    assert credit.payment_records(grades) == {"a": "good", "b": "good", "c": "poor", "d": "poor"}
    with pytest.raises(ValueError, match="must be a mapping with 'quarter'"):
        credit.check_ledger([{"C7": 1}])


# ------------------------------------------------------------- page 07's steps
def test_with_credit_grades_keeps_the_classes_and_leaves_the_ungraded_blank():
    classes = pd.DataFrame({"customer_id": ["B", "A", "C"], "credit_class": ["A", "B", "D"]})
    grades = pd.DataFrame(
        {
            "customer_id": ["A", "B", "X"],
            "credit_grade": ["C", "A", "D"],
            "credit_points": [2, 4, 1],
        }
    )
    out = credit.with_credit_grades(classes, grades)
    assert out["customer_id"].tolist() == ["B", "A", "C"]  # the classes' order, best first
    assert out["credit_grade"].tolist()[:2] == ["A", "C"] and pd.isna(out["credit_grade"].iloc[2])
    assert list(out.columns) == ["customer_id", "credit_class", "credit_grade"]
    with pytest.raises(ValueError, match="credit_grade missing from the credit grades"):
        credit.with_credit_grades(classes, grades.drop(columns="credit_grade"))


def test_ledger_payers_grades_first_then_the_given_records():
    # C7 was given as good but its grade C says poor; Y graded A is good; Z has no grade, so the
    # given record stands; X is only given
    grades = pd.DataFrame({"customer_id": ["C7", "Y", "Z"], "credit_grade": ["C", "A", np.nan]})
    given = {"C7": "good", "X": "poor", "Z": "good"}
    assert credit.ledger_payers(grades, given) == {
        "C7": "poor",
        "X": "poor",
        "Z": "good",
        "Y": "good",
    }
    assert credit.ledger_payers(None, given) == given
    assert credit.ledger_payers(grades, None, good_grades=["A", "B", "C"]) == {
        "C7": "good",
        "Y": "good",
    }
