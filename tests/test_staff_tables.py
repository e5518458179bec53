"""Staff tables (ReportContext.save_table): the CSV holds every row, the Excel copy at most
``excel_max_rows`` with a note on the page and in the file; text stays text in the new writer."""

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.data import io as aio
from analysis.report import context as rc
from analysis.report.context import ReportContext, excel_cut_note, excel_max_rows_setting

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def _ctx(tmp_path, lang="zh", rows=5) -> ReportContext:
    # save_table and show use neither the data nor the quarter
    return ReportContext(
        "99_test", data=None, quarter=None, lang=lang, out=tmp_path, excel_max_rows=rows
    )


def _table(n=12) -> pd.DataFrame:
    """``n`` customers in priority order (largest sales first), as the pages save them."""
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:02d}" for i in range(n)],
            "name": [f"客户{i}" for i in range(n)],
            "sales": [1000.0 - 10 * i for i in range(n)],
        }
    )


@pytest.fixture
def notes(monkeypatch):
    shown = []
    monkeypatch.setattr(rc, "_show_note", shown.append)
    return shown


def _rows(path, sheet=0) -> list[list]:
    ws = openpyxl.load_workbook(path).worksheets[sheet]
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_a_long_table_keeps_every_row_in_csv_and_the_first_rows_in_excel(tmp_path, notes):
    ctx = _ctx(tmp_path, "zh", rows=5)
    assert ctx.save_table(_table(12), "customer_roster") is None
    csv = pd.read_csv(tmp_path / "customer_roster.csv", encoding="utf-8-sig")
    assert len(csv) == 12 and csv["customer_id"].iloc[-1] == "C11"
    book = openpyxl.load_workbook(tmp_path / "customer_roster.xlsx")
    assert book.sheetnames == ["Sheet1", "说明"]
    data = _rows(tmp_path / "customer_roster.xlsx")
    assert data[0] == ["customer_id", "name", "sales"] and len(data) == 1 + 5
    assert [r[0] for r in data[1:]] == ["C00", "C01", "C02", "C03", "C04"]  # the first five
    note = "Excel 文件只含前 5 行（共 12 行）；完整名单见 customer_roster.csv。"
    assert _rows(tmp_path / "customer_roster.xlsx", 1) == [[note]]
    assert notes == [note]  # the same sentence on the page


def test_the_note_in_english_and_with_thousands(tmp_path, notes):
    _ctx(tmp_path, "en", rows=5).save_table(_table(12), "win_back")
    note = "The Excel file holds the first 5 rows (of 12); the full list is in win_back.csv."
    assert notes == [note]
    assert openpyxl.load_workbook(tmp_path / "win_back.xlsx").sheetnames == ["Sheet1", "Note"]
    assert _rows(tmp_path / "win_back.xlsx", 1) == [[note]]
    assert excel_cut_note("customer_roster", 30_000, 512_345, "zh") == (
        "Excel 文件只含前 30,000 行（共 512,345 行）；完整名单见 customer_roster.csv。"
    )


@pytest.mark.parametrize("n", [0, 4, 5])
def test_a_table_within_the_limit_is_whole_and_has_no_note(tmp_path, notes, n):
    _ctx(tmp_path, rows=5).save_table(_table(n), "churn_risk")
    assert openpyxl.load_workbook(tmp_path / "churn_risk.xlsx").sheetnames == ["Sheet1"]
    assert len(_rows(tmp_path / "churn_risk.xlsx")) == 1 + n
    assert notes == []


def test_limit_zero_writes_no_excel_and_removes_an_old_one(tmp_path, notes):
    (tmp_path / "retention_actions.xlsx").write_bytes(b"an earlier run's copy")
    ctx = _ctx(tmp_path, rows=0)
    ctx.save_table(_table(3), "retention_actions")
    assert not (tmp_path / "retention_actions.xlsx").exists()
    assert len(pd.read_csv(tmp_path / "retention_actions.csv", encoding="utf-8-sig")) == 3
    assert notes == [] and ctx.full_lists == {"retention_actions.xlsx": "retention_actions.csv"}


