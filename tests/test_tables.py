"""The one table renderer (analysis.viz.tables.show) and the formats in the label files."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

import analysis.viz.labels as labels_mod
from analysis.escaping import NO_MATH_CLASS
from analysis.viz import tables
from analysis.viz.labels import _table, column_format, column_key
from analysis.viz.tables import FORMATS, formatted, labelled, show

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _fresh_page(monkeypatch):
    """Each test is a fresh page: the DataTables library is not embedded yet."""
    monkeypatch.setattr(tables, "_loaded", False)


def _cells(table_html: str) -> list[list[str]]:
    soup = BeautifulSoup(table_html, "html.parser")
    return [[td.get_text() for td in tr.find_all("td")] for tr in soup.find_all("tr")][1:]


# ------------------------------------------------------------------ formats
def test_each_format_by_hand():
    df = pd.DataFrame(
        {
            "sales": [12345.6, -20.0, None],  # money: ¥, thousands, no decimals
            "share": [0.1234, 1.0, None],  # pct: one decimal
            "orders": [1234, 5, 0],  # int: thousands separators
            "lean_index": [1234.5678, 0.005, None],  # dec: two decimals
            "contribution_ratio": [0.01234, 12.3456, None],  # dec3
            "lean_pts": [0.012, -0.0349, None],  # pts: signed points
            "first_date": pd.to_datetime(["2025-01-31", None, "2024-12-01"]),
            "mix_status": ["mix_new", "mix_dropped", "not a key"],  # label
        }
    )
    out = formatted(df, "zh")
    assert out.columns.tolist() == [
        "销售额",
        "占比",
        "订单数",
        "偏好指数",
        "贡献比率",
        "偏离（百分点）",
        "起始日期",
        "状态",
    ]
    assert out.iloc[:, 0].tolist() == ["¥12,346", "-¥20", "–"]
    assert out.iloc[:, 1].tolist() == ["12.3%", "100.0%", "–"]
    assert out.iloc[:, 2].tolist() == ["1,234", "5", "0"]
    assert out.iloc[:, 3].tolist() == ["1,234.57", "0.01", "–"]
    assert out.iloc[:, 4].tolist() == ["0.012", "12.346", "–"]
    assert out.iloc[:, 5].tolist() == ["+1.2 pt", "-3.5 pt", "–"]
    assert out.iloc[:, 6].tolist() == ["2025-01-31", "–", "2024-12-01"]
    assert out.iloc[:, 7].tolist() == ["新增商品", "停售商品", "not a key"]
    more = pd.DataFrame({"a": [0.1234, None], "b": [12.0, None], "c": [True, False]})
    fmts = {"a": "change", "b": "days", "c": "bool"}
    got = {c: tables._format_column(more[c], f, "zh").tolist() for c, f in fmts.items()}
    assert got == {"a": ["+12.3%", "–"], "b": ["12 天", "–"], "c": ["✓", "✗"]}
    assert tables._format_column(more["b"], "days", "en").tolist() == ["12 days", "–"]
    assert tables._format_column(
        pd.Series(["value", "x"]), "label:cls_value_group_", "en"
    ).tolist() == [
        "Value customers",
        "x",
    ]
    assert df["sales"].iloc[0] == 12345.6  # the input is not modified


def test_codes_are_named_and_unknown_codes_kept():
    df = pd.DataFrame({"tier": ["important", "small", None, "odd"], "active_12m": [True] * 4})
    out = formatted(df, "en", prefix="cls_")
    assert out.columns.tolist() == ["Tier", "Active in last 12 months"]
    assert out["Tier"].tolist() == ["Important", "Small", "–", "odd"]
    assert out.iloc[0, 1] == "Yes"


def test_headers_by_prefix_then_plain_then_name():
    df = pd.DataFrame({"count": [1], "no_such_label": [2.5]})
    assert formatted(df, "zh", prefix="cls_").columns.tolist() == ["客户数", "no_such_label"]
    assert formatted(df, "zh").columns.tolist() == ["数量", "no_such_label"]
    assert formatted(df, "zh", prefix="churn_col_").columns.tolist() == ["行数", "no_such_label"]
    # without a fmt a column is shown by its type: 2.5 as a two-decimal number
    assert formatted(df, "zh").iloc[0, 1] == "2.50"
    assert column_key("count", "cls_") == "cls_count" and column_key("nothing") is None
    # a prefixed entry without fmt takes the bare entry's fmt
    assert (
        column_format("decision_keep", "cls_") is None and column_format("sales", "cls_") == "money"
    )


def test_a_named_index_becomes_a_column():
    df = pd.DataFrame({"sales": [1.0]}, index=pd.Index(["C1"], name="customer_id"))
    assert formatted(df, "en").columns.tolist() == ["Customer ID", "Sales"]
    ranked = pd.DataFrame({"sales": [1.0, 2.0]}).sort_values("sales", ascending=False)
    assert formatted(ranked, "en").columns.tolist() == ["Sales"]  # row numbers are not shown


def test_unknown_fmt_is_an_error_naming_the_column(monkeypatch):
    table = {**_table(), "weird_col": {"zh": "怪", "en": "Weird", "fmt": "moneyy"}}
    monkeypatch.setattr(labels_mod, "_table", lambda: table)
    with pytest.raises(ValueError, match=r"column 'weird_col': unknown fmt 'moneyy'.*money, pct"):
        show(pd.DataFrame({"weird_col": [1]}), "zh")


def test_every_fmt_in_the_label_files_is_known():
    known = set(FORMATS) - {"code:<kind>", "label:<prefix>"}
    bad = {
        key: e["fmt"]
        for key, e in _table().items()
        if "fmt" in e
        and e["fmt"] not in known
        and not re.fullmatch(r"(code:\w+|label:\w+)", e["fmt"])
    }
    assert bad == {}


def test_code_formats_name_kinds_that_have_labels():
    kinds = {e["fmt"][5:] for e in _table().values() if str(e.get("fmt", "")).startswith("code:")}
    missing = {k for k in kinds if not any(key.startswith(f"cls_{k}_") for key in _table())}
    assert missing == set()


def test_labelled_names_codes_and_keeps_numbers():
    df = pd.DataFrame({"tier": ["important", None], "monetary": [1234.5, None]})
    out = labelled(df, "zh", prefix="cls_")
    assert out.columns.tolist() == ["客户层级", "销售额"]
    assert out.iloc[0, 0] == "重要客户" and pd.isna(out.iloc[1, 0])
    assert out.iloc[0, 1] == 1234.5 and pd.isna(out.iloc[1, 1])


def test_labelled_rows_share_their_codes_name():
    # a staff table of 500,000 customers held a Python string per row and code column
    df = pd.DataFrame(
        {
            "active_12m": [True, False] * 50,
            "tier": pd.Series(["important", "small", None, "small"] * 25, dtype="str"),
        }
    )
    out = labelled(df, "en", prefix="cls_")
    assert df.columns.tolist() == ["active_12m", "tier"] and df["tier"].dtype == "str"
    for j, names in enumerate([2, 3]):  # two flags; two tiers and the missing value
        assert len({id(v) for v in out.iloc[:, j].to_numpy()}) == names
    assert out.dtypes.tolist() == [object, object]
    assert out.iloc[:4, 1].tolist()[:2] == ["Important", "Small"] and pd.isna(out.iloc[2, 1])


# ------------------------------------------------------------------ the page
def test_a_short_table_is_static_escaped_and_skipped_by_mathjax():
    df = pd.DataFrame({"name": [SCRIPT, "$x$"], "sales": [1.0, 2.0]})
    t = show(df, "zh", caption="<b>cap</b>")
    html = t.to_html()
    assert not t.interactive and "<script" not in html and "ccm-screen-only" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;cap&lt;/b&gt;" in html
    assert f'class="{NO_MATH_CLASS}"' in html
    assert _cells(html) == [[SCRIPT, "¥1"], ["$x$", "¥2"]]


def test_a_long_table_is_interactive_offline_with_a_print_copy():
    df = pd.DataFrame(
        {"customer_id": [f"C{i:02d}" for i in range(30)], "name": [SCRIPT] * 30, "sales": 1.0}
    )
    html = show(df, "en", staff_file="churn_risk.xlsx").to_html()
    soup = BeautifulSoup(html, "html.parser")
    screen, printed = soup.select(".ccm-screen-only"), soup.select(".ccm-print-only")
    assert len(screen) == 1 and len(printed) == 1
    assert "@media print" in html and "@media screen" in html  # the CSS of both classes
    # the print copy: the top 20 rows and where the full list is
    assert len(printed[0].find_all("tr")) == 1 + 20
    assert "Full list: churn_risk.xlsx" in printed[0].get_text()
    # offline: no script loaded from the network, the library embedded once
    assert not [s for s in soup.find_all("script") if s.get("src")]
    assert not re.search(r"https?://", html.replace("http://www.w3.org/", ""))
    assert html.count("_itables_2_") >= 1 and "injectModule" in html
    # every row is in the table's data, and no script on the page carries a call of the payload
    assert all(f"C{i:02d}" in html for i in range(30))
    assert not [s for s in soup.find_all("script") if "alert(" in s.get_text()]
    assert '"search": "Search:"' in html  # the controls speak the page language
    assert '"search": "搜索："' in show(df, "zh").to_html()
    # a second table on the page uses the library already there
    assert "injectModule" not in show(df, "en").to_html()


def test_interactive_can_be_forced_and_max_rows_cuts_the_static_table():
    df = pd.DataFrame({"sales": [3.0, 1.0, 2.0]})
    assert show(df, "zh", interactive=True).interactive
    t = show(pd.DataFrame({"sales": range(30)}), "zh", interactive=False, max_rows=5)
    assert not t.interactive and len(_cells(t.to_html())) == 5
    assert len(show(pd.DataFrame({"sales": range(30)}), "zh", interactive=False).frame) == 30


def test_report_context_shows_in_its_language_and_prefix(monkeypatch):
    from analysis.report import context

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    ctx = context.ReportContext(
        notebook="x", data=None, quarter=None, lang="en", out=None, label_prefix="cls_"
    )
    assert ctx.show(pd.DataFrame({"count": [3], "tier": ["small"]})) is None
    assert shown[0].frame.columns.tolist() == ["Customers", "Tier"]
    assert shown[0].frame.iloc[0].tolist() == ["3", "Small"]
    ctx.show(pd.DataFrame({"count": [3]}), prefix="")
    assert shown[1].frame.columns.tolist() == ["Count"]


def test_table_data_carry_chinese_as_text_and_decode_the_same():
    import json

    from analysis.viz.tables import _unescape_json_text

    inner = json.dumps([["江阴", "¥1", "a\\u6c5f", "\u2028"]])  # a literal backslash-u stays
    outer = json.dumps({"data_json": inner, "caption": "完整"})
    text = _unescape_json_text(outer)
    assert "江阴" in text and "完整" in text and "\\u2028" in text
    assert json.loads(json.loads(text)["data_json"]) == json.loads(inner)
    assert json.loads(text)["caption"] == "完整"
    df = pd.DataFrame({"name": ["江阴乐康"] * 20})
    assert "江阴乐康" in show(df, "zh").to_html().split('class="ccm-print-only"')[0]


def test_the_exported_page_loads_no_script_from_the_network(tmp_path):
    """A report page (nbconvert, the runner's template) with an interactive table: every script
    is inline, and the table's library comes with the page."""
    import nbformat

    from analysis.report.runner import to_html

    t = show(pd.DataFrame({"customer_id": [f"C{i}" for i in range(30)], "sales": 1.0}), "zh")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("ctx.show(df)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": t.to_html()})]
    nb.cells = [nbformat.v4.new_markdown_cell("# 页"), cell]
    nbformat.write(nb, tmp_path / "page.ipynb")
    soup = BeautifulSoup(to_html(tmp_path / "page.ipynb", "zh").read_text(), "html.parser")
    assert [s.get("src") for s in soup.find_all("script") if s.get("src")] == []
    assert soup.select(".ccm-screen-only") and soup.select(".ccm-print-only")
    assert any("injectModule" in s.get_text() for s in soup.find_all("script"))
