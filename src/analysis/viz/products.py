"""Charts of the product pages (02_product_mix, 03_margin_ranking).

Every helper takes ``lang`` for its labels and ``ax=None``, and returns the Axes.
Product and category names are drawn literally (:func:`analysis.escaping.plain_text`);
notes escape their text for Markdown.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.escaping import NO_MATH_CLASS, escape_markdown, plain_labels, plain_text
from analysis.products.margin import QUADRANTS
from analysis.viz.labels import label, relabel
from analysis.viz.style import axes, bar_line, fmt_cny, money_axis, pct_axis

__all__ = [
    "pareto_chart",
    "profit_chart",
    "note",
    "loss_note",
    "over_served_note",
    "category_chart",
    "leanings_heatmap",
    "share_change_chart",
    "margin_bars",
    "quadrant_chart",
    "class_financials_chart",
    "over_served_chart",
]

_CLASS_COLOURS = {"A": 0, "B": 1, "C": 7}


def _short(names, width: int = 12) -> list[str]:
    return [s if len(s) <= width else s[: width - 1] + "…" for s in map(str, names)]


def pareto_chart(
    ranked: pd.DataFrame,
    *,
    lang: str = "zh",
    cutoffs=(0.75, 0.95),
    name_col: str = "product_name",
    class_col: str = "abc_class",
    max_names: int = 30,
    ax=None,
):
    """Sales bars of every product coloured by ABC class, the cumulative share line and the cut-offs.

    Product names label the bars when there are at most ``max_names`` products.

    Parameters
    ----------
    ranked : DataFrame
        From :func:`analysis.products.mix.product_abc`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    cutoffs : sequence of float
        The ABC cut-offs.
    name_col : str
        Product name column.
    class_col : str
        Class column.
    max_names : int
        Most products named.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (10, 4.8))
    pal = sns.color_palette()
    colours = [pal[_CLASS_COLOURS.get(c, 7)] for c in ranked[class_col]]
    x = np.arange(len(ranked))
    ax.bar(x, ranked["sales"], color=colours, width=0.85)
    if len(ranked) <= max_names:
        ax.set_xticks(
            x, plain_labels(_short(ranked[name_col])), rotation=60, ha="right", fontsize=8
        )
    else:
        ax.set_xticks([])
        ax.set_xlabel(label("pm_products_ranked", lang, n=len(ranked)))
    ax.set_ylabel(f"{label('sales', lang)} ({label('cny', lang)})")
    money_axis(ax)
    ax2 = ax.twinx()
    ax2.plot(x, ranked["cum_share"], color=pal[3], lw=2)
    for c in cutoffs:
        ax2.axhline(c, color="grey", ls="--", lw=0.8)
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel(label("pm_cum_share", lang))
    ax2.grid(False)
    pct_axis(ax2)
    handles = [plt.Rectangle((0, 0), 1, 1, color=pal[i]) for i in _CLASS_COLOURS.values()]
    ax.legend(handles, list(_CLASS_COLOURS), title="ABC", loc="center right", fontsize=8)
    ax.set_title(label("pm_pareto_title", lang))
    return ax


