"""Customer classes: every rule with hand-computed expectations (ties, one customer, zeros, negatives)."""

import numpy as np
import pandas as pd
import pytest

from analysis.classify.classes import (
    abc_classes,
    abc_summary,
    class_migration,
    credit_grades,
    credit_sales_cross,
    credit_terms,
    key_customer_share,
    largest_moves,
    loyalty_scores,
    migration_matrix,
    months_active,
    pyramid_tiers,
    rfm_scores,
    rfm_segments,
    sales_loyalty_quadrants,
    tier_summary,
)


def frame(values, ids=None, col="monetary"):
    ids = ids or [f"c{i}" for i in range(1, len(values) + 1)]
    return pd.DataFrame({"customer_id": ids, col: [float(v) for v in values]})


def classes(out):
    return dict(zip(out["customer_id"], out["abc_class"]))


# ------------------------------------------------------------------ ABC
def test_abc_seed_cutoffs_and_the_crossing_customer_is_in_a():
    # larger customers hold 0, 50%, 80%, 95% -> A, A (crosses 75%: in A), B, C (95% reached)
    out = abc_classes(frame([5, 50, 15, 30]), "monetary")
    assert out["customer_id"].tolist() == ["c2", "c4", "c3", "c1"]
    assert out["abc_class"].tolist() == ["A", "A", "B", "C"]
    assert out["rank"].tolist() == [1, 2, 3, 4]
    assert out["cum_share"].tolist() == pytest.approx([0.5, 0.8, 0.95, 1.0])
    assert out["share"].tolist() == pytest.approx([0.5, 0.3, 0.15, 0.05])


def test_abc_cutoffs_075_and_080_differ_where_they_should():
    # 40, 36, 14, 10: larger ones hold 0, 40%, 76%, 90%
    df = frame([40, 36, 14, 10])
    assert abc_classes(df, "monetary")["abc_class"].tolist() == ["A", "A", "B", "B"]
    assert abc_classes(df, "monetary", cutoffs=(0.8, 0.95))["abc_class"].tolist() == [
        "A",
        "A",
        "A",
        "B",
    ]


def test_abc_share_exactly_at_the_cutoff_has_reached_it():
    # 75, 20, 5: the second customer has exactly 75% above it -> B; the third 95% above -> C
    assert abc_classes(frame([75, 20, 5]), "monetary")["abc_class"].tolist() == ["A", "B", "C"]
    # .17 + .17 + .16 + .14 + .11 sums to 0.7499999999999999 in floating point: still "reached"
    out = abc_classes(frame([0.17, 0.17, 0.16, 0.14, 0.11, 0.1, 0.1, 0.05]), "monetary")
    assert out["abc_class"].tolist() == ["A"] * 5 + ["B", "B", "C"]


def test_abc_ties_share_a_class_whatever_the_ids():
    # 70 holds 70% < 75%: each 10 has only the 70 above it -> all A
    assert set(abc_classes(frame([70, 10, 10, 10]), "monetary")["abc_class"]) == {"A"}
    # 30, 30, 30, 10: nothing above the 30s -> A; 90% above the 10 -> B
    out = abc_classes(frame([30, 10, 30, 30], ids=["z", "a", "m", "b"]), "monetary")
    assert classes(out) == {"z": "A", "m": "A", "b": "A", "a": "B"}
    assert out["customer_id"].tolist() == ["b", "m", "z", "a"]  # equal values ordered by id


def test_abc_ties_straddling_the_b_cutoff():
    # 60, 30, 5, 5: the 5s have 90% above -> B (both), not one B and one C
    assert abc_classes(frame([60, 30, 5, 5]), "monetary")["abc_class"].tolist() == [
        "A",
        "A",
        "B",
        "B",
    ]


def test_abc_one_customer_is_a():
    out = abc_classes(frame([123.0]), "monetary")
    assert out["abc_class"].tolist() == ["A"]
    assert out["share"].tolist() == [1.0] and out["cum_share"].tolist() == [1.0]


def test_abc_all_zero_sales_are_c_without_shares():
    out = abc_classes(frame([0, 0, 0]), "monetary")
    assert out["abc_class"].tolist() == ["C", "C", "C"]
    assert out["share"].isna().all() and out["cum_share"].isna().all()


