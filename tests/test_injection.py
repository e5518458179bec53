"""Hostile data values: no script in the report pages, no formula in the Excel/CSV exports.

Issue 15 (items 1 and 2). A customer, product, category or channel name is data the firm
typed in (or received from a customer); the report must show it as text, never run it.
The report test builds the whole quarterly report once on a copy of the sample company
whose names are XSS and CSV/Excel-injection payloads, then checks every page and every
table written for staff.  The unit tests pin each helper that puts data on a page or in a file.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import openpyxl
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis.data import io as aio
from analysis.escaping import (
    NO_MATH_CLASS,
    escape_html,
    escape_markdown,
    neutralise_formula,
    neutralise_formulas,
    plain_labels,
    plain_text,
    styler_label,
)
from analysis.viz.classify import quadrant_chart
from analysis.viz.products import pareto_chart as product_pareto_chart
from analysis.viz.tables import show

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = [
    SCRIPT,
    IMG,
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "\t=1+1",
    "[x](javascript:alert(1))",
    r"$\alert$ x",
    "{0} {name}",
]
# Category and channel payloads keep their original word so that the groups stay apart.
CATEGORY = {
    "保健品": '=HYPERLINK("http://x","保健品")',
    "医疗器械": "<script>alert(1)</script>医疗器械",
    "中成药": "-中成药+1",
}
CHANNEL = {"专营店": "<img src=x onerror=alert(1)>专营店", "特约店": "@特约店"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ------------------------------------------------------------------ the hostile company
def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def make_hostile_copy(sample: Path, dest: Path) -> Path:
    """A copy of the sample company whose names are injection payloads (the sample is never touched)."""
    shutil.copytree(sample, dest)
    cust = _read(dest / "customers.csv")
    ids = {
        c: (f"{c}{SCRIPT}" if i % 10 == 3 else f"@{c}" if i % 10 == 8 else c)
        for i, c in enumerate(cust["customer_id"])
    }
    for table in ("customers", "transactions", "receivables", "interactions"):
        df = _read(dest / f"{table}.csv")
        _write(df.assign(customer_id=df["customer_id"].map(ids)), dest / f"{table}.csv")
    cust = _read(dest / "customers.csv")
    cust["name"] = [f"{HOSTILE[i % len(HOSTILE)]} {i}" for i in range(len(cust))]
    cust["channel"] = cust["channel"].replace(CHANNEL)
    cust["region"] = [
        f"{HOSTILE[i % len(HOSTILE)]}" if i % 7 == 0 else r for i, r in enumerate(cust["region"])
    ]
    cust["tags"] = [f"{t};{SCRIPT}" if i < 8 and t else t for i, t in enumerate(cust["tags"])]
    _write(cust, dest / "customers.csv")
    prod = _read(dest / "products.csv")
    prod["name"] = [f"{HOSTILE[i % len(HOSTILE)]} P{i}" for i in range(len(prod))]
    prod["category"] = prod["category"].replace(CATEGORY)
    _write(prod, dest / "products.csv")
    targets = _read(dest / "targets.csv")
    targets["category"] = targets["category"].replace(CATEGORY)
    _write(targets, dest / "targets.csv")
    return dest


def live_payloads(html: str) -> list[str]:
    """The injected elements a browser would run or load in a page (empty when the page is safe)."""
    soup = BeautifulSoup(html, "html.parser")
    found = [
        f"<script>{s.get_text()[:40]}" for s in soup.find_all("script") if "alert(" in s.get_text()
    ]
    found += [f"<img src={i.get('src')}>" for i in soup.find_all("img") if i.get("src") == "x"]
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on") and "alert(" in text:
                found.append(f"<{tag.name} {attr}>")
            if attr.lower() in ("href", "src") and text.strip().lower().startswith("javascript:"):
                found.append(f"<{tag.name} {attr}={text[:30]}>")
    return found


def formula_cells(path: Path) -> list[str]:
    """Cells of an .xlsx that Excel would evaluate."""
    wb = openpyxl.load_workbook(path)
    return [
        f"{ws.title}!{c.coordinate}={c.value!r}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def risky_csv_cells(path: Path) -> list[str]:
    """Text cells of a CSV that a spreadsheet would read as a formula (plain numbers are fine)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return [
        f"line {i + 1}: {cell!r}"
        for i, row in enumerate(rows)
        for cell in row
        if cell.startswith(FORMULA_START) and not _NUMBER.fullmatch(cell)
    ]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory, sample_dir):
    from analysis.data.sample import write_sample
    from analysis.report.runner import build_report

    small = tmp_path_factory.mktemp("small") / "data"  # every table, 80 customers: a quick build
    write_sample(small, n_customers=80)
    data = make_hostile_copy(small, tmp_path_factory.mktemp("hostile") / "data")
    out = tmp_path_factory.mktemp("hostile_reports")
    return build_report(data, out=out, jobs=2, progress=False)