def profit_chart(
    table: pd.DataFrame,
    *,
    lang: str = "zh",
    top_n: int = 15,
    name_col: str = "product_name",
    ax=None,
):
    """Gross profit bars of the ``top_n`` most profitable products, their margin rate as a line.

    Parameters
    ----------
    table : DataFrame
        Margin per product.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    top_n : int
        Rows kept.
    name_col : str
        Product name column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    top = table.sort_values("gross_profit", ascending=False, kind="stable").head(top_n)
    ax = bar_line(
        _short(top[name_col]),
        top["gross_profit"],
        top["gross_margin_rate"],
        bar_label=f"{label('gross_profit', lang)} ({label('cny', lang)})",
        line_label=label("gross_margin_rate", lang),
        title=label("mr_product_profit_title", lang, n=len(top)),
        ax=ax,
    )
    ax.tick_params(axis="x", labelsize=8)
    return ax


def note(text: str):
    """A bold one-line note for a notebook (an IPython Markdown object; ``display`` it).

    ``text`` is shown as it is: HTML and Markdown marks in it (from a data value filled into
    a label) are escaped, never rendered.

    Parameters
    ----------
    text : str
        The note.

    Returns
    -------
    IPython.display.Markdown
    """
    from IPython.display import Markdown

    return Markdown(f'> **<span class="{NO_MATH_CLASS}">{escape_markdown(text)}</span>**')


def loss_note(
    losers: pd.DataFrame, *, what_key: str, lang: str = "zh", profit_col: str = "gross_profit"
):
    """The call-out for loss-makers: how many have negative gross profit and how much they lose.

    Parameters
    ----------
    losers : DataFrame
        From :func:`analysis.products.margin.loss_makers`.
    what_key : str
        Label key of what loses (products, customers).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    profit_col : str
        Gross profit column.

    Returns
    -------
    IPython.display.Markdown
    """
    what = label(what_key, lang)
    if losers.empty:
        return note(label("mr_no_loss_makers", lang, what=what.lower() if lang == "en" else what))
    return note(
        label(
            "mr_loss_makers",
            lang,
            what=what,
            n=len(losers),
            total=fmt_cny(losers[profit_col].sum()),
        )
    )


def over_served_note(served: pd.DataFrame, *, lang: str = "zh"):
    """The call-out for over-served customers: how many and the gross profit they bring.

    Parameters
    ----------
    served : DataFrame
        From :func:`analysis.products.margin.over_served`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    IPython.display.Markdown
    """
    flagged = served[served["over_served"]]
    return note(
        label(
            "mr_over_served_count",
            lang,
            n=len(flagged),
            profit=fmt_cny(flagged["gross_profit"].sum()),
        )
    )


def category_chart(subtotals: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Category sales as bars, the gross margin rate as a line when known.

    Parameters
    ----------
    subtotals : DataFrame
        From :func:`analysis.products.mix.category_subtotals`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    rate = subtotals["gross_margin_rate"] if subtotals["gross_margin_rate"].notna().any() else None
    return bar_line(
        subtotals["category"],
        subtotals["sales"],
        rate,
        bar_label=f"{label('sales', lang)} ({label('cny', lang)})",
        line_label=label("gross_margin_rate", lang),
        title=label("pm_category_title", lang),
        ax=ax,
    )


def leanings_heatmap(
    matrix: pd.DataFrame, *, lang: str = "zh", title_key: str = "pm_leanings_class_title", ax=None
):
    """Category x group heatmap of sales shares; the last column is the all-customer average.

    Parameters
    ----------
    matrix : DataFrame
        From :func:`analysis.products.mix.leanings_matrix`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    title_key : str
        Label key of the title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    mat = matrix.rename(columns={"all": label("pm_all_customers", lang)})
    mat = mat.set_axis(plain_labels(mat.index), axis=0).set_axis(plain_labels(mat.columns), axis=1)
    ax = axes(ax, (1.3 * mat.shape[1] + 3, 0.45 * mat.shape[0] + 1.5))
    sns.heatmap(mat * 100, annot=True, fmt=".1f", cmap="Blues", cbar_kws={"label": "%"}, ax=ax)
    ax.set_ylabel(label("category", lang))
    ax.set_xlabel("")
    ax.set_title(label(title_key, lang))
    return ax


def share_change_chart(
    shift: pd.DataFrame, *, lang: str = "zh", other: str = "", key_col: str = "category", ax=None
):
    """Horizontal bars of share change in points (gains green, losses red).

    Parameters
    ----------
    shift : DataFrame
        From :func:`analysis.products.mix.mix_shift`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    other : str
        The period compared with.
    key_col : str
        The bars' names.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    df = shift.sort_values("change_pts")
    ax = axes(ax, (8, 0.4 * len(df) + 1.5))
    pal = sns.color_palette()
    colours = [pal[2] if v >= 0 else pal[3] for v in df["change_pts"]]
    ax.barh(range(len(df)), df["change_pts"] * 100, color=colours)
    ax.set_yticks(range(len(df)), plain_labels(_short(df[key_col], 16)))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(label("change_pts", lang) + " (pt)")
    ax.set_title(label("pm_mix_shift_title", lang, other=other))
    return ax


def margin_bars(
    df: pd.DataFrame,
    key_col: str,
    *,
    lang: str = "zh",
    title_key: str,
    overall: float | None = None,
    rate_col: str = "gross_margin_rate",
    ax=None,
):
    """Horizontal bars of the margin rate per group, with the overall rate as a dashed line.

    Parameters
    ----------
    df : DataFrame
        Margin per group.
    key_col : str
        The group column.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    title_key : str
        Label key of the title.
    overall : float, optional
        The overall rate (dashed line).
    rate_col : str
        Margin rate column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    d = df.sort_values(rate_col)
    ax = axes(ax, (8, 0.4 * len(d) + 1.5))
    pal = sns.color_palette()
    colours = [pal[3] if v < 0 else pal[0] for v in d[rate_col].fillna(0)]
    ax.barh(range(len(d)), d[rate_col], color=colours)
    ax.set_yticks(
        range(len(d)), plain_labels(_short(relabel(d[key_col].astype("object"), lang), 16))
    )
    if overall is not None and pd.notna(overall):
        ax.axvline(overall, color="grey", ls="--", lw=1)
    pct_axis(ax, "x")
    ax.set_xlabel(label("gross_margin_rate", lang))
    ax.set_title(label(title_key, lang))
    return ax