def test_abc_negative_totals_are_c_and_shares_are_of_net_sales():
    # positive total 150: the 50 has 100/150 = 67% above -> A; -30 and 0 bring nothing -> C
    out = abc_classes(frame([100, 50, -30, 0]), "monetary")
    assert classes(out) == {"c1": "A", "c2": "A", "c3": "C", "c4": "C"}
    # share of net sales 120; cumulative line on the positive total 150
    assert out.set_index("customer_id").loc["c1", "share"] == pytest.approx(100 / 120)
    assert out["cum_share"].tolist() == pytest.approx([100 / 150, 1.0, 1.0, 1.0])


def test_abc_summary_counts_and_shares():
    s = abc_summary(abc_classes(frame([5, 50, 15, 30]), "monetary")).set_index("abc_class")
    assert s["count"].tolist() == [2, 1, 1]
    assert s["count_share"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert s["monetary"].tolist() == pytest.approx([80, 15, 5])
    assert s["monetary_share"].tolist() == pytest.approx([0.8, 0.15, 0.05])


def test_abc_summary_with_returns_and_an_empty_class():
    s = abc_summary(abc_classes(frame([100, 50, -30]), "monetary")).set_index("abc_class")
    assert s.loc["B", "count"] == 0 and s.loc["B", "monetary"] == 0
    # net total 120: A holds 150/120, C -30/120
    assert s["monetary_share"].tolist() == pytest.approx([1.25, 0.0, -0.25])


def test_abc_is_generic_for_products_and_gross_profit():
    df = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "gross_profit": [1.0, 8.0, 1.0]})
    out = abc_classes(
        df, "gross_profit", id_col="product_id", class_col="product_class", cutoffs=(0.8, 0.95)
    )
    # 8 of 10 above the 1s = 80% -> B for both tied products
    assert dict(zip(out["product_id"], out["product_class"])) == {"p2": "A", "p1": "B", "p3": "B"}


def test_abc_does_not_modify_its_input():
    df = frame([3, 1, 2])
    before = df.copy()
    abc_classes(df, "monetary")
    pd.testing.assert_frame_equal(df, before)


def test_abc_validation_messages():
    with pytest.raises(ValueError, match=r"0 < A < B <= 1"):
        abc_classes(frame([1, 2]), "monetary", cutoffs=(0.95, 0.75))
    with pytest.raises(ValueError, match="two cumulative shares"):
        abc_classes(frame([1, 2]), "monetary", cutoffs=(0.75,))
    with pytest.raises(ValueError, match="unique"):
        abc_classes(frame([1, 2], ids=["x", "x"]), "monetary")
    with pytest.raises(KeyError, match="Required column gross_profit missing"):
        abc_classes(frame([1, 2]), "gross_profit")
    with pytest.raises(ValueError, match="has no values"):
        abc_classes(frame([np.nan, np.nan], col="gross_profit"), "gross_profit")


def test_abc_empty_table():
    out = abc_classes(frame([]), "monetary")
    assert len(out) == 0 and "abc_class" in out.columns


# ------------------------------------------------------------------ pyramid
def test_pyramid_key_customers_are_the_top_twenty_percent_by_default():
    # 《客户分类案例》: the key customers (重要 + 次要客户) are the top 20% of customers.
    # 100 customers 100..1: bounds 0.01*100 = 1, 0.20*100 = 20, 0.50*100 = 50 customers ranked above
    out = pyramid_tiers(frame(range(100, 0, -1)), "monetary")
    assert out["tier"].value_counts().to_dict() == {
        "small": 50,
        "ordinary": 30,
        "secondary": 19,
        "important": 1,
    }
    assert out["key_customer"].sum() == 20 and out["key_customer"].head(20).all()
    assert out.loc[19, "tier"] == "secondary" and out.loc[20, "tier"] == "ordinary"
    # 20 customers: 0.01 x 20 = 0.2, so only the largest (nobody above it) is important; 4 key in all
    out = pyramid_tiers(frame(range(20, 0, -1)), "monetary")
    assert out["tier"].value_counts().to_dict() == {
        "small": 10,
        "ordinary": 6,
        "secondary": 3,
        "important": 1,
    }
    assert out["key_customer"].tolist() == [True] * 4 + [False] * 16


def test_pyramid_split_is_a_parameter():
    out = pyramid_tiers(
        frame(range(20, 0, -1)),
        "monetary",
        key_share=0.25,
        important_share=0.05,
        ordinary_share=0.25,
    )
    assert out["tier"].value_counts().to_dict() == {
        "small": 10,
        "ordinary": 5,
        "secondary": 4,
        "important": 1,
    }
    assert key_customer_share(out, "monetary") == {
        "key_customers": 5,
        "key_count_share": 0.25,
        "key_value_share": pytest.approx((20 + 19 + 18 + 17 + 16) / 210),
    }


