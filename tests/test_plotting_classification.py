"""Charts and tables of notebook 01: titled and labelled in both languages, formatted numbers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.classify import classes as cl
from analysis.classify.concentration import lorenz_curve
from analysis.viz import classify as pc
from analysis.viz.style import use_style
from analysis.viz.tables import show


@pytest.fixture(autouse=True)
def _style():
    use_style("zh")
    yield
    plt.close("all")


def abc():
    df = pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "monetary": [60.0, 20, 10, 5, 5, -1],
            "gross_profit": [6.0, 2, 1, 1, 0, -1],
        }
    )
    return cl.abc_classes(df, "monetary")


@pytest.mark.parametrize(
    "lang, title, xlabel",
    [("zh", "客户ABC分析", "客户（按销售额"), ("en", "Customer ABC", "ranked by sales")],
)
def test_pareto_chart_titles_and_axes(lang, title, xlabel):
    ax = pc.pareto_chart(abc(), "monetary", lang=lang, basis="sales", window="12m")
    assert ax.get_title().startswith(title) and xlabel in ax.get_xlabel()
    assert ax.get_ylabel()  # value axis labelled
    assert ax.yaxis.get_major_formatter()(1234567, 0) == "1,234,567"


def test_lorenz_trend_pyramid_and_others_draw_with_titles():
    a = abc()
    assert "0.5" in pc.lorenz_chart(lorenz_curve(a["monetary"]), 0.5, lang="en").get_title()
    trend = pd.DataFrame(
        {
            "quarter": ["2025Q1", "2025Q2"],
            "gini": [0.5, 0.6],
            "top_n_share": [0.7, 0.8],
            "top_share": [0.6, 0.7],
        }
    )
    assert pc.concentration_trend_chart(trend, lang="zh").get_title() == "各季度客户集中度"
    tiers = cl.tier_summary(cl.pyramid_tiers(a, "gross_profit"))
    axes = pc.pyramid_chart(tiers, "gross_profit", lang="zh")
    assert [x.get_title() for x in axes] == ["客户数量金字塔", "客户毛利金字塔"]
    quads = cl.sales_loyalty_quadrants(a.assign(loyalty=[0.9, 0.2, 0.5, 0.6, 0.1, 0.0]))
    ax = pc.quadrant_chart(quads, lang="en", label_top=2)
    assert ax.get_title() == "Sales volume × loyalty quadrants" and len(ax.texts) == 2
    moves = cl.class_migration(a, a)
    ax = pc.count_heatmap(
        cl.migration_matrix(moves), lang="zh", title="t", row_kind="class", col_kind="class"
    )
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "无购买"


def test_show_names_codes_and_formats_numbers():
    s = cl.tier_summary(cl.pyramid_tiers(abc(), "monetary"), ["monetary"])
    html = show(s, "zh", prefix="cls_").to_html()
    assert "重要客户" in html and "客户层级" in html and "¥60" in html and "%" in html
    html = show(s, "en", prefix="cls_").to_html()
    assert "Important" in html and "Tier" in html
