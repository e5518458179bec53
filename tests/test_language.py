"""One language per report page (issue 11 items 1-3).

- every narrative cell of a report notebook exists in English and Chinese (``lang-en`` then ``lang-zh``);
- a rendered ``zh`` page has no English paragraph and an ``en`` page no Chinese one
  (measured by :mod:`analysis.report.language`), and the measure fails on pages that show
  both languages, as the pages did before the export dropped the other language;
- the index names every headline number in the report language.
"""

import copy
import json
import re

import nbformat
import pytest

from analysis.report.language import (
    cjk_count,
    foreign_paragraphs,
    is_foreign,
    latin_words,
    narrative_paragraphs,
    notebook_language_problems,
    tags_to_remove,
)
from analysis.report.runner import discover_notebooks, notebook_path

NOTEBOOKS = discover_notebooks()


# ------------------------------------------------------------------ the notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_narrative_cell_exists_in_both_languages(name):
    nb = nbformat.read(str(notebook_path(name)), as_version=4)
    assert notebook_language_problems(nb) == []
    assert any(c.cell_type == "markdown" for c in nb.cells)


def _markdown(cell_id, text, tag):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id, cell.metadata["tags"] = cell_id, [tag]
    return cell


def test_the_pairing_check_fails_on_a_broken_copy():
    nb = nbformat.read(str(notebook_path(NOTEBOOKS[0])), as_version=4)
    first_zh = next(i for i, c in enumerate(nb.cells) if "lang-zh" in c.metadata.get("tags", []))

    english_only = copy.deepcopy(nb)  # a section in English only
    del english_only.cells[first_zh]
    problems = notebook_language_problems(english_only)
    assert len(problems) == 1 and "not directly followed by its lang-zh cell" in problems[0]

    chinese_only = copy.deepcopy(nb)  # a section in Chinese only
    del chinese_only.cells[first_zh - 1]
    assert (
        "does not directly follow its lang-en cell" in notebook_language_problems(chinese_only)[0]
    )

    untagged = copy.deepcopy(nb)
    untagged.cells[first_zh].metadata["tags"] = []
    assert any("no language tag" in p for p in notebook_language_problems(untagged))

    apart = copy.deepcopy(nb)  # the pair split by a code cell
    apart.cells.insert(first_zh, nbformat.v4.new_code_cell("x = 1"))
    assert len(notebook_language_problems(apart)) == 2

    renamed = copy.deepcopy(nb)  # the Chinese cell's id is not the English id + "-zh"
    renamed.cells[first_zh].id = "other"
    assert "its id should be" in notebook_language_problems(renamed)[0]


def test_pairing_check_on_hand_made_cells():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _markdown("a", "# 00 Overview (概览)", "lang-en"),
        _markdown("a-zh", "# 00 概览", "lang-zh"),
        nbformat.v4.new_code_cell("x = 1"),
        _markdown("b", "## 1. Method", "lang-en"),
    ]
    assert notebook_language_problems(nb) == [
        "cell 3 (b: '## 1. Method') is English and not directly followed by its lang-zh cell"
    ]
    nb.cells.append(_markdown("b-zh", "## 1. 方法", "lang-zh"))
    assert notebook_language_problems(nb) == []


def test_an_export_drops_the_other_language():
    assert tags_to_remove("zh") == {"lang-en"} and tags_to_remove("en") == {"lang-zh"}
    with pytest.raises(ValueError, match="unknown lang"):
        tags_to_remove("fr")


# ------------------------------------------------------------------ the measure
def test_latin_words_leave_out_acronyms_codes_formulas_and_parentheses():
    text = "按 ABC 分类（ABC analysis），V = $x \\cdot y$ 由 the sales team (sales) 决定，ROC AUC 与 BG/NBD"
    assert latin_words(text) == ["the", "sales", "team"]
    assert latin_words("A 类客户占销售额 75%，C7 增加额度") == []
    assert cjk_count("客户（customer）ABC") == 2


def test_a_chinese_paragraph_may_hold_three_latin_words():
    assert not is_foreign("本页用途：说明 the sales team 的作用。", "zh")
    assert is_foreign("本页用途：the sales team works here。", "zh")
    assert is_foreign("Purpose. This page shows the composition.", "zh")
    assert not is_foreign("Purpose. This page shows the composition.", "zh", max_latin=10)