def test_pyramid_ties_one_customer_zero_and_negative():
    # two equal top customers both have nobody above -> both important
    out = pyramid_tiers(frame([50, 50] + [1] * 198), "monetary")
    assert out["tier"].tolist()[:2] == ["important", "important"]
    assert pyramid_tiers(frame([7]), "monetary")["tier"].tolist() == ["important"]
    assert set(pyramid_tiers(frame([0, 0]), "monetary")["tier"]) == {"small"}
    out = pyramid_tiers(
        frame([10, -5, 3, 2]), "monetary", key_share=0.5, important_share=0.25, ordinary_share=0.25
    )
    assert out["tier"].tolist() == ["important", "small", "secondary", "ordinary"]
    assert out["tier_rank"].tolist() == [1, 4, 2, 3]


def test_pyramid_rejects_bad_shares():
    with pytest.raises(ValueError, match="at most 1"):
        pyramid_tiers(
            frame([1, 2]), "monetary", key_share=0.5, important_share=0.1, ordinary_share=0.6
        )
    with pytest.raises(ValueError, match="part of the key customers"):
        pyramid_tiers(frame([1, 2]), "monetary", important_share=0.3)
    with pytest.raises(ValueError, match="key_share"):
        pyramid_tiers(frame([1, 2]), "monetary", key_share=0.0)


def test_tier_summary_count_and_profit_pyramids():
    df = frame([10, -5, 3, 2]).assign(gross_profit=[4.0, -1.0, 1.0, 1.0])
    s = tier_summary(
        pyramid_tiers(df, "gross_profit", key_share=0.5, important_share=0.25, ordinary_share=0.25)
    ).set_index("tier")
    assert s.index.tolist() == ["important", "secondary", "ordinary", "small"]
    # by profit 4, -1, 1, 1: the two 1s both have one customer above (< 0.5 x 4) -> both secondary
    assert s["count"].tolist() == [1, 2, 0, 1]
    assert s["count_share"].tolist() == pytest.approx([0.25, 0.5, 0.0, 0.25])
    assert s["gross_profit"].tolist() == pytest.approx([4.0, 2.0, 0.0, -1.0])
    assert s["gross_profit_share"].tolist() == pytest.approx([4 / 5, 2 / 5, 0.0, -1 / 5])


# ------------------------------------------------------------------ loyalty and quadrants
def test_months_active_counts_distinct_purchase_months_in_the_window():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2025-01-02", "2025-01-20", "2025-02-03", "2025-03-09", "2024-12-31", "2025-02-10"]
            ),
            "amount": [5.0, 6.0, -2.0, 1.0, 9.0, -4.0],
        }
    )
    out = months_active(tx, "2025-01-01", "2025-04-01")
    # a: Jan (twice) and Mar; Feb is only a return, Dec 2024 is outside; b has only a return
    assert out.to_dict("list") == {"customer_id": ["a"], "months_active": [2]}


def test_loyalty_is_mean_of_tenure_and_activity_scores():
    df = pd.DataFrame({"months_active": [6, 12, np.nan], "tenure_days": [365, 1000, np.nan]})
    out = loyalty_scores(df)
    # (365/730 + 6/12) / 2 = 0.5; (1 capped + 1) / 2 = 1; missing -> 0
    assert out["loyalty"].tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert out["tenure_score"].tolist() == pytest.approx([0.5, 1.0, 0.0])


def test_sales_loyalty_quadrants_with_median_splits():
    df = frame([100, 50, 10, 0]).assign(loyalty=[0.8, 0.2, 0.9, 0.1])
    out = sales_loyalty_quadrants(df)
    # median sales of 100, 50, 10, 0 = 30; median loyalty of .8, .2, .9, .1 = .5
    assert out["quadrant"].tolist() == ["A", "B", "C", "D"]
    assert out["sales_split"].iloc[0] == pytest.approx(30.0)
    assert out["loyalty_split"].iloc[0] == pytest.approx(0.5)
    # a fixed loyalty split: .8 and .9 loyal only at or above .85 -> .8 no longer loyal
    out = sales_loyalty_quadrants(df, loyalty_split=0.85)
    assert out["quadrant"].tolist() == ["B", "B", "C", "D"]


