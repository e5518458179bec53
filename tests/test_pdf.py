"""report.pdf: the print document, the PDF's text layer and fonts, --no-pdf, and failures."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from analysis.report import pdf
from analysis.report.runner import ReportError, build_report, discover_notebooks

pypdf = pytest.importorskip("pypdf")
needs_weasyprint = pytest.mark.skipif(
    pdf.weasyprint_unavailable() is not None,
    reason=f"WeasyPrint cannot run here: {pdf.weasyprint_unavailable()}",
)

HIGHLIGHT = "A类客户销售额占比 75.1%，较上季 +1.2 个百分点"


# ------------------------------------------------------------------ a hand-built report folder
def _cell(inner: str, tag: str = "", cell_id: str = "") -> str:
    cls = f" celltag_{tag}" if tag else ""
    ident = f' id="cell-id={cell_id}"' if cell_id else ""
    return (
        f'<div class="jp-Cell jp-MarkdownCell"{ident}><div class="jp-RenderedHTMLCommon{cls}">'
        f"{inner}</div></div>"
    )


def _table(n_rows: int, n_cols: int, *, name: str = "T") -> str:
    head = "".join(f"<th>{'列' if c else '客户编号'}{c}</th>" for c in range(n_cols))
    rows = "".join(
        "<tr>" + "".join(f"<td>{name}{r}-{c}</td>" for c in range(n_cols)) + "</tr>"
        for r in range(n_rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _page(title_zh: str, title_en: str, extra: str = "") -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Notebook</title>'
        '<script src="https://cdn.example/require.js"></script><style>body{color:red}</style>'
        '</head><body class="jp-Notebook"><main>'
        + _cell(
            f'<h1 id="t-en">{title_en}<a class="anchor-link" href="#t-en">¶</a></h1>', "lang-en"
        )
        + _cell(
            f'<h1 id="t-zh">{title_zh}<a class="anchor-link" href="#t-zh">¶</a></h1>', "lang-zh"
        )
        + _cell("<p>Purpose. English narrative.</p>", "lang-en")
        + _cell("<p>本页用途。中文说明，毛利率 15.2%。</p>", "lang-zh")
        + extra
        + '<script type="text/x-mathjax-config">MathJax.Hub.Config({})</script>'
        + "</main></body></html>"
    )


@pytest.fixture
def stage(tmp_path) -> Path:
    """A finished report folder: an index with highlights and three pages."""
    d = tmp_path / ".2025Q4.building-1"
    d.mkdir()
    (d / "index.html").write_text(
        '<html><body><h1>客户分类管理季度报告 · 2025Q4</h1><p class="meta">数据目录: /x</p>'
        '<section id="ccm-highlights"><h2>本季要点 · Highlights</h2><ol>'
        f'<li><a href="01_b.html#t-zh">{HIGHLIGHT}</a>'
        '<a class="where" href="01_b.html#cell-id=roster">→ 01 客户构成与分类</a></li></ol></section>'
        '<div class="card"><h2><a href="00_a.html">00 数据概览</a></h2></div></body></html>',
        encoding="utf-8",
    )
    (d / "00_a.html").write_text(
        _page(
            "00 数据概览",
            "00 Data overview",
            _cell(
                '<div class="ccm-screen-only"><table id="interactive"><tr><td>live</td></tr></table></div>'
                '<div class="ccm-print-only" style="display:none">'
                + _table(30, 3, name="P")
                + "</div>"
            ),
        ),
        encoding="utf-8",
    )
    (d / "01_b.html").write_text(
        _page(
            "01 客户构成与分类",
            "01 Customer composition",
            _cell(
                "<p>名册另存为 <code>customer_roster.csv</code> / <code>.xlsx</code>。</p>",
                cell_id="roster",
            )
            + _cell(_table(40, 4, name="R"))
            + _cell(
                _table(12, 20, name="W")
                + '<p class="ccm-full-list">完整名单见 customer_roster.xlsx</p>'
            )
            + _cell("<h2>记录：报告首页的关键数字</h2>"),
        ),
        encoding="utf-8",
    )
    (d / "02_c.html").write_text(_page("02 商品销售构成", "02 Product mix"), encoding="utf-8")
    return d


PAGES = ["00_a", "01_b", "02_c"]


def _doc(stage, lang="zh", firm="华东医药"):
    return pdf.print_document(
        stage, PAGES, quarter="2025Q4", lang=lang, firm=firm, generated="2026-01-05"
    )


def _soup(text):
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "html.parser")


# ------------------------------------------------------------------ the print document
def test_cover_highlights_then_pages_in_order(stage):
    soup = _soup(_doc(stage))
    cover = soup.select_one("section.ccm-cover")
    text = cover.get_text(" ")
    assert "客户分类管理季度报告" in text and "华东医药" in text
    assert "2025Q4" in text and "2026-01-05" in text
    sections = [s["id"] for s in soup.select("body > section")[1:]]
    assert sections == ["p-index", "p-00_a", "p-01_b", "p-02_c"]
    highlights = soup.select_one("#p-index")
    assert HIGHLIGHT in highlights.get_text() and "数据目录" not in highlights.get_text()
    # the contents list points at every section
    assert [a["href"] for a in cover.select("ol.ccm-contents a")] == [f"#{s}" for s in sections]


def test_english_cover_keeps_the_chinese_name(stage):
    cover = _soup(_doc(stage, lang="en")).select_one("section.ccm-cover").get_text(" ")
    assert "Customer classification management (客户分类管理)" in cover and "Quarter" in cover


def test_no_code_scripts_screen_only_or_other_language(stage):
    doc = _doc(stage)
    soup = _soup(doc)
    assert not soup.find("script") and "require.js" not in doc and "MathJax" not in doc
    assert "interactive" not in doc and "live" not in doc  # ccm-screen-only is left out
    assert "English narrative" not in doc and "00 Data overview" not in doc
    assert "本页用途" in doc and "¶" not in doc
    printed = soup.select_one(".ccm-print-only")
    assert printed is not None and "display" not in printed.get("style", "")
    assert "00 Data overview" in _doc(stage, lang="en") and "本页用途" not in _doc(stage, lang="en")


def test_long_table_is_cut_with_a_pointer_to_the_excel_file(stage):
    soup = _soup(_doc(stage))
    page = soup.select_one("#p-01_b")
    long = next(t for t in page.find_all("table") if "R0-0" in t.get_text())
    assert len(long.select("tbody tr")) == pdf.MAX_TABLE_ROWS
    note = long.find_next_sibling("p", class_="ccm-cut")
    assert note.get_text() == (
        f"表格共 40 行，此处列出前 {pdf.MAX_TABLE_ROWS} 行；完整表格见 customer_roster.xlsx。"
    )
    # the static copy of an interactive table is short already; a long one is cut all the same
    assert len(soup.select(".ccm-print-only tbody tr")) == pdf.MAX_TABLE_ROWS


def test_a_page_naming_no_file_points_to_its_html_page(stage):
    (stage / "02_c.html").write_text(
        _page("02 商品销售构成", "02 Product mix", _cell(_table(30, 2))), encoding="utf-8"
    )
    note = _soup(_doc(stage)).select_one("#p-02_c p.ccm-cut").get_text()
    assert note.endswith("完整表格见 网页版 02_c.html。")


def test_wide_table_is_split_into_column_groups_repeating_the_row_keys(stage):
    page = _soup(_doc(stage)).select_one("#p-01_b")
    parts = [t for t in page.find_all("table") if "W0-0" in t.get_text()]
    # 20 columns: keys 0-1, then 18 more in groups of SPLIT_COLUMNS - 2 = 10
    assert [len(t.select("thead th")) for t in parts] == [12, 10]
    for part in parts:
        assert [td.get_text() for td in part.select("tbody tr")[0].find_all("td")[:2]] == [
            "W0-0",
            "W0-1",
        ]
        assert len(part.select("tbody tr")) == pdf.WIDE_ROWS
    assert parts[1].select("tbody tr")[0].find_all("td")[2].get_text() == "W0-12"
    # the renderer's note names the file already: the cut note only says how many rows are shown
    assert page.find(string="表格共 12 行，此处列出前 10 行。")


def test_numbers_right_aligned_text_left():
    soup = _soup(
        "<table><thead><tr><th>客户</th><th>销售额</th><th>占比</th></tr></thead><tbody>"
        "<tr><td>甲</td><td>¥1,234,567</td><td>75.1%</td></tr>"
        "<tr><td>乙</td><td>-12.5</td><td>3%</td></tr></tbody></table>"
    )
    pdf._align_numbers(soup.table)
    assert [("ccm-num" in c.get("class", [])) for c in soup.select("th")] == [False, True, True]
    assert [("ccm-num" in c.get("class", [])) for c in soup.select("td")] == [False, True, True] * 2


def test_empty_trailing_section_is_dropped(stage):
    page = _soup(_doc(stage)).select_one("#p-01_b")
    assert "记录" not in page.get_text()
    assert page.find("h1") is not None  # a heading with content under it stays


def test_a_section_with_only_a_note_or_a_subsection_stays():
    soup = _soup(
        "<body><h2>1 有内容</h2><div><p>说明</p></div>"
        '<h2>2 回测</h2><div class="ccm-not-computed"><strong>本页其余部分无法计算</strong></div>'
        "<h2>3 父节</h2><h3>3.1 子节</h3><img src='x.png'>"
        "<h2>4 空父节</h2><h3>4.1 空子节</h3>"
        "<h2>5 记录</h2><div><style>p {}</style></div></body>"
    )
    pdf._drop_empty_sections(soup.body)
    assert [h.get_text() for h in soup.find_all(["h2", "h3"])] == [
        "1 有内容",
        "2 回测",
        "3 父节",
        "3.1 子节",
    ]


def test_links_become_internal_or_plain_text(stage):
    soup = _soup(_doc(stage))
    hrefs = [a["href"] for a in soup.select("#p-index a")]
    # highlights link to the section (heading or notebook cell) that shows the number
    assert hrefs == ["#p-01_b--t-zh", "#p-01_b--cell-id=roster"]
    assert soup.find(id="p-01_b--cell-id=roster") is not None
    assert soup.find(id="p-01_b--t-zh") is not None


def test_css_string_cannot_break_out():
    css = pdf.print_css(font_url="file:///f.otf", firm='a"b\\c</style>}', quarter="2025Q4")
    line = next(x for x in css.splitlines() if "@top-left" in x and "none" not in x)
    assert '"a\\22 b\\5c c\\3c /style\\3e }' in line


# ------------------------------------------------------------------ writing it
def _fonts(reader) -> list[tuple[str, bool]]:
    """(font name, embedded) for every font the pages (and their form XObjects) use."""
    out, seen = [], set()

    def walk(resources):
        resources = resources.get_object() if resources is not None else {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            if id(font) in seen:
                continue
            seen.add(id(font))
            if font.get("/Subtype") == "/Type3":  # glyphs drawn in the PDF itself
                out.append((str(font.get("/Name")), True))
                continue
            desc = font
            if "/DescendantFonts" in font:
                desc = font["/DescendantFonts"][0].get_object()
            fd = desc.get("/FontDescriptor")
            fd = fd.get_object() if fd is not None else {}
            out.append(
                (
                    str(font.get("/BaseFont")),
                    any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")),
                )
            )
        for xobj in (resources.get("/XObject") or {}).values():
            xobj = xobj.get_object()
            if xobj.get("/Subtype") == "/Form" and "/Resources" in xobj:
                walk(xobj["/Resources"])

    for page in reader.pages:
        walk(page.get("/Resources"))
    return out


def _text(reader) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in reader.pages))


@needs_weasyprint
def test_write_pdf_text_layer_fonts_and_index_link(stage):
    path = pdf.write_report_pdf(stage, PAGES, quarter="2025Q4", lang="zh", firm="华东医药")
    assert path == stage / "report.pdf"
    reader = pypdf.PdfReader(str(path))
    text = _text(reader)
    assert "客户分类管理季度报告" in text and "华东医药" in text
    assert re.sub(r"\s+", "", HIGHLIGHT) in text
    assert re.search(r"→01客户构成与分类（第\d+页）", text)  # a printed copy says where to look
    assert "R24-3" in text and "R25-0" not in text  # the cut
    fonts = _fonts(reader)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert any("CCM" in name for name, _ in fonts)  # the project's font, not a fallback
    assert len(reader.pages) >= 1 + 1 + len(PAGES)  # cover, highlights, a page each at least
    index = (stage / "index.html").read_text(encoding="utf-8")
    assert '<a href="report.pdf">report.pdf</a>' in index
    assert not list(stage.glob(".*tmp")) and not list(stage.glob(".report-pdf-font*"))


class _NoPango:
    """An import hook: ``import weasyprint`` fails as it does where Pango is missing."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': No such file or directory")
        return None


