"""Charts and formatted tables of notebook 01 (customer composition and classification).

Every title and axis label comes from ``labels/classification.yaml`` (or
``common.yaml``) in the language asked for.  Chart helpers take ``ax=None``
(or ``axes=None`` for two panels) and return what they drew on; they never
call ``plt.show()``.  Tables escape every value as HTML and charts draw names
literally (:mod:`analysis.escaping`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.classify.classes import ABC_CLASSES, TIERS, class_label, header, label_values
from analysis.classify.scorecard import VALUE_GROUPS
from analysis.escaping import plain_labels, plain_text
from analysis.viz.labels import label
from analysis.viz.style import axes, fmt_pct, money_axis, pct_axis

__all__ = [
    "pareto_chart",
    "lorenz_chart",
    "concentration_trend_chart",
    "concentration_charts",
    "pyramid_chart",
    "pyramid_note",
    "abcd_chart",
    "composition_chart",
    "quadrant_chart",
    "count_heatmap",
    "share_vs_target_chart",
    "scorecard_chart",
    "segment_chart",
    "decision_chart",
]

ABC_COLORS = {"A": "#c0392b", "B": "#e67e22", "C": "#95a5a6"}


# ------------------------------------------------------------------ ABC and concentration
def pareto_chart(
    abc: pd.DataFrame,
    value_col: str,
    *,
    lang: str,
    basis: str = "sales",
    window: str = "12m",
    cutoffs: Sequence[float] = (0.75, 0.95),
    class_col: str = "abc_class",
    ax=None,
):
    """Customers ranked by value (bars or area by class) with the cumulative share line and the cut-offs.

    Parameters
    ----------
    abc : DataFrame
        From :func:`analysis.classify.classes.abc_classes`.
    value_col : str
        The value ranked.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    basis : str
        Name of the value (``sales`` / ``gross_profit``).
    window : str
        Window named in the title (``12m`` / ``quarter``).
    cutoffs : sequence of float
        The ABC cut-offs.
    class_col : str
        The ABC class column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    n = len(abc)
    if n == 0:
        return ax
    x = np.arange(1, n + 1) / n
    v = abc[value_col].astype("float64").to_numpy()
    for cls in ABC_CLASSES:
        m = (abc[class_col] == cls).to_numpy()
        if not m.any():
            continue
        lab = f"{cls}: {m.sum():,} / {fmt_pct(m.mean())}"
        if n <= 80:
            ax.bar(x[m], v[m], width=1 / n, align="edge", color=ABC_COLORS[cls], label=lab)
        else:
            ax.fill_between(
                x, 0, np.where(m, v, np.nan), step="pre", color=ABC_COLORS[cls], label=lab
            )
    basis_txt = label(f"cls_basis_{basis}", lang)
    ax.set_xlabel(label("cls_customers_ranked", lang, basis=basis_txt))
    ax.set_ylabel(basis_txt[:1].upper() + basis_txt[1:])
    money_axis(ax)
    pct_axis(ax, "x")
    ax2 = ax.twinx()
    ax2.plot(
        np.concatenate([[0], x]),
        np.concatenate([[0], abc["cum_share"].to_numpy()]),
        color="#2c3e50",
        lw=1.8,
        label=label("cls_cum_share", lang),
    )
    for c in cutoffs:
        ax2.axhline(c, color="#7f8c8d", ls="--", lw=0.8)
        ax2.text(
            1.0,
            c,
            f" {fmt_pct(c, decimals=0)}",
            va="center",
            ha="left",
            fontsize=8,
            color="#7f8c8d",
        )
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel(label("cls_cum_share", lang))
    ax2.grid(False)
    pct_axis(ax2)
    ax.legend(loc="center right", title=label("cls_abc_class", lang), fontsize=8)
    ax.set_title(
        label("cls_pareto_title", lang, basis=basis_txt, window=label(f"cls_window_{window}", lang))
    )
    return ax