def test_quadrants_all_zero_sales_are_never_high_and_ties_share():
    df = frame([0, 0, 0]).assign(loyalty=[0.5, 0.49, 1.0])
    assert sales_loyalty_quadrants(df)["quadrant"].tolist() == ["C", "D", "C"]
    # equal sales at the median are high; equal loyalty at its median is loyal
    df = frame([5, 5, 1]).assign(loyalty=[0.1, 0.1, 0.1])
    assert sales_loyalty_quadrants(df)["quadrant"].tolist() == ["A", "A", "C"]
    assert sales_loyalty_quadrants(df, loyalty_split=0.5)["quadrant"].tolist() == ["B", "B", "D"]


# ------------------------------------------------------------------ credit
def test_credit_terms_are_median_days_to_due():
    rec = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "invoice_date": pd.to_datetime(
                ["2025-01-31", "2025-02-28", "2025-03-31", "2025-01-31"]
            ),
            "due_date": pd.to_datetime(["2025-03-02", "2025-04-29", "2025-04-30", pd.NaT]),
        }
    )
    out = credit_terms(rec).set_index("customer_id")["terms_days"]
    # a: 30, 60, 30 -> median 30; b has no due date
    assert out["a"] == 30 and np.isnan(out["b"])


def test_credit_grades_worse_of_days_beyond_terms_and_overdue_rate():
    ind = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "collection_days": [35, 100, 50, np.nan, np.nan, 61],
            "terms_days": [30, 90, 30, 30, np.nan, 30],
            "invoiced": [1000, 1000, 1000, 0, 0, 1000],
            "overdue": [0, 100, 20, 500, 0, 0],
        }
    )
    out = credit_grades(ind).set_index("customer_id")
    # c1: 5 days late (A), 0% overdue (A) -> A;  c2: 10 days (B), 10% (B) -> B
    # c3: 20 days (C), 2% (A) -> C;  c4: no receipts, 500 overdue without invoicing -> rate 1 -> D
    # c5: nothing at all -> unrated;  c6: 61 - 30 = 31 days beyond terms -> D
    assert out["credit_grade"].drop("c5").tolist() == ["A", "B", "C", "D", "D"]
    assert pd.isna(out.loc["c5", "credit_grade"])
    assert out["credit_points"].drop("c5").tolist() == [4, 3, 2, 1, 1]
    assert out.loc["c2", "overdue_rate"] == pytest.approx(0.1)
    assert out.loc["c4", "overdue_rate"] == 1.0


def test_credit_grades_boundaries_and_raw_days():
    ind = pd.DataFrame(
        {"collection_days": [30, 31, 60, 90, 91], "invoiced": [1.0] * 5, "overdue": [0.0] * 5}
    )
    # no terms: raw collection days against 30/60/90; a value equal to a limit earns that grade
    out = credit_grades(ind, days_limits=(30, 60, 90), terms_col=None)
    assert out["credit_grade"].tolist() == ["A", "B", "B", "C", "D"]
    # terms column absent: the default terms (30) are assumed
    out = credit_grades(ind, days_limits=(0, 30, 60))
    assert out["credit_grade"].tolist() == ["A", "B", "B", "C", "D"]
    with pytest.raises(ValueError, match="three increasing numbers"):
        credit_grades(ind, days_limits=(60, 30, 90))


def test_credit_sales_cross():
    df = pd.DataFrame(
        {"credit_grade": ["A", "D", "B", "C", np.nan], "abc_class": ["A", "A", "C", "B", "A"]}
    )
    out = credit_sales_cross(df)["credit_sales"].tolist()
    assert out[:4] == [
        "both_good",
        "strong_sales_poor_credit",
        "good_credit_weak_sales",
        "both_weak",
    ]
    assert pd.isna(out[4])


# ------------------------------------------------------------------ RFM
def rfm_frame():
    return pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "recency_days": [1, 10, 10, 50, np.nan],
            "frequency": [5, 4, 3, 2, 0],
            "monetary": [100, 80, 60, 40, -20],
        }
    )


