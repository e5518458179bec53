"""What `make report` does: the full quarterly report of the sample company."""
import json

import nbformat
import pytest

from analysis.report import build_report, discover_notebooks


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory, sample_dir):
    out = tmp_path_factory.mktemp("reports")
    return build_report(sample_dir, out=out, jobs=2, progress=False)


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_every_page_index_and_summary(sample_report):
    assert sample_report.name == "2025Q4"
    summary = json.loads((sample_report / "summary.json").read_text())
    index = (sample_report / "index.html").read_text()
    for nb in discover_notebooks():
        assert (sample_report / f"{nb}.html").exists()
        assert f'href="{nb}.html"' in index
        assert summary[nb]["quarter"] == "2025Q4"
    assert summary["00_data_overview"]["customers"] > 400


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_overview_page_shows_no_code_and_a_chinese_chart(sample_report):
    html = (sample_report / "00_data_overview.html").read_text()
    assert "ctx.record" not in html and "import pandas" not in html
    assert "data:image/png;base64" in html
    assert "数据概览" in html and "月度销售额" in html
    for nb in discover_notebooks():
        executed = nbformat.read(str(sample_report / f"{nb}.ipynb"), as_version=4)
        text = json.dumps([c.get("outputs", []) for c in executed.cells], ensure_ascii=False)
        assert "missing from font" not in text, f"{nb}: a glyph is missing from the CJK font"


@pytest.mark.notebook
@pytest.mark.xdist_group("sample_report")
def test_pages_carry_the_cjk_font_for_every_character_they_use(sample_report):
    # Chinese in the HTML text (not only in chart images) must render from the project's font
    import html

    from fontTools.ttLib import TTFont

    from analysis.report import FONT_FILE

    cmap = TTFont(str(sample_report / FONT_FILE)).getBestCmap()
    for page in sample_report.glob("*.html"):
        text = html.unescape(page.read_text())
        assert 'id="ccm-cjk-font"' in text and "unicode-range" in text, page.name
        cjk = {ch for ch in text if 0x2E80 <= ord(ch) <= 0x9FFF or 0xFF00 <= ord(ch) <= 0xFFEF}
        assert cjk and not {ch for ch in cjk if ord(ch) not in cmap}, page.name
