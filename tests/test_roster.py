"""The customer roster: one row per customer, every class joined, labels for staff."""

import pandas as pd
import pytest

from analysis.classify.roster import build_roster, roster_for_staff


def test_build_roster_joins_parts_and_skips_missing_sections():
    base = pd.DataFrame({"customer_id": ["a", "b", "c"], "monetary": [3.0, 2.0, 1.0]})
    abc = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "abc_class": ["A", "B", "C"], "monetary": [9, 9, 9]}
    )
    tiers = pd.DataFrame({"customer_id": ["a", "c"], "tier": ["key", "small"]})
    out = build_roster(base, [abc, None, tiers])
    assert out["customer_id"].tolist() == ["a", "b", "c"]
    assert out["monetary"].tolist() == [
        3.0,
        2.0,
        1.0,
    ]  # a column already present is not taken again
    assert out["tier"].tolist()[0] == "key" and pd.isna(out["tier"].iloc[1])
    assert build_roster(
        base, [abc], columns=["abc_class", "nope", "customer_id"]
    ).columns.tolist() == ["abc_class", "customer_id"]


def test_build_roster_rejects_repeated_customers():
    base = pd.DataFrame({"customer_id": ["a", "b"]})
    with pytest.raises(ValueError, match="more than one row"):
        build_roster(base, [pd.DataFrame({"customer_id": ["a", "a"], "x": [1, 2]})])
    with pytest.raises(ValueError, match="roster base"):
        build_roster(pd.DataFrame({"customer_id": ["a", "a"]}), [])


def test_roster_for_staff_labels_headers_and_values():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "tier": ["important", None],
            "move": ["left", "up"],
            "x": [1, 2],
        }
    )
    zh = roster_for_staff(df, "zh", coded={"tier": "tier", "move": "move"})
    assert zh.columns.tolist() == ["客户编号", "客户层级", "迁移方向", "x"]
    assert zh.iloc[0, 1] == "重要客户" and pd.isna(zh.iloc[1, 1])
    en = roster_for_staff(df, "en", coded={"tier": "tier", "move": "move"})
    assert en.columns.tolist()[:2] == ["Customer ID", "Tier"] and en.iloc[1, 2] == "Up"