def lorenz_chart(curve: pd.DataFrame, gini: float, *, lang: str, basis: str = "sales", ax=None):
    """The Lorenz curve against the line of equality; the Gini coefficient in the title.

    Parameters
    ----------
    curve : DataFrame
        From :func:`analysis.classify.concentration.lorenz_curve`.
    gini : float
        The Gini coefficient.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    basis : str
        Name of the value.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (5.5, 5))
    ax.plot([0, 1], [0, 1], color="#7f8c8d", ls="--", lw=1, label=label("cls_equality_line", lang))
    ax.plot(curve["customer_share"], curve["value_share"], color="#c0392b", lw=2)
    ax.fill_between(
        curve["customer_share"],
        curve["value_share"],
        curve["customer_share"],
        color="#c0392b",
        alpha=0.12,
    )
    basis_txt = label(f"cls_basis_{basis}", lang)
    ax.set_xlabel(label("cls_customer_share_axis", lang))
    ax.set_ylabel(label("cls_value_share_axis", lang, basis=basis_txt))
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(label("cls_lorenz_title", lang, gini="–" if pd.isna(gini) else f"{gini:.3f}"))
    return ax


def concentration_trend_chart(trend: pd.DataFrame, *, lang: str, top_n: int = 10, ax=None):
    """Gini, top-N share and top-20% share per quarter.

    Parameters
    ----------
    trend : DataFrame
        Concentration per quarter.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    top_n : int
        N of the top-N share.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    x = np.arange(len(trend))
    for col, style in (("gini", "o-"), ("top_n_share", "s--"), ("top_share", "^-.")):
        name = (
            header(col, lang).replace("N", str(top_n))
            if col == "top_n_share"
            else header(col, lang)
        )
        ax.plot(x, trend[col], style, label=name)
    ax.set_xticks(x, trend["quarter"].astype(str), rotation=45, ha="right")
    ax.set_xlabel(label("quarter", lang))
    ax.set_ylim(0, 1)
    pct_axis(ax)
    ax.legend(fontsize=8)
    ax.set_title(label("cls_trend_title", lang))
    return ax


def concentration_charts(
    values: pd.Series,
    trend: pd.DataFrame,
    *,
    lang: str,
    basis: str = "sales",
    top_n: int = 10,
    axes=None,
):
    """The Lorenz curve of ``values`` (with its Gini) beside the concentration trend.

    Parameters
    ----------
    values : Series
        A value per customer.
    trend : DataFrame
        Concentration per quarter.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    basis : str
        Name of the value.
    top_n : int
        N of the top-N share.
    axes : pair of matplotlib Axes, optional
        Where to draw (default a new figure).

    Returns
    -------
    pair of matplotlib Axes
        The axes drawn on.
    """
    from analysis.classify.concentration import gini, lorenz_curve

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    raw = pd.Series(values, dtype="float64").fillna(0.0)
    lorenz_chart(lorenz_curve(values), gini(raw), lang=lang, basis=basis, ax=axes[0])
    concentration_trend_chart(trend, lang=lang, top_n=top_n, ax=axes[1])
    return axes


# ------------------------------------------------------------------ pyramid
def _basis_of(value_col: str) -> str:
    """The basis a value column measures: net sales (``monetary``) or gross profit."""
    return "sales" if value_col == "monetary" else value_col