def test_an_english_paragraph_is_foreign_when_mostly_chinese():
    assert not is_foreign("The customer pyramid (客户金字塔) ranks customers by profit.", "en")
    assert is_foreign("客户金字塔按毛利给客户排序 (pyramid)。", "en")
    assert not is_foreign("A 75% B 20%", "en")


def test_paragraphs_leave_out_tables_code_and_nested_lists():
    page = """<html><body>
    <h2 id="x">1. 方法<a class="anchor-link" href="#x">¶</a></h2>
    <p>第一段 <code>ctx.needs(section)</code> 说明。</p>
    <ul><li><p>列表段落</p></li><li>短项<ul><li>内层</li></ul></li></ul>
    <table><tr><td><p>Customer table text in English words</p></td></tr></table>
    <pre>print("English output here and there")</pre>
    <p>English words in this paragraph are too many</p>
    </body></html>"""
    english = "English words in this paragraph are too many"
    chinese = ["1. 方法", "第一段 说明。", "列表段落", "短项", "内层"]
    assert narrative_paragraphs(page) == [*chinese, english]
    assert foreign_paragraphs(page, "zh") == [english]
    assert foreign_paragraphs(page, "en") == chinese


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_skip_notes_name_sections_by_label(name):
    """Each section a notebook may skip (ctx.needs("sec_...")) is named in both languages."""
    from analysis.viz.labels import label

    source = "\n".join(
        c.source
        for c in nbformat.read(str(notebook_path(name)), as_version=4).cells
        if c.cell_type == "code"
    )
    sections = re.findall(r"""ctx\.needs\(\s*["']([^"']+)["']""", source)
    sections += re.findall(r"""\bsec = ["']([^"']+)["']""", source)
    for section in sections:
        assert section.startswith("sec_"), f"{name}: ctx.needs({section!r}) names no label"
        assert label(section, "zh") and label(section, "en")


# ------------------------------------------------------------------ computed sentences
def test_the_ledger_check_speaks_the_page_language_and_raises_in_english():
    from analysis.finance import credit

    bad = [
        {
            "quarter": "2025Q4",
            "raised_by": "sales_director",
            "approved_by": "",
            "filed_with": "cfo",
            "changes": {"D24": 50_000, "C7": -40_000},
        }
    ]
    zh = credit.check_ledger(bad, payers=credit.CASE_3_PAYERS, strict=False, lang="zh")
    assert zh["problems"] == [
        "第 1 次调整（2025Q4）应经 CEO 同意（未记录）",
        "第 1 次调整（2025Q4）：调整不平衡：增加 +50,000，减少 -40,000，净额 +10,000",
        "第 1 次调整（2025Q4）给 D24 增加额度 50,000，但 D24 属于回款差客户：只给回款好的客户增加额度",
    ]
    assert zh["message"] == "调整台账不符合规定：" + "；".join(zh["problems"])
    en = credit.check_ledger(bad, payers=credit.CASE_3_PAYERS, strict=False, lang="en")
    assert (
        en["problems"][0]
        == "adjustment 1 (2025Q4) must be approved by the CEO (approved_by is missing)"
    )
    with pytest.raises(ValueError, match="adjustment ledger breaks the rules: adjustment 1"):
        credit.check_ledger(bad, payers=credit.CASE_3_PAYERS, lang="zh")
    ok = credit.check_ledger(
        credit.CASE_3_LEDGER, payers=credit.CASE_3_PAYERS, default_quarter="2025Q4", lang="zh"
    )
    assert ok["message"] == "调整台账符合规定：共 1 次调整，增加 +100,000，减少 -100,000"
    assert not is_foreign(ok["message"], "zh") and not is_foreign(zh["message"], "zh")


# ------------------------------------------------------------------ the rendered sample report
@pytest.fixture(scope="module", params=["zh", "en"])
def report(request, sample_report_of):
    """The sample report in each language (built once per session, shared with
    tests/test_sample_report.py)."""
    return sample_report_of(request.param), request.param


