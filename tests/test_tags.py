"""Tag rules: validation, matching of tag combinations, unapproved tags reported and never used."""

import pandas as pd
import pytest

from analysis.classify.tags import (
    DEFAULT_RULES,
    load_tag_rules,
    parse_tag_rules,
    split_tags,
    tag_class_counts,
    tag_classes,
    unapproved_tags,
)
from analysis.data.sample import TAGS as SAMPLE_TAGS

# 《客户分类管理》's seven tags of a bookkeeping firm; 需出入库单 is a workload tag (case 2's class 4)
BOOKKEEPING_TAGS = [
    "关注外账",
    "需出入库单",
    "有财税意识",
    "稽查经历",
    "暂估较高",
    "高新科技",
    "无票收入高",
]
VALUE_TAGS = [t for t in BOOKKEEPING_TAGS if t != "需出入库单"]


def rules(**extra):
    conf = {
        "approved_tags": {"x": {"en": "X"}, "y": {}, "z": {}, "w": {}},
        "classes": [
            {"key": "both", "zh": "双标签", "en": "Both", "all_of": ["x", "y"]},
            {"key": "two_of", "any_of": ["x", "y", "z"], "min_any": 2, "none_of": ["w"]},
            {"key": "any", "any_of": ["z", "w"]},
        ],
    }
    conf.update(extra)
    return parse_tag_rules(conf)


def test_default_rules_hold_the_value_mining_class_and_sample_tags():
    r = load_tag_rules("")
    assert r.source == DEFAULT_RULES.name
    assert set(BOOKKEEPING_TAGS) | set(SAMPLE_TAGS) <= set(r.approved)
    vm = next(c for c in r.classes if c["key"] == "value_mining")
    assert vm["zh"] == "价值挖掘类客户" and sorted(vm["any_of"]) == sorted(VALUE_TAGS)
    # a tax or advice tag makes a value-mining client
    df = pd.DataFrame({"customer_id": ["a", "b"], "tags": ["稽查经历", "医保定点"]})
    assert tag_classes(df, r)["tag_classes"].tolist() == ["value_mining", ""]


def test_stock_documents_alone_is_a_workload_tag_not_a_value_mining_client():
    # 《客户分类管理》 uses 需出入库单 for workload (case 2's class 4: books and tax with stock documents)
    r = load_tag_rules("")
    df = pd.DataFrame({"customer_id": ["a", "b"], "tags": ["需出入库单", "需出入库单;高新科技"]})
    out = tag_classes(df, r).set_index("customer_id")
    assert (
        out.loc["a", "tag_classes"] == "stock_documents"
        and out.loc["a", "tag_class"] == "stock_documents"
    )
    assert out.loc["b", "tag_classes"] == "value_mining;stock_documents"


def test_matching_all_of_any_of_min_any_and_none_of():
    df = pd.DataFrame(
        {"customer_id": list("abcdef"), "tags": ["x;y", "x;z", "x;z;w", "y", None, "z"]}
    )
    out = tag_classes(df, rules()).set_index("customer_id")
    assert out["tag_classes"].to_dict() == {
        "a": "both;two_of",
        "b": "two_of;any",
        "c": "any",
        "d": "",
        "e": "",
        "f": "any",
    }
    assert out.loc["a", "tag_class"] == "both" and pd.isna(out.loc["d", "tag_class"])


def test_unapproved_tags_are_reported_and_not_used():
    df = pd.DataFrame({"customer_id": ["a", "b", "c"], "tags": ["x；q; y ", "q;r", "y;x"]})
    out = tag_classes(df, rules()).set_index("customer_id")
    # full-width separator and blanks handled; q and r are not approved: listed, not matched
    assert out.loc["a", "approved_tags"] == "x;y" and out.loc["a", "unapproved_tags"] == "q"
    assert out.loc["b", "tag_classes"] == "" and out.loc["b", "unapproved_tags"] == "q;r"
    report = unapproved_tags(df, rules())
    assert report["tag"].tolist() == ["q", "r"] and report["customers"].tolist() == [2, 1]
    assert report.loc[0, "example_customers"] == "a, b"


def test_no_unapproved_tags_gives_an_empty_report():
    df = pd.DataFrame({"customer_id": ["a"], "tags": ["x"]})
    assert unapproved_tags(df, rules()).empty


def test_split_tags_long_format():
    df = pd.DataFrame({"customer_id": ["a", "b"], "tags": ["x;y;x", ""]})
    assert split_tags(df).to_dict("list") == {"customer_id": ["a", "a"], "tag": ["x", "y"]}


def test_class_counts_include_customers_in_no_class():
    df = pd.DataFrame({"customer_id": list("abc"), "tags": ["x;y", "z", "w;q"]})
    counts = tag_class_counts(tag_classes(df, rules()), rules(), lang="en").set_index("tag_class")
    assert counts["customers"].to_dict() == {"both": 1, "two_of": 1, "any": 2, "": 0}
    assert (
        counts.loc["both", "class_name"] == "Both" and counts.loc["", "class_name"] == "In no class"
    )


@pytest.mark.parametrize(
    "conf, msg",
    [
        ({"approved_tags": {"x": {}}}, "two sections"),
        (
            {"approved_tags": {"x": {}}, "classes": [{"zh": "no key", "any_of": ["x"]}]},
            "needs a 'key'",
        ),
        (
            {"approved_tags": {"x": {}}, "classes": [{"key": "k", "any_of": ["nope"]}]},
            "'nope' in any_of is not in approved",
        ),
        ({"approved_tags": {"x": {}}, "classes": [{"key": "k"}]}, "give 'any_of' or 'all_of'"),
        (
            {"approved_tags": {"x": {}}, "classes": [{"key": "k", "any_of": ["x"], "colour": 1}]},
            "unknown field",
        ),
        (
            {
                "approved_tags": {"x": {}},
                "classes": [{"key": "k", "any_of": ["x"]}, {"key": "k", "all_of": ["x"]}],
            },
            "used twice",
        ),
        (
            {"approved_tags": {"x": {}}, "classes": [{"key": "k", "any_of": ["x"], "min_any": 2}]},
            "min_any",
        ),
    ],
)
def test_invalid_rules_are_explained(conf, msg):
    with pytest.raises(ValueError, match=msg):
        parse_tag_rules(conf)


def test_rules_file_read_through_io(tmp_path):
    path = tmp_path / "my_rules.yaml"
    path.write_text(
        "approved_tags: [甲, 乙]\nclasses:\n  - {key: k, zh: 甲类, all_of: [甲]}\n",
        encoding="utf-8",
    )
    r = load_tag_rules(path)
    assert r.source == "my_rules.yaml" and list(r.approved) == ["甲", "乙"]
    assert r.class_name("k", "zh") == "甲类" and r.tag_name("甲", "en") == "甲"
    with pytest.raises(FileNotFoundError):
        load_tag_rules(tmp_path / "missing.yaml")


def test_tag_class_names_for_the_roster():
    from analysis.classify.tags import tag_class_names

    df = pd.DataFrame({"customer_id": ["a", "b"], "tags": ["x;y", ""]})
    named = tag_class_names(tag_classes(df, rules()), rules(), "en")
    assert named.loc[0, "tag_class"] == "Both" and named.loc[0, "tag_classes"] == "Both;two_of"
    assert pd.isna(named.loc[1, "tag_class"]) and named.loc[1, "tag_classes"] == ""