def test_unavailable_names_what_is_missing(monkeypatch):
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoPango(), *sys.meta_path])
    assert pdf.weasyprint_unavailable() == (
        "WeasyPrint cannot load the system's Pango library "
        "(cannot load library 'libpango-1.0-0': No such file or directory)"
    )
    assert pdf.weasyprint_unavailable("zh") == (
        "WeasyPrint 无法加载系统的 Pango 库（cannot load library 'libpango-1.0-0': No such file or directory）"
    )
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # not installed
    assert pdf.weasyprint_unavailable().startswith("WeasyPrint is not installed (")


def test_without_pango_the_report_says_why(stage, monkeypatch):
    (stage / "report.pdf").write_bytes(b"%PDF stale")  # copied from the previous report
    monkeypatch.setattr(
        pdf, "_unavailable", lambda: ("pango", "cannot load library 'libpango-1.0-0'")
    )
    assert pdf.write_report_pdf(stage, PAGES, quarter="2025Q4", lang="zh", firm="x") is None
    assert not (stage / "report.pdf").exists()
    index = (stage / "index.html").read_text(encoding="utf-8")
    note = _soup(index).select_one("#ccm-pdf-skipped").get_text()
    assert note.startswith(
        "本次未生成 PDF 版（report.pdf）：WeasyPrint 无法加载系统的 Pango 库（cannot load library"
    )
    assert note.endswith(f"安装：{pdf.INSTALL_HINT}，然后重新运行 ccm report。")
    assert pdf.pdf_skipped(stage) == (
        "WeasyPrint cannot load the system's Pango library (cannot load library 'libpango-1.0-0')"
    )