def _visible_text(path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for el in soup(["script", "style"]):
        el.decompose()
    return soup.get_text(" ")


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_every_page_speaks_the_report_language(report):
    final, lang = report
    pages = sorted(final.glob("*.html"))
    assert len(pages) == len(NOTEBOOKS) + 1  # and the index
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert len(narrative_paragraphs(html)) > 3, page.name
        assert foreign_paragraphs(html, lang) == [], page.name


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_the_measure_fails_on_pages_with_both_languages(report):
    """Exported as before (no cell dropped), every page shows the other language's narrative."""
    from nbconvert import HTMLExporter

    final, lang = report
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    for name in NOTEBOOKS:
        nb = nbformat.read(str(final / f"{name}.ipynb"), as_version=4)
        both, _ = exporter.from_notebook_node(nb)
        assert len(foreign_paragraphs(both, lang)) >= 3, name
        kept, _ = HTMLExporter(
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            config=_drop(lang),
        ).from_notebook_node(nb)
        assert foreign_paragraphs(kept, lang) == [], name


def _drop(lang):
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = tags_to_remove(lang)
    return c


def _keys(obj):
    """Every key at every depth of a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v)


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_the_index_labels_every_number_and_shows_no_raw_key(report):
    from analysis.report.headlines import headline_items, unlabelled_keys

    final, lang = report
    summary = json.loads((final / "summary.json").read_text(encoding="utf-8"))
    assert unlabelled_keys(summary) == []
    text = _visible_text(final / "index.html")
    raw = sorted({k for k in _keys(summary) if "_" in str(k) and re.search(rf"\b{k}\b", text)})
    assert raw == [], f"raw keys on the index: {raw}"
    shown = sum(len(headline_items(page, values)) for page, values in summary.items())
    assert shown >= 60  # every page's headline numbers are there
    for page, values in summary.items():  # in the report language, formatted
        for _, _value, entry in headline_items(page, values):
            assert entry[lang] in text
    if lang == "zh":
        assert "万元" in text and "¥" not in text


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_the_index_opens_with_highlights_linked_to_their_sections(report):
    from bs4 import BeautifulSoup

    final, lang = report
    soup = BeautifulSoup((final / "index.html").read_text(encoding="utf-8"), "html.parser")
    section = soup.find(id="highlights")
    assert section is not None and section.find_previous("div", class_="card") is None
    items = section.find_all("li")
    assert 6 <= len(items) <= 10
    for li in items:
        assert re.search(r"\d", li.get_text()), li.get_text()  # each carries its number
        assert not is_foreign(li.get_text(" "), lang), li.get_text()
        page, _, anchor = li.a["href"].partition("#")
        assert anchor, li.a["href"]  # the section, not only the page
        assert f'id="{anchor}"' in (final / page).read_text(encoding="utf-8"), li.a["href"]


def test_the_value_forecast_says_what_history_it_needs_in_the_page_language():
    import pandas as pd

    from analysis.value import forecast as vf

    tx = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2025-01-01"]), "amount": [1.0]}
    )
    assert vf.history_gap(tx, "2025-12-01") == (
        "transactions from 2024-11-03 or earlier (a 365-day holdout before 2025-12-01 plus 28 "
        "days of history)"
    )
    zh = vf.history_gap(tx, "2025-12-01", lang="zh")
    assert (
        zh == "2024-11-03 或更早的交易数据（2025-12-01 之前 365 天的回测检验期，另加 28 天的历史）"
    )
    assert not is_foreign(zh, "zh")


def test_exports_in_turn_in_both_languages_each_keep_their_own(tmp_path):
    # a worker exports page after page with one exporter per language: none leaks into the other
    import nbformat

    from analysis.report.runner import to_html

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("只有中文的段落", metadata={"tags": ["lang-zh"]}),
        nbformat.v4.new_markdown_cell("English only paragraph", metadata={"tags": ["lang-en"]}),
    ]
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    for lang in ("en", "zh", "en", "zh"):
        page = to_html(path, lang).read_text("utf-8")
        assert ("English only paragraph" in page) == (lang == "en")
        assert ("只有中文的段落" in page) == (lang == "zh")
