"""report.pdf: the quarter's report in one file for management (issue 11 item 5).

Built from the finished pages of a report's staging folder, before the folder
replaces the previous report: a cover (title in the report language, firm,
quarter, date of the run, contents), the index page's highlights (本季要点), then
every page without code, in order.  Rendered by WeasyPrint with the project's
Chinese font (Noto Sans CJK SC, cut to the characters used), so Chinese is real,
selectable text; pages are numbered; charts and tables are kept whole on a page
where they fit; long tables are cut to their top rows with a pointer to the
Excel file; very wide tables get a landscape page.

Print/screen contract (docs: LAYOUT.md): elements of class ``ccm-screen-only``
(the interactive tables) are left out, ``ccm-print-only`` (their static copy)
shown.  Scripts (MathJax, require.js, table widgets) are dropped: the PDF is
static and never fetches anything from the network.

WeasyPrint needs the system's Pango.  Where it cannot load, the report is written
without the PDF and says so (a note on the index; ``ccm report`` prints a
warning line); any other failure to render stops the run like a failing notebook,
so the previous report stays as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html as _html
import logging
import os
import re
from pathlib import Path

PDF_FILE = "report.pdf"
#: how the index page marks its highlights (本季要点 · Highlights); the first that matches is
#: used, else the whole index body
HIGHLIGHTS_SELECTORS = ("#ccm-highlights", ".ccm-highlights", "#highlights", ".highlights")
#: rows a table keeps in print (on a landscape page: WIDE_ROWS); the rest are in the Excel file
#: and on the HTML page
MAX_TABLE_ROWS, WIDE_ROWS = 25, 10
#: tables with more columns get a smaller type; beyond WIDE_COLUMNS they are split into tables of
#: SPLIT_COLUMNS columns repeating the row keys (or, with spanning cells, get a landscape page)
SMALL_COLUMNS, WIDE_COLUMNS, SPLIT_COLUMNS = 8, 14, 12
INSTALL_HINT = "apt install libpango-1.0-0 libpangoft2-1.0-0"
SKIPPED_ID = "ccm-pdf-skipped"

_TEXT = {
    "zh": {
        "title": "客户分类管理季度报告",
        "subtitle": "季度分析 · 供管理层阅读",
        "firm": "企业",
        "quarter": "报告季度",
        "generated": "生成日期",
        "contents": "目录",
        "highlights": "本季要点",
        "overview": "各页要点",
        "cut": "表格共 {n} 行，此处列出前 {k} 行；完整表格见 {where}。",
        "cut_short": "表格共 {n} 行，此处列出前 {k} 行。",
        "web": "网页版 {page}",
        "skipped": "本次未生成 PDF 版（report.pdf）：{reason}。安装：{hint}，然后重新运行 ccm report。",
        "link": "PDF 版（供管理层阅读，可打印）：",
        "page_ref": ("（第 ", " 页）"),
    },
    "en": {
        "title": "Customer classification management (客户分类管理): quarterly report",
        "subtitle": "Quarterly analysis for management",
        "firm": "Firm",
        "quarter": "Quarter",
        "generated": "Generated",
        "contents": "Contents",
        "highlights": "Highlights",
        "overview": "Headline numbers by page",
        "cut": "The table has {n} rows; the first {k} are shown here. The full table is in {where}.",
        "cut_short": "The table has {n} rows; the first {k} are shown here.",
        "web": "the HTML page {page}",
        "skipped": "report.pdf was not written: {reason}. Install {hint}, then run ccm report again.",
        "link": "PDF for management (to print or send): ",
        "page_ref": (" (p. ", ")"),
    },
}


# ------------------------------------------------------------------ availability
def _unavailable() -> tuple[str, str] | None:
    """(what is missing, the error) when WeasyPrint cannot render here, else None."""
    import io

    try:
        # WeasyPrint prints an installation banner on stdout when Pango is missing: not ours to show
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint  # noqa: F401  (loads Pango through cffi on import)
    except ImportError as exc:
        return "weasyprint", str(exc)
    except OSError as exc:  # cffi could not load libpango / libpangoft2
        return "pango", str(exc)
    return None


_MISSING = {
    "zh": {"weasyprint": "未安装 WeasyPrint", "pango": "WeasyPrint 无法加载系统的 Pango 库"},
    "en": {
        "weasyprint": "WeasyPrint is not installed",
        "pango": "WeasyPrint cannot load the system's Pango library",
    },
}


def weasyprint_unavailable(lang: str = "en") -> str | None:
    """Why WeasyPrint cannot render here (no Pango, not installed), in ``lang``; None when it can.

    Parameters
    ----------
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str or None
    """
    missing = _unavailable()
    if missing is None:
        return None
    what, error = missing
    if lang == "zh":
        return f"{_MISSING['zh'][what]}（{error}）"
    return f"{_MISSING['en'][what]} ({error})"


# ------------------------------------------------------------------ the print document
def _texts(lang: str) -> dict:
    return _TEXT.get(lang, _TEXT["en"])


def _soup(text: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "html.parser")


def _body(path: Path):
    """A page's <body> (or the whole document when it has none), parsed."""
    soup = _soup(Path(path).read_text(encoding="utf-8"))
    return soup.body or soup