def test_disabled_pdf_removes_a_stale_one(stage):
    (stage / "report.pdf").write_bytes(b"%PDF stale")
    assert (
        pdf.write_report_pdf(stage, PAGES, quarter="2025Q4", lang="zh", firm="x", enabled=False)
        is None
    )
    assert not (stage / "report.pdf").exists() and pdf.pdf_skipped(stage) is None


@needs_weasyprint
def test_a_rendering_failure_is_a_report_error_and_leaves_no_file(stage, monkeypatch):
    def boom(document, css, target, *, base_url):
        raise RuntimeError("layout exploded")

    monkeypatch.setattr(pdf, "render_pdf", boom)
    with pytest.raises(
        ReportError,
        match=r"report.pdf could not be written \(RuntimeError: layout exploded\).*--no-pdf",
    ):
        pdf.write_report_pdf(stage, PAGES, quarter="2025Q4", lang="zh", firm="x")
    assert not (stage / "report.pdf").exists() and not list(stage.glob(".report-pdf-font*"))


# ------------------------------------------------------------------ a real report
@pytest.fixture
def sample_pdf_report(sample_firm_dir, sample_report_of):
    """The sample company's zh report with its PDF, built once and shared with the report,
    language and hostile-run tests (conftest.sample_report_of; its data folder is named 华东医药)."""
    if pdf.weasyprint_unavailable():
        pytest.skip(f"WeasyPrint cannot run here: {pdf.weasyprint_unavailable()}")
    return sample_firm_dir, sample_report_of("zh")