# ------------------------------------------------------------------ the whole report
@pytest.mark.notebook
@pytest.mark.xdist_group("hostile_report")
def test_no_page_runs_an_injected_script(hostile_report):
    pages = sorted(hostile_report.glob("*.html"))
    assert len(pages) >= 9  # index + 8 pages
    live = {p.name: live_payloads(p.read_text(encoding="utf-8")) for p in pages}
    counts = {name: len(v) for name, v in live.items() if v}
    assert not counts, (
        f"live injected tags per page: {counts}; e.g. {next(iter(live.values()))[:3]}"
    )


@pytest.mark.notebook
@pytest.mark.xdist_group("hostile_report")
def test_pages_show_the_hostile_names_as_text(hostile_report):
    def text(page):
        return BeautifulSoup(
            (hostile_report / page).read_text(encoding="utf-8"), "html.parser"
        ).get_text()

    for page in (
        "01_customer_composition.html",
        "03_margin_ranking.html",
        "04_churn_risk.html",
        "07_credit_limits.html",
    ):
        assert SCRIPT in text(page), f"{page} does not show the customer name or id as text"
    for page in ("02_product_mix.html", "03_margin_ranking.html"):
        assert f"{SCRIPT} P0" in text(page), f"{page} does not show the product name as text"
    assert "{0} {name}" in text("01_customer_composition.html")  # braces are not format fields