def _drop(root, selector: str) -> None:
    for el in root.select(selector):
        el.decompose()


def _other_language(root, lang: str) -> None:
    """Drop the narrative cells of the other language (cells tagged lang-en / lang-zh)."""
    other = "en" if lang == "zh" else "zh"
    for el in root.select(f".celltag_lang-{other}"):
        cell = el.find_parent(class_="jp-Cell") or el
        cell.decompose()


def _excel_files(root) -> list[str]:
    """The staff tables a page names (``x.csv`` / ``x.xlsx``), as Excel file names."""
    stems = re.findall(r"([A-Za-z0-9_-]+)\.(?:csv|xlsx)\b", root.get_text(" "))
    return list(dict.fromkeys(f"{s}.xlsx" for s in stems))


def _table_rows(table) -> list:
    body = table.find("tbody")
    rows = (body or table).find_all("tr", recursive=False)
    if body is None:  # a table without <tbody>: its header row is the first <tr> with <th> only
        rows = [r for r in rows if r.find("td")]
    return rows


def _columns(table) -> int:
    return max(
        (len(r.find_all(["td", "th"], recursive=False)) for r in table.find_all("tr")), default=0
    )


_NUMBER = re.compile(r"[-+−]?[¥$€]?[-+−]?\d[\d,]*(\.\d+)?\s*(%|万元|万|元|亿元|x|×|天|d|s)?")


def _align_numbers(table) -> None:
    """Numbers right-aligned (and the header cell above them), text left, as a finance table reads."""
    numeric_cols = set()
    for row in _table_rows(table):
        for i, cell in enumerate(row.find_all(["td", "th"], recursive=False)):
            if cell.name == "td" and _NUMBER.fullmatch(cell.get_text(strip=True)):
                cell["class"] = [*cell.get("class", []), "ccm-num"]
                numeric_cols.add(i)
    head = table.find("thead")
    for row in head.find_all("tr") if head else []:
        cells = row.find_all(["td", "th"], recursive=False)
        if len(cells) == _columns(table):
            for i in numeric_cols:
                cells[i]["class"] = [*cells[i].get("class", []), "ccm-num"]


def _flat_rows(table) -> list | None:
    """The table's rows when every row has the same cells and none spans, else None."""
    rows = table.find_all("tr")
    cells = [r.find_all(["td", "th"], recursive=False) for r in rows]
    n = len(cells[0]) if cells else 0
    if not n or any(len(c) != n for c in cells):
        return None
    if any(c.get("colspan") or c.get("rowspan") for row in cells for c in row):
        return None
    return rows


def _split_columns(table, rows) -> list:
    """A wide flat table as several tables of at most SPLIT_COLUMNS columns each.

    Each part repeats the row keys: the index cells (``th`` in the body), else the
    first two columns (the customer id and name of a roster), so every row can be
    read on its own.
    """
    import copy

    body_row = next((r for r in rows if r.find("td")), rows[0])
    first = body_row.find_all(["td", "th"], recursive=False)
    keys = [i for i, c in enumerate(first) if c.name == "th"] or [0, 1]
    rest = [i for i in range(len(first)) if i not in keys]
    size = max(1, SPLIT_COLUMNS - len(keys))
    groups = [rest[i : i + size] for i in range(0, len(rest), size)]
    parts = []
    for group in groups:
        keep = set(keys) | set(group)
        part = copy.copy(table)
        for row in part.find_all("tr"):
            for i, cell in enumerate(row.find_all(["td", "th"], recursive=False)):
                if i not in keep:
                    cell.decompose()
        parts.append(part)
    return parts