def pyramid_chart(
    summary: pd.DataFrame,
    value_col: str,
    *,
    lang: str,
    basis: str | None = None,
    tier_col: str = "tier",
    axes=None,
):
    """Two pyramids side by side: share of customers and share of value per tier (key on top);
    ``basis`` names the value (default: from ``value_col``).

    Parameters
    ----------
    summary : DataFrame
        From :func:`analysis.classify.classes.tier_summary`.
    value_col : str
        The value column.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    basis : str, optional
        Name of the value.
    tier_col : str
        Pyramid tier column.
    axes : pair of matplotlib Axes, optional
        Where to draw (default a new figure).

    Returns
    -------
    pair of matplotlib Axes
        The axes drawn on.
    """
    basis = basis or _basis_of(value_col)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    s = summary.set_index(tier_col).reindex(list(TIERS))
    colors = sns.color_palette("rocket", len(TIERS))
    y = np.arange(len(TIERS))[::-1]
    for ax, col, title in (
        (axes[0], "count_share", label("cls_pyramid_count_title", lang)),
        (
            axes[1],
            f"{value_col}_share",
            label("cls_pyramid_value_title", lang, basis=label(f"cls_basis_{basis}", lang)),
        ),
    ):
        w = s[col].fillna(0).clip(lower=0).to_numpy()
        ax.barh(y, w, left=-w / 2, color=colors, height=0.85)
        for yi, wi, t in zip(y, s[col].to_numpy(), TIERS):
            text = f"{class_label('tier', t, lang)}  {fmt_pct(wi)}"
            inside = (wi or 0) >= 0.3
            ax.text(
                0 if inside else max(wi or 0, 0) / 2 + 0.02,
                yi,
                text,
                ha="center" if inside else "left",
                va="center",
                fontsize=9,
                color="white" if inside else "black",
            )
        ax.set_xlim(-0.6, 0.75)
        ax.set_yticks([])
        ax.set_xticks([])
        ax.grid(False)
        ax.set_title(title)
    return axes


def pyramid_note(
    key: Mapping,
    *,
    lang: str,
    key_share: float,
    important_share: float,
    ordinary_share: float,
    profit_col: str = "gross_profit",
):
    """The note under the pyramids: how the tiers are cut, and what the key customers bring
    (``key`` from :func:`analysis.classify.classes.key_customer_share`); an IPython Markdown.

    Parameters
    ----------
    key : mapping
        From :func:`analysis.classify.classes.key_customer_share`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    key_share, important_share, ordinary_share : float
        The tier shares (:func:`analysis.classify.classes.pyramid_tiers`).
    profit_col : str
        Gross profit column.

    Returns
    -------
    IPython.display.Markdown
    """
    from IPython.display import Markdown

    cut = label(
        "cls_pyramid_note",
        lang,
        key_pct=f"{key_share:.0%}",
        important=f"{important_share:.0%}",
        ordinary=f"{ordinary_share:.0%}",
    )
    brings = label(
        "cls_key_share_note",
        lang,
        n=key["key_customers"],
        count_share=f"{key['key_count_share']:.1%}",
        value_share=f"{key['key_value_share']:.1%}",
        basis=label(f"cls_basis_{_basis_of(profit_col)}", lang),
    )
    return Markdown(cut + " " + brings)