@pytest.mark.notebook
@pytest.mark.xdist_group("hostile_report")
def test_names_with_dollars_are_not_typeset_by_mathjax(hostile_report):
    # MathJax typesets $...$ anywhere on a page except in <pre>/<code> and tex2jax_ignore elements
    exposed = {}
    for page in sorted(hostile_report.glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for node in soup.find_all(string=lambda t: "$\\alert$" in t):
            parents = list(node.parents)
            if not any(
                p.name in ("pre", "code", "script", "style")
                or "tex2jax_ignore" in (p.get("class") or [])
                for p in parents
            ):
                exposed.setdefault(page.name, []).append(str(node)[:40])
    assert not exposed, f"names MathJax would typeset: {exposed}"


@pytest.mark.notebook
@pytest.mark.xdist_group("hostile_report")
def test_every_excel_export_holds_text_not_formulas(hostile_report):
    books = sorted(hostile_report.glob("*.xlsx"))
    names = {p.stem for p in books}
    assert {
        "customer_roster",
        "churn_risk",
        "product_ranking",
        "product_margins",
        "stock_turnover",
        "cross_ratios",
        "credit_limits_next_year",
    } <= names
    formulas = {p.name: formula_cells(p) for p in books}
    counts = {k: len(v) for k, v in formulas.items() if v}
    assert not counts, (
        f"formula cells per workbook: {counts}; e.g. {[v[:2] for v in formulas.values() if v][0]}"
    )
    roster = openpyxl.load_workbook(hostile_report / "customer_roster.xlsx").active
    values = {c.value for row in roster.iter_rows() for c in row}
    assert '=HYPERLINK("http://x","y") 2' in values  # the name is kept, as text


@pytest.mark.notebook
@pytest.mark.xdist_group("hostile_report")
def test_every_csv_export_neutralises_formula_text(hostile_report):
    tables = sorted(hostile_report.glob("*.csv"))
    assert {p.stem for p in tables} >= {"customer_roster", "churn_risk", "product_ranking"}
    risky = {p.name: risky_csv_cells(p) for p in tables}
    counts = {k: len(v) for k, v in risky.items() if v}
    assert not counts, (
        f"formula-like CSV cells per file: {counts}; e.g. {[v[:2] for v in risky.values() if v][0]}"
    )
    roster = pd.read_csv(hostile_report / "customer_roster.csv", dtype=str, encoding="utf-8-sig")
    assert '\'=HYPERLINK("http://x","y") 2' in set(
        roster.iloc[:, 1]
    )  # prefixed, otherwise unchanged
    ids = roster.iloc[:, 0]
    assert ids[~ids.str.contains("[@<]")].str.fullmatch(r"C\d{4}").all()  # plain ids untouched
    assert "'@C0009" in set(ids) and f"C0004{SCRIPT}" in set(ids)


# ------------------------------------------------------------------ tables on a page
def _frame():
    return pd.DataFrame(
        {
            "customer_id": ["00123", "C2"],
            "name": [SCRIPT, IMG],
            "sales": [1234.5, -20.0],
            "share": [0.5, 0.25],
        }
    )


def _assert_no_live_markup(html: str):
    assert "<script>alert" not in html and "<img src=x" not in html
    assert live_payloads(html) == []


def test_show_escapes_cells_headers_index_and_caption():
    df = _frame().rename(columns={"name": "<b>name</b>"}).set_index("customer_id")
    html = show(df, "zh", caption=SCRIPT).to_html()
    _assert_no_live_markup(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the caption and the cells
    assert "&lt;b&gt;name&lt;/b&gt;" in html and "00123" in html  # a header, the named index
    assert "¥1,234" in html and "-¥20" in html and "50.0%" in html  # numbers still formatted


def test_show_keeps_braces_in_headers_and_names_codes_as_text():
    df = pd.DataFrame({"{0}": [SCRIPT], "tier": ["<script>x</script>"], "count": [3]})
    html = show(df, "zh", prefix="cls_", caption=IMG).to_html()
    _assert_no_live_markup(html)
    assert "{0}" in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_show_of_a_long_table_runs_no_name_in_its_script():
    df = pd.DataFrame({"customer_id": [f"C{i}" for i in range(40)], "name": (HOSTILE * 4)[:40]})
    html = show(df, "en", staff_file=f"{IMG}.xlsx").to_html()
    _assert_no_live_markup(html)
    assert "&lt;script&gt;alert" in html  # shown as text in the print copy


def test_show_escapes_the_churn_reasons_and_names():
    df = pd.DataFrame(
        {"customer_id": ["C1"], "name": [SCRIPT], "reasons": [IMG], "churn_probability": [0.4]}
    )
    html = show(df, "zh", prefix="churn_col_").to_html()
    _assert_no_live_markup(html)
    assert "40.0%" in html and "主要原因" in html


def test_shown_tables_are_skipped_by_mathjax():
    html = show(pd.DataFrame({"name": ["$x$"] * 20}), "zh").to_html()
    assert html.count(f'class="{NO_MATH_CLASS}"') >= 2  # the print copy and the interactive one
    assert NO_MATH_CLASS in html.split('class="ccm-screen-only')[1][:80]


# ------------------------------------------------------------------ chart labels
def _drawn_literally(ax, names):
    """Draw the figure (mathtext raised ValueError for an unknown command) and check that each name
    is shown as it is: not parsed as math, no backslash or dollar lost."""
    fig = ax.figure
    fig.canvas.draw()
    shown = {}
    for t in ax.get_xticklabels() + ax.get_yticklabels() + ax.texts:
        text, ismath = t._preprocess_math(t.get_text())
        shown[text] = ismath
    plt.close(fig)
    for name in names:
        assert shown.get(name) is False, f"{name!r} not drawn as literal text: {shown}"


def test_product_names_with_dollars_draw_as_literal_text():
    names = [r"$\alert$ x", "a $5 and $6"]
    ranked = pd.DataFrame(
        {
            "product_name": names,
            "sales": [10.0, 5.0],
            "cum_share": [0.67, 1.0],
            "abc_class": ["A", "B"],
        }
    )
    _drawn_literally(product_pareto_chart(ranked, lang="en"), names)


def test_customer_names_in_the_quadrant_chart_draw_as_literal_text():
    names = [r"$\alert$", "x $1 $2"]
    df = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "name": names,
            "monetary": [100.0, 50.0],
            "loyalty": [0.2, 0.8],
            "quadrant": ["A", "B"],
            "sales_split": [60.0, 60.0],
            "loyalty_split": [0.5, 0.5],
        }
    )
    _drawn_literally(quadrant_chart(df, lang="en", name_col="name"), names)