def _fit_tables(root, page: str, lang: str) -> None:
    """Cut long tables to their top rows (with a pointer), split or shrink wide ones, align numbers."""
    t = _texts(lang)
    files = _excel_files(root)
    where = " / ".join(files) if files else t["web"].format(page=f"{page}.html")
    for table in root.find_all("table"):
        if table.find_parent("table") is not None:
            continue
        n = _columns(table)
        keep = WIDE_ROWS if n > WIDE_COLUMNS else MAX_TABLE_ROWS
        rows = _table_rows(table)
        note = None
        if len(rows) > keep:  # a print copy (ccm-print-only) is already short: this is the net
            for row in rows[keep:]:
                row.decompose()
            note = root.new_tag("p", attrs={"class": "ccm-cut"})
            # the renderer's own note under the table names the full list already
            named = table.find_next_sibling()
            short = named is not None and "ccm-full-list" in named.get("class", [])
            note.string = t["cut_short" if short else "cut"].format(
                n=len(rows), k=keep, where=where
            )
        parts = [table]
        flat = _flat_rows(table) if n > WIDE_COLUMNS else None
        if flat is not None:
            parts = _split_columns(table, flat)
            for part in reversed(parts):
                table.insert_after(part)
            table.decompose()
        for part in parts:
            classes = part.get("class", [])
            if _columns(part) > WIDE_COLUMNS:  # spanning cells: a landscape page of small type
                part["class"] = [*classes, "ccm-wide"]
            elif _columns(part) > SMALL_COLUMNS:
                part["class"] = [*classes, "ccm-small"]
            _align_numbers(part)
        if len(parts) > 1:
            for part in parts[1:]:
                part["class"] = [*part.get("class", []), "ccm-continued"]
        if note is not None:
            parts[-1].insert_after(note)


_HEADING = re.compile(r"^h[1-6]$")
_MEDIA = ("img", "svg", "table", "figure", "canvas")


def _has_content(h) -> bool:
    """Whether anything stands under heading ``h`` before the next heading of its level or higher.

    Text, images and tables count (a skip note or a 'not computed' note too); a
    subheading means ``h`` is the parent of a section.
    """
    from bs4 import NavigableString, Tag

    level = int(h.name[1])
    for el in h.next_elements:
        if isinstance(el, Tag):
            if h in el.parents:
                continue
            if _HEADING.match(el.name):
                return int(el.name[1]) > level
            if el.name in _MEDIA:
                return True
        elif (
            type(el) is NavigableString
            and el.strip()
            and h not in el.parents
            and el.parent.name not in ("style", "script")
        ):
            return True
    return False


def _drop_empty_sections(root) -> None:
    """Drop a heading with nothing under it (say, 'Record: the headline numbers', whose cell shows nothing)."""
    for h in reversed(root.find_all(_HEADING)):  # an empty subsection first, then its parent
        if not _has_content(h):
            h.decompose()


def _links(root, page: str, ids: dict[str, set[str]]) -> None:
    """Links inside the document become internal links; links to files are plain text."""
    for a in root.find_all("a", href=True):
        href = a["href"]
        target = None
        if href.startswith("#"):
            target = _anchor(page, href[1:], ids)
        elif re.fullmatch(r"[0-9]{2}_[A-Za-z0-9_]+\.html(#.*)?", href):
            name, _, frag = href.partition("#")
            name = name.removesuffix(".html")
            target = _anchor(name, frag, ids) if frag else (f"p-{name}" if name in ids else None)
        elif href.startswith(("http://", "https://", "mailto:")):
            continue
        if target:
            a["href"] = f"#{target}"
        else:
            a.unwrap()


