"""A long table is cut on the page (PAGE_MAX_ROWS) with a note; its staff file keeps every row."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.viz import tables


@pytest.fixture
def long_table(monkeypatch):
    monkeypatch.setattr(tables, "PAGE_MAX_ROWS", 40)
    return pd.DataFrame({"customer_id": [f"C{i:03d}" for i in range(100)], "monetary": range(100)})


def test_interactive_copy_holds_the_first_rows_and_says_so(long_table):
    t = tables.show(long_table, "zh", staff_file="customer_roster.csv")
    assert t.interactive and len(t.frame) == 40
    assert list(t.frame.iloc[:, 0].head(2)) == ["C000", "C001"]
    html = t.to_html()
    assert "本页只列出前 40 行（共 100 行）。" in html
    assert "C039" in html and "C040" not in html
    assert "完整名单见 customer_roster.csv" in html


def test_static_table_is_cut_too_in_english(long_table):
    t = tables.show(long_table, "en", interactive=False)
    assert not t.interactive and len(t.frame) == 40
    assert "This page lists the first 40 rows (of 100)." in t.to_html()


def test_no_note_when_the_page_shows_what_was_asked(long_table):
    short = tables.show(long_table.head(30), "en")
    assert len(short.frame) == 30 and "ccm-page-cut" not in short.to_html()
    top = tables.show(long_table, "en", interactive=False, max_rows=10)  # a top-10 list
    assert "ccm-page-cut" not in top.to_html()
