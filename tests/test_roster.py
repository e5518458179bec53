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


def _merged(base, parts, columns=None):
    """The roster as a chain of left merges (the definition build_roster keeps)."""
    out = base
    for part in (p for p in parts if p is not None):
        new = [c for c in part.columns if c not in out.columns]
        out = out.merge(part[["customer_id", *new]], on="customer_id", how="left")
    if columns is not None:
        out = out[[c for c in columns if c in out.columns]]
    return out.reset_index(drop=True)


@pytest.mark.parametrize("ids", ["str", object])
def test_build_roster_equals_a_chain_of_left_merges(ids):
    base = pd.DataFrame(
        {"customer_id": ["c", "a", "e", "b"], "n": [1, 2, 3, 4]}, index=[9, 8, 7, 6]
    ).astype({"customer_id": ids})
    parts = [
        pd.DataFrame(  # a customer the base lacks, one it has that is missing here
            {
                "customer_id": pd.Series(["a", "b", "z", "c"], dtype=ids),
                "count": [1, 2, 3, 4],
                "flag": [True, False, True, True],
                "kind": pd.Categorical(["x", "y", "x", "y"]),
            }
        ),
        None,
        pd.DataFrame(
            {
                "customer_id": pd.Series(["e", "a"], dtype=ids),
                "count": [7, 8],
                "label": pd.Series(["p", None], dtype="str"),
                "value": [0.5, 1.5],
            }
        ),
    ]
    for columns in (None, ["label", "customer_id", "count", "flag", "kind", "value"]):
        pd.testing.assert_frame_equal(
            build_roster(base, parts, columns=columns), _merged(base, parts, columns)
        )
    out = build_roster(base, parts)
    assert out["count"].tolist()[:2] == [4.0, 1.0] and pd.isna(out["count"].iloc[2])
    assert out["value"].tolist()[1:3] == [1.5, 0.5]


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