def _anchor(page: str, frag: str, ids: dict[str, set[str]]) -> str | None:
    from urllib.parse import unquote

    for candidate in (frag, unquote(frag)):
        if candidate in ids.get(page, set()):
            return f"p-{page}--{candidate}"
    return None


def _targets(root) -> list:
    """What a link may point at: headings and notebook cells (``cell-id=...``).

    Only these: pandas Styler tables carry their own CSS keyed on their ids.
    """
    return [
        el
        for el in root.find_all(
            lambda el: _HEADING.match(el.name) or "jp-Cell" in el.get("class", [])
        )
        if el.get("id")
    ]


def _heading_ids(root) -> set[str]:
    return {el["id"] for el in _targets(root)}


def _prefix_ids(root, page: str) -> None:
    for el in _targets(root):
        el["id"] = f"p-{page}--{el['id']}"


def _clean(root, lang: str) -> None:
    for selector in ("script", "link", "meta", "title", "noscript", "iframe", "object", "embed"):
        _drop(root, selector)
    _drop(root, ".ccm-screen-only")
    _drop(root, ".anchor-link")
    _other_language(root, lang)
    for el in root.select(".ccm-print-only"):
        style = el.get("style", "")
        if "display" in style:
            el["style"] = re.sub(r"display\s*:\s*none\s*;?", "", style)


def _title_of(root, default: str) -> str:
    h1 = root.find("h1")
    return h1.get_text(" ", strip=True) if h1 else default


def _highlights(index: Path, lang: str):
    """The index's highlights section, or the whole index body (without its title) as fallback."""
    body = _body(index)
    for selector in HIGHLIGHTS_SELECTORS:
        found = body.select_one(selector)
        if found is not None:
            return found, True
    h1 = body.find("h1")
    if h1 is not None:
        h1.decompose()
    _drop(body, ".meta")  # data folder and run times: for the analyst, not for the reader
    return body, False