# ------------------------------------------------------------------ composition
def composition_chart(comp: pd.DataFrame, *, lang: str, by: str = "channel", ax=None):
    """Sales per customer type (bars) and the big customers' share within each type (line).

    Parameters
    ----------
    comp : DataFrame
        Sales per customer type.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    by : str
        The type column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    rows = comp[comp[by] != "total"]
    names = label_values(rows[by], by, lang)
    x = np.arange(len(rows))
    ax.bar(x, rows["sales"], color=sns.color_palette()[0], label=header("sales", lang))
    ax.set_xticks(x, plain_labels(names), rotation=0)
    ax.set_ylabel(label("sales", lang))
    money_axis(ax)
    ax2 = ax.twinx()
    ax2.plot(
        x,
        rows["big_share_in_type"],
        "o-",
        color=sns.color_palette()[3],
        label=header("big_share_in_type", lang),
    )
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel(header("big_share_in_type", lang))
    ax2.grid(False)
    pct_axis(ax2)
    ax.set_xlabel(label("channel", lang))
    ax.set_title(label("cls_composition_title", lang))
    return ax


# ------------------------------------------------------------------ quadrants and scorecard
def quadrant_chart(
    df: pd.DataFrame,
    *,
    lang: str,
    sales_col: str = "monetary",
    loyalty_col: str = "loyalty",
    quadrant_col: str = "quadrant",
    name_col: str = "customer_id",
    label_top: int = 8,
    ax=None,
):
    """Loyalty (x) against sales (y, log scale), coloured by quadrant, the largest customers named.

    Parameters
    ----------
    df : DataFrame
        From :func:`analysis.classify.classes.sales_loyalty_quadrants`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    sales_col : str
        Sales column.
    loyalty_col : str
        Loyalty column.
    quadrant_col : str
        Quadrant column.
    name_col : str
        Names of the labelled customers.
    label_top : int
        Largest customers named.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (9, 5.5))
    pos = df[df[sales_col] > 0]
    palette = dict(zip("ABCD", sns.color_palette("deep", 4)))
    for q in "ABCD":
        part = pos[pos[quadrant_col] == q]
        if len(part):
            ax.scatter(
                part[loyalty_col],
                part[sales_col],
                s=14,
                alpha=0.6,
                color=palette[q],
                label=f"{class_label('quadrant', q, lang)} ({len(df[df[quadrant_col] == q]):,})",
            )
    if len(pos):
        ax.set_yscale("log")
        money_axis(ax)
    split_s, split_l = df["sales_split"].iloc[0], df["loyalty_split"].iloc[0]
    if split_s > 0:
        ax.axhline(split_s, color="#7f8c8d", ls="--", lw=0.8)
    ax.axvline(split_l, color="#7f8c8d", ls="--", lw=0.8)
    top = pos.nlargest(label_top, sales_col)
    if len(top):
        hi, lo = np.log10(top[sales_col].max()) + 0.3, np.log10(top[sales_col].min()) - 0.3
        ys = 10 ** np.linspace(hi, lo, len(top)) if len(top) > 1 else [top[sales_col].iloc[0]]
        for (_, r), ty in zip(top.iterrows(), ys):
            ax.annotate(
                plain_text(str(r[name_col])[:14]),
                xy=(r[loyalty_col], r[sales_col]),
                xytext=(1.03, ty),
                textcoords=("axes fraction", "data"),
                fontsize=7,
                va="center",
                arrowprops={"arrowstyle": "-", "color": "#95a5a6", "lw": 0.6},
            )
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(label("cls_loyalty_axis", lang))
    ax.set_ylabel(label("cls_sales_axis_log", lang))
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(label("cls_quadrant_title", lang))
    return ax


def scorecard_chart(
    card: pd.DataFrame, *, lang: str, group_col: str = "value_group", split: float = 50.0, ax=None
):
    """Current value (x) against potential value (y), coloured by value group.

    Parameters
    ----------
    card : DataFrame
        The value scorecard.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    group_col : str
        Value group column.
    split : float
        The score split.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (7, 5.5))
    present = [g for g in VALUE_GROUPS if g in set(card[group_col])]
    for i, g in enumerate(present):
        part = card[card[group_col] == g]
        ax.scatter(
            part["current_value"],
            part["potential_value"].fillna(0),
            s=12,
            alpha=0.6,
            color=sns.color_palette("deep")[i % 10],
            label=f"{class_label('value_group', g, lang)} ({len(part):,})",
        )
    ax.axvline(split, color="#7f8c8d", ls="--", lw=0.8)
    ax.axhline(split, color="#7f8c8d", ls="--", lw=0.8)
    ax.set_xlim(0, 101)
    ax.set_ylim(0, 101)
    ax.set_xlabel(header("current_value", lang))
    ax.set_ylabel(header("potential_value", lang))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(label("cls_scorecard_title", lang))
    return ax


# ------------------------------------------------------------------ counts and shares
def count_heatmap(
    matrix: pd.DataFrame,
    *,
    lang: str,
    title: str,
    row_kind: str | None = None,
    col_kind: str | None = None,
    ax=None,
):
    """Annotated heatmap of a count matrix (e.g. a migration matrix or credit grade x ABC class).

    Parameters
    ----------
    matrix : DataFrame
        Counts.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    title : str
        The title.
    row_kind, col_kind : str, optional
        Class kinds of the rows and columns (their codes are named).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (6.5, 4.8))
    shown = matrix.copy()
    shown.index = plain_labels(
        class_label(row_kind, v, lang) if row_kind else v for v in shown.index
    )
    shown.columns = plain_labels(
        class_label(col_kind, v, lang) if col_kind else v for v in shown.columns
    )
    sns.heatmap(shown, annot=True, fmt=",d", cmap="Blues", cbar=False, ax=ax, linewidths=0.5)
    ax.set_xlabel(header(matrix.columns.name, lang) if matrix.columns.name else "")
    ax.set_ylabel(header(matrix.index.name, lang) if matrix.index.name else "")
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    ax.set_title(title)
    return ax