def test_the_page_names_the_csv_as_the_full_list_when_the_excel_copy_is_cut(
    tmp_path, notes, monkeypatch
):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    ctx = _ctx(tmp_path, "zh", rows=5)
    ctx.save_table(_table(12), "customer_roster")
    ctx.show(_table(12), max_rows=3, staff_file="customer_roster.xlsx")
    ctx.show(_table(12), max_rows=3, staff_file="churn_risk.xlsx")  # not cut: named as given
    html = [t.to_html() for t in shown]
    assert "完整名单见 customer_roster.csv" in html[0] and "customer_roster.xlsx" not in html[0]
    assert "完整名单见 churn_risk.xlsx" in html[1]
    # saved again within the limit: the Excel copy is whole again and named again
    ctx.excel_max_rows = 20
    ctx.save_table(_table(12), "customer_roster")
    assert ctx.full_lists == {}


def test_never_more_rows_than_an_excel_sheet_holds(tmp_path, notes, monkeypatch):
    monkeypatch.setattr(aio, "EXCEL_MAX_DATA_ROWS", 3)
    _ctx(tmp_path, "en", rows=10).save_table(_table(5), "t")
    assert len(_rows(tmp_path / "t.xlsx")) == 1 + 3
    assert notes == ["The Excel file holds the first 3 rows (of 5); the full list is in t.csv."]
    with pytest.raises(ValueError, match="do not fit an Excel sheet"):
        aio.write_frame(_table(4), tmp_path / "u.xlsx")  # never cut without a word


def test_the_setting_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(rc.EXCEL_ROWS_ENV, raising=False)
    assert excel_max_rows_setting() == rc.EXCEL_MAX_ROWS == 10_000
    assert excel_max_rows_setting({"CCM_EXCEL_MAX_ROWS": "0"}) == 0
    assert excel_max_rows_setting({"CCM_EXCEL_MAX_ROWS": " 50_000 "}) == 50_000
    for bad in ("-1", "lots", "1.5"):
        with pytest.raises(ValueError, match="CCM_EXCEL_MAX_ROWS=.*whole number from 0"):
            excel_max_rows_setting({"CCM_EXCEL_MAX_ROWS": bad})
    monkeypatch.setenv("CCM_EXCEL_MAX_ROWS", "7")
    assert ReportContext("t", data=None, quarter=None, lang="zh", out=tmp_path).excel_max_rows == 7


def test_text_stays_text_in_the_excel_copy_cut_or_not(tmp_path, notes):
    df = pd.DataFrame(
        {"=1+1": HOSTILE * 2, "sales": [1.0] * 10, "url": ["http://example.com/a"] * 10}
    )
    for rows, name in ((5, "cut"), (100, "whole")):
        _ctx(tmp_path, rows=rows).save_table(df, name)
        book = openpyxl.load_workbook(tmp_path / f"{name}.xlsx")
        cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
        assert [c.coordinate for c in cells if c.data_type == "f"] == []
        ws = book.worksheets[0]
        assert ws["A1"].value == "=1+1" and ws["A1"].data_type == "s"
        assert [ws.cell(i, 1).value for i in range(2, 7)] == HOSTILE
        assert all(ws.cell(i, 1).data_type == "s" for i in range(2, 7))
        assert ws["C2"].value == "http://example.com/a" and ws["C2"].hyperlink is None
        assert ws["B2"].value == 1 and ws["B2"].data_type == "n"


def test_the_writer_keeps_each_kind_of_value(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["00123", None],
            "sales": [np.inf, np.nan],
            "orders": pd.array([3, None], dtype="Int64"),
            "active": [True, False],
            "day": pd.to_datetime(["2025-12-31", None]),
            "mixed": [dt.date(2025, 1, 2), -np.inf],
        }
    )
    ws = openpyxl.load_workbook(aio.write_frame(df, tmp_path / "k.xlsx")).active
    row = [(c.value, c.data_type) for c in ws[2]]
    assert row[:4] == [("00123", "s"), ("inf", "s"), (3, "n"), (True, "b")]  # inf as in the CSV
    assert row[4] == (dt.datetime(2025, 12, 31), "d") and ws["E2"].number_format == "yyyy-mm-dd"
    assert row[5][0] == dt.datetime(2025, 1, 2)
    assert [c.value for c in ws[3]] == [None, None, None, False, None, "-inf"]  # NA: empty cells