def print_document(
    stage: Path,
    pages: list[str],
    *,
    quarter: str,
    lang: str,
    firm: str,
    generated: str,
) -> str:
    """The HTML that becomes report.pdf: cover, highlights, then the pages without code.

    Parameters
    ----------
    stage : Path
        The report folder holding ``index.html`` and ``<page>.html`` of every page.
    pages : list of str
        The pages in order (notebook names such as ``00_data_overview``).
    quarter, lang, firm, generated : str
        What the cover says: the quarter, the report language (``zh``/``en``), the
        firm's name and the date of the run.

    Returns
    -------
    str
        A complete HTML document (no scripts; style from :func:`print_css`).
    """
    t = _texts(lang)
    esc = _html.escape
    bodies, ids = {}, {}
    for page in pages:
        path = Path(stage) / f"{page}.html"
        if path.exists():
            root = _body(path)
            _clean(root, lang)
            _drop_empty_sections(root)
            bodies[page] = root
            ids[page] = _heading_ids(root)
    sections, contents = [], []
    index = Path(stage) / "index.html"
    if index.exists():
        part, found = _highlights(index, lang)
        _clean(part, lang)
        _links(part, "index", ids)
        head = (
            "" if found and part.find(re.compile(r"^h[12]$")) else f"<h1>{esc(t['overview'])}</h1>"
        )
        inner = str(part) if found else part.decode_contents()
        sections.append(
            f'<section class="ccm-highlights-page" id="p-index">{head}{inner}</section>'
        )
        contents.append(("p-index", t["highlights"] if found else t["overview"]))
    for page, root in bodies.items():
        _fit_tables(root, page, lang)
        _links(root, page, ids)
        title = _title_of(root, page)
        _prefix_ids(root, page)
        sections.append(
            f'<section class="ccm-page" id="p-{esc(page)}">{root.decode_contents()}</section>'
        )
        contents.append((f"p-{page}", title))
    toc = "".join(
        f'<li><a href="#{esc(anchor)}">{esc(title)}</a></li>' for anchor, title in contents
    )
    cover = (
        '<section class="ccm-cover">'
        f'<h1 class="ccm-cover-title">{esc(t["title"])}</h1>'
        f'<p class="ccm-cover-subtitle">{esc(t["subtitle"])}</p>'
        '<table class="ccm-cover-meta">'
        f"<tr><th>{esc(t['firm'])}</th><td>{esc(firm)}</td></tr>"
        f"<tr><th>{esc(t['quarter'])}</th><td>{esc(quarter)}</td></tr>"
        f"<tr><th>{esc(t['generated'])}</th><td>{esc(generated)}</td></tr>"
        "</table>"
        f'<h2 class="ccm-contents-title">{esc(t["contents"])}</h2>'
        f'<ol class="ccm-contents">{toc}</ol>'
        "</section>"
    )
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{esc(t['title'])} {esc(quarter)}</title></head><body>"
        + cover
        + "".join(sections)
        + "</body></html>"
    )


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in text:
        if ch in '"\\' or ord(ch) < 0x20 or ch in "\x7f<>":
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def print_css(*, font_url: str, firm: str, quarter: str, lang: str = "zh") -> str:
    """The PDF's stylesheet: A4 pages numbered 'n / N', running header, tables and charts kept whole.

    Parameters
    ----------
    font_url : str
        URL of the CJK font subset.
    firm : str
        The firm's name (running header).
    quarter : str
        The quarter.
    lang : str
        The report language (the page references of the highlights' links).

    Returns
    -------
    str
        The CSS.
    """
    header = _css_string(f"{firm} · {quarter}")
    before, after = _texts(lang)["page_ref"]
    return f"""
@font-face {{ font-family: "CCM PDF"; src: url({_css_string(font_url)}); }}
@page {{
  size: A4; margin: 17mm 14mm 16mm 14mm;
  @top-left {{ content: {header}; font-size: 7.5pt; color: #888; }}
  @top-right {{ content: string(pagetitle); font-size: 7.5pt; color: #888; }}
  @bottom-center {{ content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; }}
}}
@page wide {{ size: A4 landscape; }}
@page :first {{
  @top-left {{ content: none; }} @top-right {{ content: none; }} @bottom-center {{ content: none; }}
}}
html {{ font-family: "CCM PDF", "Noto Sans CJK SC", "DejaVu Sans", sans-serif; font-size: 9.5pt;
        line-height: 1.5; color: #222; }}
body {{ margin: 0; }}
pre, code {{ font-family: "CCM PDF", "DejaVu Sans Mono", monospace; font-size: 0.9em; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; background: #f7f7f7; padding: 3pt 5pt; }}
a {{ color: #2a5599; text-decoration: none; }}
h1, h2, h3, h4 {{ font-weight: normal; color: #1d3557; break-after: avoid; line-height: 1.3; }}
h1 {{ font-size: 16pt; margin: 0 0 8pt; padding-bottom: 3pt; border-bottom: 1.2pt solid #4c72b0;
      bookmark-level: 1; string-set: pagetitle content(text); }}
h2 {{ font-size: 12.5pt; margin: 12pt 0 5pt; bookmark-level: 2; }}
h3 {{ font-size: 10.5pt; margin: 9pt 0 4pt; bookmark-level: none; }}
h4, h5, h6 {{ font-size: 9.5pt; margin: 7pt 0 3pt; bookmark-level: none; }}
p, li {{ orphans: 2; widows: 2; }}
p {{ margin: 3pt 0 5pt; }}
blockquote {{ margin: 4pt 0 6pt 8pt; padding-left: 8pt; border-left: 2pt solid #ccd; color: #444; }}
img {{ max-width: 100%; max-height: 105mm; width: auto; height: auto; break-inside: avoid; }}
.jp-OutputArea-output {{ break-inside: avoid; }}
.jp-Cell {{ margin: 0; }}
table {{ border-collapse: collapse; font-size: 7.5pt; margin: 4pt 0 8pt; break-inside: avoid;
         max-width: 100%; }}
th, td {{ padding: 1.5pt 4pt; border-bottom: 0.4pt solid #d0d0d0; vertical-align: top; }}
thead th {{ border-bottom: 0.8pt solid #555; font-weight: normal; background: #f1f4f8; }}
tbody th {{ font-weight: normal; text-align: left; }}
th, td {{ text-align: left; }}
th.ccm-num, td.ccm-num {{ text-align: right; white-space: nowrap; }}
tr {{ break-inside: avoid; }}
table.ccm-small {{ font-size: 6.5pt; }}
table.ccm-small th, table.ccm-small td {{ padding: 1pt 2.5pt; }}
table.ccm-wide {{ page: wide; font-size: 6pt; }}
table.ccm-wide th, table.ccm-wide td {{ padding: 1pt 2pt; overflow-wrap: anywhere; }}
table.ccm-continued {{ margin-top: 2pt; }}
td {{ overflow-wrap: break-word; }}
p.ccm-cut, p.ccm-full-list {{ font-size: 8pt; color: #a05a00; margin-top: -4pt; }}
.ccm-screen-only, .anchor-link, .jp-Collapser, script {{ display: none !important; }}
section.ccm-page, section.ccm-highlights-page {{ break-before: page; }}
.ccm-cover {{ padding-top: 40mm; }}
.ccm-cover h1.ccm-cover-title {{ font-size: 24pt; border: none; color: #1d3557; bookmark-level: none;
                                 string-set: none; }}
.ccm-cover-subtitle {{ font-size: 11pt; color: #555; margin-bottom: 16mm; }}
table.ccm-cover-meta {{ font-size: 11pt; break-inside: avoid; }}
table.ccm-cover-meta th {{ text-align: left; color: #666; font-weight: normal; background: none;
                           padding: 3pt 14pt 3pt 0; border: none; }}
table.ccm-cover-meta td {{ border: none; padding: 3pt 0; }}
h2.ccm-contents-title {{ margin-top: 18mm; bookmark-level: none; }}
ol.ccm-contents {{ list-style: none; padding: 0; font-size: 10pt; }}
ol.ccm-contents li {{ margin: 2pt 0; }}
ol.ccm-contents a {{ color: #222; }}
ol.ccm-contents a::after {{ content: leader(".") target-counter(attr(href), page); color: #555; }}
.ccm-not-computed {{ break-inside: avoid; }}
section.ccm-highlights-page h2:first-of-type {{ string-set: pagetitle content(text); bookmark-level: 1; }}
section.ccm-highlights-page li {{ margin: 0 0 5pt; break-inside: avoid; }}
section.ccm-highlights-page .where {{ display: block; font-size: 8pt; color: #2a5599; }}
section.ccm-highlights-page a[href^="#"]::after {{
  content: {_css_string(before)} target-counter(attr(href), page) {_css_string(after)}; color: #555; }}
"""