def share_vs_target_chart(actual: pd.Series, target: pd.Series, *, lang: str, title: str, ax=None):
    """Bars of actual against target shares per class (e.g. ABCD at 20/30/30/20).

    Parameters
    ----------
    actual, target : Series
        Shares per class.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    title : str
        The title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (7, 4))
    x = np.arange(len(actual))
    ax.bar(x - 0.2, actual.to_numpy(), width=0.4, label=label("cls_actual_share", lang))
    ax.bar(
        x + 0.2,
        target.reindex(actual.index).to_numpy(),
        width=0.4,
        label=label("cls_target_share", lang),
        color="#bdc3c7",
    )
    ax.set_xticks(x, plain_labels(actual.index))
    pct_axis(ax)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return ax


def abcd_chart(
    summary: pd.DataFrame,
    target_shares: Sequence[float],
    *,
    lang: str,
    class_col: str = "credit_class",
    ax=None,
):
    """Multi-indicator ABCD: each class's actual share of customers against its target share.

    Parameters
    ----------
    summary : DataFrame
        Customers per credit class.
    target_shares : sequence of float
        Target share per class.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    class_col : str
        The class column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    actual = summary.set_index(class_col)["count_share"]
    target = pd.Series(list(target_shares), index=list("ABCD")[: len(target_shares)])
    return share_vs_target_chart(
        actual, target, lang=lang, title=label("cls_abcd_title", lang), ax=ax
    )


def segment_chart(
    summary: pd.DataFrame,
    *,
    lang: str,
    kind: str,
    class_col: str,
    title: str,
    share_col: str = "monetary_share",
    ax=None,
):
    """Horizontal bars of customers per class, each annotated with its share of sales.

    Parameters
    ----------
    summary : DataFrame
        From :func:`analysis.classify.classes.class_summary`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    kind : str
        The class kind.
    class_col : str
        The class column.
    title : str
        The title.
    share_col : str
        The share annotated.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (8, 4.5))
    rows = summary.iloc[::-1]
    names = plain_labels(class_label(kind, v, lang) for v in rows[class_col])
    ax.barh(range(len(rows)), rows["count"], color=sns.color_palette()[0])
    ax.set_yticks(range(len(rows)), names)
    for i, (c, s) in enumerate(zip(rows["count"], rows[share_col])):
        ax.text(c, i, f" {c:,} · {fmt_pct(s)}", va="center", fontsize=8)
    ax.set_xlabel(label("customers", lang))
    ax.set_xlim(0, max(rows["count"].max(), 1) * 1.3)
    ax.set_title(title)
    return ax


def decision_chart(table: pd.DataFrame, *, lang: str, tier_col: str = "tier", ax=None):
    """Stacked bars: customers per screening decision (columns ``decision_<code>``) within each tier.

    Parameters
    ----------
    table : DataFrame
        From :func:`analysis.classify.screening.strategy_table`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    tier_col : str
        Pyramid tier column.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (8, 4))
    decisions = [c for c in table.columns if c.startswith("decision_")]
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    colors = dict(zip(decisions, ["#27ae60", "#2980b9", "#f39c12", "#c0392b"]))
    for d in decisions:
        vals = table[d].to_numpy(dtype="float64")
        ax.bar(
            x,
            vals,
            bottom=bottom,
            label=class_label("decision", d.removeprefix("decision_"), lang),
            color=colors[d],
        )
        bottom += vals
    ax.set_xticks(x, plain_labels(class_label("tier", t, lang) for t in table[tier_col]))
    ax.set_ylabel(label("customers", lang))
    ax.legend(fontsize=8)
    ax.set_title(label("cls_screening_title", lang))
    return ax