def quadrant_chart(
    df: pd.DataFrame,
    *,
    lang: str = "zh",
    label_top: int = 8,
    name_col: str = "product_name",
    xlabel: str | None = None,
    ax=None,
):
    """Margin rate (y) against stock turnover (x, log scale when all positive), bubbles sized by sales,
    the split lines and the quadrant names in the legend; ``xlabel`` names the turnover's basis
    (e.g. :func:`turnover_caption`).

    Parameters
    ----------
    df : DataFrame
        From :func:`analysis.products.margin.margin_turnover_quadrant`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    label_top : int
        Largest products named.
    name_col : str
        Product name column.
    xlabel : str, optional
        The x axis' label.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    from matplotlib.lines import Line2D

    ax = axes(ax, (9, 6))
    rated = df[df["product_quadrant"].notna()]
    pal = sns.color_palette()
    colours = dict(zip(QUADRANTS.values(), [pal[2], pal[0], pal[1], pal[3]]))
    size = 15 + 400 * rated["sales"].clip(lower=0) / max(rated["sales"].max(), 1)
    ax.scatter(
        rated["stock_turnover"],
        rated["gross_margin_rate"],
        s=size,
        alpha=0.6,
        color=[colours[k] for k in rated["product_quadrant"]],
    )
    if len(rated):
        ax.axvline(rated["turnover_split"].iloc[0], color="grey", ls="--", lw=1)
        ax.axhline(rated["margin_split"].iloc[0], color="grey", ls="--", lw=1)
        if (rated["stock_turnover"] > 0).all():
            ax.set_xscale("log")
    for _, r in rated.nlargest(label_top, "sales").iterrows():
        ax.annotate(
            plain_text(_short([r[name_col]])[0]),
            (r["stock_turnover"], r["gross_margin_rate"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    pct_axis(ax)
    ax.set_xlabel(xlabel or label("stock_turnover", lang))
    ax.set_ylabel(label("gross_margin_rate", lang))
    handles = [
        Line2D([], [], ls="", marker="o", ms=8, alpha=0.6, color=c, label=label(k, lang))
        for k, c in colours.items()
    ]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_title(label("mr_quadrant_title", lang))
    return ax


def class_financials_chart(
    fin: pd.DataFrame, *, lang: str = "zh", class_col: str = "abc_class", ax=None
):
    """Average collection days (bars) and arrears rate (line) per customer class.

    Parameters
    ----------
    fin : DataFrame
        From :func:`analysis.products.margin.class_financials`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    class_col : str
        Class column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = bar_line(
        fin[class_col],
        fin["collection_days"],
        fin["arrears_rate"],
        bar_label=label("collection_days", lang),
        line_label=label("arrears_rate", lang),
        title=label("mr_class_fin_title", lang),
        ax=ax,
    )
    ax.tick_params(axis="x", rotation=0)
    return ax


def over_served_chart(df: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Customers' margin rate (y) against service contacts (x); over-served ones highlighted.

    Parameters
    ----------
    df : DataFrame
        From :func:`analysis.products.margin.over_served`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (8, 5))
    pal = sns.color_palette()
    flag = df["over_served"].astype(bool)
    ax.scatter(
        df.loc[~flag, "service_load"],
        df.loc[~flag, "gross_margin_rate"],
        s=18,
        alpha=0.5,
        color=pal[0],
        label=label("customer", lang),
    )
    ax.scatter(
        df.loc[flag, "service_load"],
        df.loc[flag, "gross_margin_rate"],
        s=40,
        color=pal[3],
        label=label("over_served", lang),
    )
    pct_axis(ax)
    ax.set_xlabel(label("service_load", lang))
    ax.set_ylabel(label("gross_margin_rate", lang))
    ax.legend(fontsize=8)
    ax.set_title(label("mr_over_served_title", lang))
    return ax


def turnover_caption(
    turnover: pd.DataFrame, *, basis: str, lang: str = "zh", key: str = "mr_turnover_short"
) -> str:
    """The short name of the stock turnover measured (basis and period), for a caption or axis:
    ``key`` is ``mr_turnover_short`` (turnover) or ``mr_cross_short`` (cross ratio).

    Parameters
    ----------
    turnover : DataFrame
        From :func:`analysis.products.margin.stock_turnover`.
    basis : str
        The turnover's basis.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    key : str
        The label used.

    Returns
    -------
    str
    """
    monthly = len(turnover) and turnover["turnover_period"].iloc[0] == "period_month"
    return label(
        key,
        lang,
        basis=label(f"mr_turnover_short_{basis}", lang),
        period=label("mr_turnover_short_month" if monthly else "mr_turnover_short_whole", lang),
    )


def turnover_notes(turnover: pd.DataFrame, *, basis: str, lang: str = "zh"):
    """The two notes above the turnover tables: the basis and period of the turnover, and how many
    products have no turnover (zero or no stock); an IPython Markdown.

    Parameters
    ----------
    turnover : DataFrame
        From :func:`analysis.products.margin.stock_turnover`.
    basis : str
        The turnover's basis.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    IPython.display.Markdown
    """
    from IPython.display import Markdown

    period = turnover["turnover_period"].iloc[0] if len(turnover) else "period_whole"
    how = label(
        "mr_turnover_basis_note",
        lang,
        basis=label(f"basis_{basis}", lang),
        period=label(period, lang),
    )
    undefined = label("mr_turnover_undefined", lang, n=int(turnover["stock_turnover"].isna().sum()))
    return Markdown(f"{note(how).data}\n\n{note(undefined).data}")