# ------------------------------------------------------------------ rendering
def _font_file(document: str, folder: Path) -> Path:
    """The project's CJK font cut to the document's characters (Latin included), for WeasyPrint."""
    from analysis.data import io as aio
    from analysis.viz.style import cjk_font_subset

    chars = "".join(sorted(set(_html.unescape(document))))
    return aio.write_bytes(cjk_font_subset(chars), Path(folder) / ".report-pdf-font.otf")


@contextlib.contextmanager
def _quiet_weasyprint():
    """WeasyPrint logs every CSS rule it ignores (JupyterLab's and pandas' styles): errors only."""
    loggers = [
        logging.getLogger(name) for name in ("weasyprint", "weasyprint.progress", "fontTools")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def render_pdf(document: str, css: str, target: Path, *, base_url: Path) -> Path:
    """Render ``document`` with ``css`` into ``target`` (written atomically); local files only.

    Parameters
    ----------
    document : str
        The HTML.
    css : str
        The stylesheet.
    target : Path
        The PDF file.
    base_url : Path
        Folder relative links resolve against.

    Returns
    -------
    Path
        ``target``.
    """
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp")
    fetcher = weasyprint.URLFetcher(allowed_protocols={"file", "data"}, timeout=5)
    fonts = FontConfiguration()  # without it, @font-face rules are ignored
    try:
        with _quiet_weasyprint():
            weasyprint.HTML(
                string=document, base_url=str(base_url) + os.sep, url_fetcher=fetcher
            ).write_pdf(
                str(tmp),
                stylesheets=[weasyprint.CSS(string=css, url_fetcher=fetcher, font_config=fonts)],
                font_config=fonts,
                optimize_images=True,
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


# ------------------------------------------------------------------ the index's note
def _add_to_index(stage: Path, snippet: str) -> None:
    index = Path(stage) / "index.html"
    if not index.exists():
        return
    text = index.read_text(encoding="utf-8")
    if "</h1>" in text:
        text = text.replace("</h1>", "</h1>\n" + snippet, 1)
    else:
        text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + snippet, text, count=1)
    index.write_text(text, encoding="utf-8")


def note_skipped(stage: Path, reason: str, lang: str, *, shown: str | None = None) -> None:
    """Say on the index page that the PDF was not written, why, and what to install.

    ``reason`` (English) is kept for ``ccm``'s warning line; ``shown`` is the reason in
    the page language (default ``reason``).

    Parameters
    ----------
    stage : Path
        The staging folder.
    reason : str
        Why (English).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    shown : str, optional
        The reason in the page language.
    """
    t = _texts(lang)
    text = t["skipped"].format(reason=(shown or reason).rstrip("."), hint=INSTALL_HINT)
    _add_to_index(
        stage,
        f'<p class="ccm-pdf-skipped" id="{SKIPPED_ID}" data-reason="{_html.escape(reason)}" '
        f'style="color:#a05a00">{_html.escape(text)}</p>',
    )


def pdf_skipped(final: Path) -> str | None:
    """Why a report has no report.pdf (from its index page), or None when nothing was skipped.

    Parameters
    ----------
    final : Path
        The report folder.

    Returns
    -------
    str or None
    """
    index = Path(final) / "index.html"
    if not index.exists():
        return None
    m = re.search(rf'id="{SKIPPED_ID}" data-reason="([^"]*)"', index.read_text(encoding="utf-8"))
    return _html.unescape(m.group(1)) if m else None


def write_report_pdf(
    stage: Path,
    pages: list[str],
    *,
    quarter: str,
    lang: str,
    firm: str,
    enabled: bool = True,
    generated: str | None = None,
) -> Path | None:
    """Write ``stage/report.pdf`` from the finished pages (cover, highlights, pages).

    Parameters
    ----------
    stage : Path
        The staging folder of the report (pages, index.html), before it replaces the
        previous report.
    pages : list of str
        The report's pages in order.
    quarter, lang, firm : str
        The cover's quarter, the report language and the firm's name.
    enabled : bool
        False (``--no-pdf``): no PDF, and one copied from the previous report (``ccm run``)
        is removed, since it would not show the re-run page.
    generated : str, optional
        The date on the cover; default today.

    Returns
    -------
    Path or None
        The PDF, or None when it was not written (disabled, or WeasyPrint cannot run
        here: the index page then says why and what to install).

    Raises
    ------
    ReportError
        When the PDF could not be rendered for another reason; the caller drops the
        staging folder, so the previous report stays as it was.
    """
    from analysis.report.runner import ReportError

    stage = Path(stage)
    target = stage / PDF_FILE
    target.unlink(missing_ok=True)
    if not enabled:
        return None
    reason = weasyprint_unavailable()
    if reason:
        note_skipped(stage, reason, lang, shown=weasyprint_unavailable(lang))
        return None
    generated = generated or dt.date.today().isoformat()
    font = None
    try:
        document = print_document(
            stage, pages, quarter=quarter, lang=lang, firm=firm, generated=generated
        )
        font = _font_file(
            document + firm + quarter + "".join(_texts(lang)["page_ref"]) + "0123456789 /", stage
        )
        css = print_css(font_url=font.resolve().as_uri(), firm=firm, quarter=quarter, lang=lang)
        render_pdf(document, css, target, base_url=stage)
    except Exception as exc:
        raise ReportError(
            f"report.pdf could not be written ({type(exc).__name__}: {exc}); the report was not "
            f"updated. `ccm report --no-pdf` builds it without the PDF."
        ) from exc
    finally:
        if font is not None:
            font.unlink(missing_ok=True)
    t = _texts(lang)
    _add_to_index(
        stage,
        f'<p class="meta ccm-pdf-link">{_html.escape(t["link"])}<a href="{PDF_FILE}">{PDF_FILE}</a></p>',
    )
    return target
