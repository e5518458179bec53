"""The notebook context: loading, quarter, skip notes and recorded numbers."""

import json

import pytest

from analysis.report.context import setup


def test_setup_resolves_the_latest_quarter_and_records(tiny_tx_dir, tmp_path):
    ctx = setup("99_test", data_dir=str(tiny_tx_dir), lang="en", output_dir=str(tmp_path))
    assert str(ctx.quarter) == "2025Q4" and ctx.t("sales") == "Sales"
    assert ctx.needs("1 overview", column="amount") is True
    assert ctx.needs("6 credit grades", table="receivables") is False
    assert ctx.needs("4 by channel", column="channel", column_table="customers") is False
    assert (
        ctx.record({"n": 3}) is None
    )  # a cell's last expression: nothing (no staging path) on the page
    saved = json.loads((tmp_path / "summary" / "99_test.json").read_text())
    assert saved["n"] == 3 and saved["quarter"] == "2025Q4"
    assert saved["skipped_sections"] == [
        {"section": "6 credit grades", "needs": "table 'receivables'"},
        {"section": "4 by channel", "needs": "column 'channel' in customers"},
    ]


def test_skip_note_names_the_section(tiny_tx_dir, tmp_path, capsys):
    ctx = setup("99_test", data_dir=str(tiny_tx_dir), lang="zh", output_dir=str(tmp_path))
    assert (
        ctx.t("section_skipped", section="8 服务", needs="table 'interactions'")
        == "已跳过（8 服务）：需要table 'interactions'。"
    )


def test_unknown_language_is_refused(tiny_tx_dir):
    with pytest.raises(ValueError, match="expected one of zh, en"):
        setup("99_test", data_dir=str(tiny_tx_dir), lang="fr")


def test_skip_note_names_a_section_key_in_the_page_language(tiny_tx_dir, tmp_path):
    from analysis.report.context import skip_note

    for lang, note in {
        "zh": "已跳过（6. 信用等级）：需要应收账款数据（receivables 表）。",
        "en": "Skipped (6. Credit grades): needs table 'receivables'.",
    }.items():
        ctx = setup("99_test", data_dir=str(tiny_tx_dir), lang=lang, output_dir=str(tmp_path))
        assert ctx.needs("sec_credit_grades", table="receivables") is False
        # the record is the same in both languages: the key and what is missing
        assert ctx.skipped == [{"section": "sec_credit_grades", "needs": "table 'receivables'"}]
        assert skip_note(ctx.skipped[0], lang) == note
    assert skip_note(
        {"section": "sec_firm_class", "needs": "column 'monthly_fee' in customers"}, "zh"
    ) == ("已跳过（6. 本公司的价值挖掘类客户）：需要客户资料（customers 表）中的 monthly_fee 列。")
    # a section that is no label key, and a need in other words, are shown as given
    assert skip_note({"section": "4 by channel", "needs": "more data"}, "en") == (
        "Skipped (4 by channel): needs more data."
    )


def test_a_skip_in_other_words_keeps_the_record_and_shows_the_page_language(tiny_tx_dir, tmp_path):
    from analysis.report.context import skip_note

    ctx = setup("99_test", data_dir=str(tiny_tx_dir), lang="zh", output_dir=str(tmp_path))
    ctx.skip(
        "sec_value_forecast",
        "transactions from 2024-11-03 or earlier",
        note="2024-11-03 或更早的交易数据",
    )
    assert ctx.skipped == [
        {
            "section": "sec_value_forecast",
            "needs": "transactions from 2024-11-03 or earlier",
            "needs_text": "2024-11-03 或更早的交易数据",
        }
    ]
    assert (
        skip_note(ctx.skipped[0], "zh")
        == "已跳过（1–4. 客户价值预测）：需要2024-11-03 或更早的交易数据。"
    )
