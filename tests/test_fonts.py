"""Chinese renders as glyphs from the font the project installs (no missing-glyph warnings)."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from analysis.viz.style import cjk_font_name, use_style


def test_bundled_cjk_font_is_used():
    use_style("zh")
    assert plt.rcParams["font.sans-serif"][0] == cjk_font_name() == "Noto Sans CJK SC"


def test_chinese_labels_have_no_missing_glyphs(tmp_path):
    use_style("zh")
    fig, ax = plt.subplots()
    ax.bar(["关键客户", "主要客户", "普通客户", "小客户"], [1, 2, 3, 4])
    ax.set_title("客户金字塔 · 毛利率 −12%")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "x.png")
    plt.close(fig)
    missing = [
        str(w.message)
        for w in caught
        if "missing from font" in str(w.message) or "Glyph" in str(w.message)
    ]
    assert not missing, missing


def test_a_font_without_cjk_would_be_detected(tmp_path):
    # The check above can fail: with DejaVu Sans only, matplotlib reports the missing glyphs.
    plt.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    fig, ax = plt.subplots()
    ax.set_title("客户")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "y.png")
    plt.close(fig)
    assert any("missing from font" in str(w.message) for w in caught)
    use_style("zh")


def test_font_subset_is_cut_once_and_kept_for_the_next_run(tmp_path, monkeypatch):
    from analysis.report import runner
    from analysis.viz import style

    monkeypatch.setenv(runner.CACHE_ENV, str(tmp_path / "cache"))
    cuts = []
    real = style.cjk_font_subset
    monkeypatch.setattr(style, "cjk_font_subset", lambda chars: cuts.append(chars) or real(chars))
    first = runner.cached_font_subset("客户分类")
    again = runner.cached_font_subset("客户分类")
    other = runner.cached_font_subset("客户")
    assert cuts == ["客户分类", "客户"]  # the second run of the same characters reads the kept one
    assert first == again == real("客户分类") and other != first
    assert len(list((tmp_path / "cache" / "fonts").glob("cjk-*.otf"))) == 2


def test_an_unwritable_cache_folder_is_not_used(tmp_path, monkeypatch):
    from analysis.report import runner

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv(runner.CACHE_ENV, str(blocker))
    assert runner.cached_font_subset("客户")[:4] in (b"OTTO", b"\x00\x01\x00\x00")