def test_rfm_scores_hand_computed_with_ties_and_never_bought():
    out = rfm_scores(rfm_frame())
    # R goodness -1, -10, -10, -50, -inf: ranks 5, 3.5, 3.5, 2, 1 -> pct 1, .7, .7, .4, .2 -> ceil(5 pct)
    assert out["r_score"].tolist() == [5, 4, 4, 2, 1]
    assert out["f_score"].tolist() == [5, 4, 3, 2, 1]
    assert out["m_score"].tolist() == [5, 4, 3, 2, 1]  # the net-negative customer ranks lowest
    assert out["rfm_code"].tolist() == ["555", "444", "433", "222", "111"]


def test_rfm_one_customer_and_all_equal():
    one = rfm_scores(rfm_frame().head(1))
    assert one["rfm_code"].tolist() == ["555"]
    # five equal customers share the average rank 3 of 5 -> pct 0.6 -> 3
    eq = pd.DataFrame({"recency_days": [7] * 5, "frequency": [1] * 5, "monetary": [0.0] * 5})
    assert set(rfm_scores(eq)["rfm_code"]) == {"333"}
    # the rows share their code's one text (half a million customers held a string each)
    codes = rfm_scores(pd.concat([eq] * 3, ignore_index=True))["rfm_code"]
    assert codes.dtype == object and len({id(v) for v in codes.to_numpy()}) == 1


def test_rfm_segments():
    out = rfm_segments(rfm_scores(rfm_frame()))
    assert out["rfm_segment"].tolist() == [
        "important_value",
        "important_value",
        "general_develop",
        "general_winback",
        "general_winback",
    ]
    out = rfm_segments(
        pd.DataFrame({"r_score": [1, 5, 1], "f_score": [5, 1, 1], "m_score": [5, 5, 5]})
    )
    assert out["rfm_segment"].tolist() == [
        "important_retain",
        "important_develop",
        "important_winback",
    ]


# ------------------------------------------------------------------ migration
def moves():
    before = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "abc_class": ["A", "B", "C", "A"],
            "monetary": [100.0, 40.0, 5.0, 80.0],
        }
    )
    after = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c5"],
            "abc_class": ["B", "A", "C", "A"],
            "monetary": [50.0, 90.0, 6.0, 70.0],
        }
    )
    return class_migration(before, after, value_col="monetary")


def test_class_migration_directions():
    m = moves().set_index("customer_id")
    assert m["move"].to_dict() == {
        "c1": "down",
        "c2": "up",
        "c3": "same",
        "c4": "left",
        "c5": "entered",
    }
    assert m.loc["c4", "class_after"] == "none" and m.loc["c5", "class_before"] == "none"
    assert m.loc["c4", "change"] == -80 and m.loc["c5", "change"] == 70


def test_migration_matrix_counts():
    mat = migration_matrix(moves())
    assert mat.index.tolist() == ["A", "B", "C", "none"] and mat.columns.tolist() == [
        "A",
        "B",
        "C",
        "none",
    ]
    assert mat.loc["A", "B"] == 1 and mat.loc["B", "A"] == 1 and mat.loc["C", "C"] == 1
    assert mat.loc["A", "none"] == 1 and mat.loc["none", "A"] == 1
    assert int(mat.to_numpy().sum()) == 5


def test_largest_moves_up_and_down():
    up = largest_moves(moves(), direction="up", n=1)
    assert up["customer_id"].tolist() == ["c5"]  # +70 entered beats +50 up
    down = largest_moves(moves(), direction="down")
    assert down["customer_id"].tolist() == ["c4", "c1"]  # -80 left, -50 down
    with pytest.raises(ValueError, match="'up' or 'down'"):
        largest_moves(moves(), direction="sideways")


def test_migration_rejects_unknown_classes():
    a = pd.DataFrame({"customer_id": ["x"], "abc_class": ["Z"]})
    with pytest.raises(ValueError, match="not in order"):
        class_migration(a, a)


# ------------------------------------------------------------------ names
def test_class_names_and_headers_in_both_languages():
    from analysis.classify.classes import class_label, header, label_values

    assert (
        class_label("tier", "important", "zh") == "重要客户"
        and class_label("tier", "secondary", "en") == "Secondary"
    )
    assert class_label("quadrant", "A", "zh").startswith("A 核心客户")
    assert class_label("channel", "批发商", "zh") == "批发商"  # no label: the code itself
    assert class_label("tier", np.nan, "zh") == "–"
    assert label_values(pd.Series(["up", None]), "move", "en").tolist()[0] == "Up"
    assert header("abc_class", "zh") == "ABC类别" and header("customer_id", "en") == "Customer ID"
    assert header("no_such_column", "en") == "no_such_column"