# ------------------------------------------------------------------ files for staff
def _hostile_table():
    return pd.DataFrame(
        {
            "customer_id": ["00123", "C2", "-7", "C4", "C5", "C6", "C7"],
            "name": [
                '=HYPERLINK("http://x","y")',
                "=cmd|' /C calc'!A0",
                "+1+1",
                "@SUM(A1)",
                "-2+3",
                "\t=1",
                "\r=1",
            ],
            "sales": [1.5, -20.0, 3.0, 4.0, -0.5, 0.0, 7.0],
            "orders": [1, -2, 3, 4, 5, 6, 7],
            "url": ["http://example.com/a", "plain", "中文", "x", "y", "z", "w"],
        }
    )


def test_csv_export_neutralises_formula_text_and_keeps_numbers(tmp_path):
    df = _hostile_table()
    path = aio.write_frame(df, tmp_path / "t.csv")
    assert risky_csv_cells(path) == []
    back = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    assert back["customer_id"].tolist()[:3] == [
        "00123",
        "C2",
        "-7",
    ]  # ids and numeric-looking text intact
    assert back["name"].tolist()[:5] == [
        '\'=HYPERLINK("http://x","y")',
        "'=cmd|' /C calc'!A0",
        "'+1+1",
        "'@SUM(A1)",
        "'-2+3",
    ]
    assert back["sales"].tolist()[:2] == ["1.5", "-20.0"] and back["orders"].tolist()[:2] == [
        "1",
        "-2",
    ]
    assert len(back) == 7 and back["name"].tolist()[5:] == [
        "'\t=1",
        "'\r=1",
    ]  # a CR in a value stays in its cell
    assert df["name"].iloc[0] == '=HYPERLINK("http://x","y")'  # the caller's frame is not changed


def test_xlsx_export_writes_text_as_text(tmp_path):
    path = aio.write_frame(_hostile_table(), tmp_path / "t.xlsx")
    assert formula_cells(path) == []
    ws = openpyxl.load_workbook(path).active
    assert ws["B2"].value == '=HYPERLINK("http://x","y")' and ws["B2"].data_type == "s"
    assert ws["A2"].value == "00123" and ws["C3"].value == -20 and ws["D3"].value == -2
    assert ws["E2"].hyperlink is None  # a URL stays text too


def test_sample_data_writer_is_unchanged(tmp_path):
    # io.write_tables writes data files (the sample generator): values are written as they are
    df = pd.DataFrame({"customer_id": ["C1"], "name": ["=1+1"]})
    path = aio.write_tables({"customers": df}, tmp_path)[0]
    assert path.read_text(encoding="utf-8") == "customer_id,name\nC1,=1+1\n"


# ------------------------------------------------------------------ the escaping helpers
def test_escape_html_turns_markup_into_entities():
    assert escape_html(IMG) == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert escape_html("A&B") == "A&amp;B" and escape_html(12) == "12"