@pytest.mark.notebook
def test_report_pdf_cover_highlights_pages_text_and_fonts(sample_pdf_report):
    from bs4 import BeautifulSoup

    _, final = sample_pdf_report
    pages = [nb for nb in discover_notebooks() if (final / f"{nb}.html").exists()]
    reader = pypdf.PdfReader(str(final / "report.pdf"))
    assert len(reader.pages) >= len(pages) + 2
    text = _text(reader)
    assert "客户分类管理" in text and "华东医药" in text and "2025Q4" in text
    index = BeautifulSoup((final / "index.html").read_text(encoding="utf-8"), "html.parser")
    part = next(
        (index.select_one(s) for s in pdf.HIGHLIGHTS_SELECTORS if index.select_one(s)), index
    )
    numbers = re.findall(
        r"[¥$]?\d[\d,]*\.\d+%?|[¥$]\d[\d,]+|\d{1,3}(?:,\d{3})+", part.get_text(" ")
    )
    assert numbers, "no number on the index's highlights or headline numbers"
    assert numbers[0].replace(" ", "") in text, numbers[0]
    for nb in pages:  # every page's title is in the PDF
        title = BeautifulSoup((final / f"{nb}.html").read_text(encoding="utf-8"), "html.parser").h1
        assert re.sub(r"[\s¶]+", "", title.get_text()) in text, nb
    fonts = _fonts(reader)
    assert fonts and all(embedded for _, embedded in fonts), fonts


@pytest.mark.notebook
def test_no_pdf_writes_none(sample_pdf_report, tmp_path):
    from analysis.tools.cli import main

    data, final = sample_pdf_report
    out = tmp_path / "reports"
    shutil.copytree(final, out / final.name)
    code = main(["run", "00_data_overview", "--data-dir", str(data), "--out", str(out), "--no-pdf"])
    assert code == 0
    assert (out / final.name / "00_data_overview.html").exists()
    assert not (out / final.name / "report.pdf").exists()  # none written, the stale one gone
    assert not list(out.glob(".*building*"))


@pytest.mark.notebook
def test_a_pdf_failure_leaves_the_previous_report_intact(sample_pdf_report, tmp_path, monkeypatch):
    data, final = sample_pdf_report
    out = tmp_path / "reports"
    shutil.copytree(final, out / final.name)
    before = {p.name: p.read_bytes() for p in (out / final.name).iterdir() if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("layout exploded")

    monkeypatch.setattr(pdf, "render_pdf", boom)
    with pytest.raises(ReportError, match="report.pdf could not be written"):
        build_report(
            data, out=out, notebooks=["00_data_overview"], merge=True, progress=False, pdf=True
        )
    after = {p.name: p.read_bytes() for p in (out / final.name).iterdir() if p.is_file()}
    assert after == before and "report.pdf" in after
    assert not list(out.glob(".*building*"))