def test_escape_markdown_forms_no_link_emphasis_or_html():
    assert escape_markdown("[x](javascript:alert(1))") == r"\[x\]\(javascript:alert\(1\)\)"
    assert escape_markdown("*a* <b>_c_</b> $x$") == r"\*a\* &lt;b&gt;\_c\_&lt;/b&gt; \$x\$"
    assert escape_markdown("客户 12") == "客户 12"


def test_note_renders_its_text_literally():
    from analysis.viz.products import note

    md = note(f"{SCRIPT} [x](javascript:alert(1)) $y$").data
    assert "<script>" not in md and "](javascript" not in md
    assert md.startswith(f'> **<span class="{NO_MATH_CLASS}">') and md.endswith("</span>**")


def test_styler_label_escapes_html_and_doubles_braces():
    assert styler_label("{0} <b>") == "{{0}} &lt;b&gt;"
    assert styler_label("{0}").format("ignored") == "{0}"  # what Styler.relabel_index does with it


def test_plain_text_escapes_every_dollar_once():
    assert plain_text(r"$\alert$") == r"\$\alert\$"
    assert plain_labels(["a", 1, "5$"]) == ["a", "1", r"5\$"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-7", "-7"),
        ("+3.5", "+3.5"),
        ("-1e3", "-1e3"),
        ("00123", "00123"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_neutralise_formulas_covers_every_text_dtype_and_header_without_mutating():
    df = pd.DataFrame(
        {
            "s": pd.Series(["=a", None], dtype="string"),
            "o": pd.Series(["@b", 3], dtype=object),
            "c": pd.Categorical(["+c", "d"]),
            "n": [-1.5, 2.0],
            "=h": ["x", "y"],
        }
    )
    out = neutralise_formulas(df)
    assert out["s"].tolist()[0] == "'=a" and pd.isna(out["s"].tolist()[1])
    assert out["o"].tolist() == ["'@b", 3] and out["c"].tolist() == ["'+c", "d"]
    assert out["n"].tolist() == [-1.5, 2.0] and out["n"].dtype == "float64"
    assert list(out.columns) == ["s", "o", "c", "n", "'=h"]
    assert df["s"].iloc[0] == "=a" and list(df.columns)[-1] == "=h"


def test_neutralise_formulas_handles_duplicate_headers():
    df = pd.DataFrame([["=a", "=b"]], columns=["x", "x"])
    assert neutralise_formulas(df).iloc[0].tolist() == ["'=a", "'=b"]


def test_use_style_makes_every_styler_escape():
    from analysis.viz.style import use_style

    with pd.option_context("styler.format.escape", None):
        use_style("en")
        assert SCRIPT not in pd.DataFrame({"n": [SCRIPT]}).style.to_html()


# ------------------------------------------------------------------ more chart helpers
def test_category_and_class_charts_draw_names_literally():
    from analysis.viz import products as pp
    from analysis.viz.classify import count_heatmap, segment_chart

    names = [r"$\alert$", "b $1 $2"]
    cats = pd.DataFrame({"category": names, "sales": [3.0, 2.0], "gross_margin_rate": [0.1, -0.2]})
    _drawn_literally(pp.category_chart(cats, lang="en"), names)
    _drawn_literally(
        pp.margin_bars(cats, "category", lang="en", title_key="mr_category_margin_title"), names
    )
    shift = pd.DataFrame({"category": names, "change_pts": [0.01, -0.02]})
    _drawn_literally(pp.share_change_chart(shift, lang="en"), names)
    matrix = pd.DataFrame([[0.5, 0.4], [0.5, 0.6]], index=names, columns=[names[0], "all"])
    _drawn_literally(pp.leanings_heatmap(matrix, lang="en"), names)
    _drawn_literally(
        count_heatmap(
            pd.DataFrame([[1, 2], [3, 4]], index=names, columns=names), lang="en", title="t"
        ),
        names,
    )
    seg = pd.DataFrame({"cls": names, "count": [2, 1], "monetary_share": [0.6, 0.4]})
    _drawn_literally(segment_chart(seg, lang="en", kind="none", class_col="cls", title="t"), names)
