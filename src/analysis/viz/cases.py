"""Charts of the worked cases (notebooks 05-07): waterfall, heatmap, tornado, capacity, class limits.

Each helper takes the frame returned by :mod:`analysis.finance.roi` or
:mod:`analysis.finance.credit`, ``lang`` for its labels, ``ax=None``, and returns the Axes.
Amounts are shown in 万元 (10,000 CNY), the unit the sources use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from analysis.escaping import plain_labels, plain_text
from analysis.viz.labels import label
from analysis.viz.style import axes, money_axis, pct_axis

__all__ = [
    "plot_waterfall",
    "plot_value_heatmap",
    "plot_tornado",
    "plot_capacity_sensitivity",
    "plot_class_limits",
]

WAN = 1e4
_TORNADO_KEYS = {"upgraded": "upgrades", "months": "fee_months"}


def _name(key: str, lang: str) -> str:
    """A label when ``key`` is a label key, else the key itself (a firm's own item names),
    escaped for matplotlib so that it is drawn literally."""
    try:
        return plain_text(label(key, lang))
    except KeyError:
        return plain_text(key)


def plot_waterfall(steps: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Waterfall from added margin through each cost to V (:func:`analysis.finance.roi.value_waterfall`).

    Parameters
    ----------
    steps : DataFrame
        From :func:`analysis.finance.roi.value_waterfall`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    pal = sns.color_palette()
    colors = {"gain": pal[2], "cost": pal[3], "total": pal[0]}
    x = np.arange(len(steps))
    ax.bar(
        x,
        (steps["top"] - steps["bottom"]) / WAN,
        bottom=steps["bottom"] / WAN,
        color=[colors[k] for k in steps["kind"]],
    )
    for i, row in steps.reset_index(drop=True).iterrows():
        ax.annotate(
            f"{row['amount'] / WAN:+,.2f}",
            (i, row["top"] / WAN),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [_name(s, lang) for s in steps["step"]], rotation=15, ha="right")
    ax.set_ylabel(label("case_amount_wan", lang))
    ax.set_title(label("case1_waterfall_title", lang))
    return ax


def plot_value_heatmap(grid: pd.DataFrame, *, lang: str = "zh", ax=None):
    """V over upgrade rate x price uplift (:func:`analysis.finance.roi.value_grid`), red below zero.

    Parameters
    ----------
    grid : DataFrame
        From :func:`analysis.finance.roi.value_grid`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax, (9, 5))
    shown = grid.rename(
        index=lambda r: f"{r:.0%}" if r * 100 == round(r * 100) else f"{r:.1%}",
        columns=lambda u: f"{u:,.0f}",
    )
    lim = float(np.nanmax(np.abs(grid.to_numpy()))) / WAN or 1.0
    sns.heatmap(
        shown / WAN,
        annot=True,
        fmt=".1f",
        cmap="RdYlGn",
        center=0,
        vmin=-lim,
        vmax=lim,
        ax=ax,
        cbar_kws={"label": label("case_value_wan", lang)},
        annot_kws={"fontsize": 8},
    )
    ax.invert_yaxis()
    ax.set_xlabel(label("fee_uplift", lang))
    ax.set_ylabel(label("upgrade_rate", lang))
    ax.set_title(label("case1_heatmap_title", lang))
    return ax


def plot_tornado(
    table: pd.DataFrame, *, base_value: float, swing: float = 0.2, lang: str = "zh", ax=None
):
    """Bars from V at -swing to V at +swing per input, widest on top (:func:`analysis.finance.roi.tornado`).

    Parameters
    ----------
    table : DataFrame
        From :func:`analysis.finance.roi.tornado`.
    base_value : float
        V at the base inputs.
    swing : float
        The relative move of each input.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    pal = sns.color_palette()
    t = table.iloc[::-1].reset_index(drop=True)
    y = np.arange(len(t))
    for col, color, name in (
        ("value_low", pal[3], f"-{swing:.0%}"),
        ("value_high", pal[2], f"+{swing:.0%}"),
    ):
        ax.barh(y, (t[col] - base_value) / WAN, left=base_value / WAN, color=color, label=name)
    ax.axvline(base_value / WAN, color="black", lw=1)
    ax.set_yticks(y, [_name(_TORNADO_KEYS.get(i, i), lang) for i in t["input"]])
    ax.set_xlabel(label("case_value_wan", lang))
    ax.set_title(label("case1_tornado_title", lang, swing=f"{swing:.0%}"))
    ax.legend(loc="lower right")
    return ax


def plot_capacity_sensitivity(
    table: pd.DataFrame, *, base_capacity=None, lang: str = "zh", ax=None
):
    """The saving by clients per head (:func:`analysis.finance.roi.capacity_sensitivity`): whole heads as
    steps, the fractional workload as a line.

    Parameters
    ----------
    table : DataFrame
        From :func:`analysis.finance.roi.capacity_sensitivity`.
    base_capacity : float, optional
        Today's clients per head (marked).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    pal = sns.color_palette()
    ax.step(
        table["capacity_per_head"],
        table["class_value"] / WAN,
        where="mid",
        color=pal[0],
        lw=2,
        label=label("case2_value_heads", lang),
    )
    ax.plot(
        table["capacity_per_head"],
        table["class_value_fte"] / WAN,
        color=pal[1],
        marker="o",
        ls="--",
        label=label("class_value_fte", lang),
    )
    if isinstance(
        base_capacity, (int, float)
    ):  # a per-class capacity mapping has no single value to mark
        ax.axvline(base_capacity, color="grey", lw=0.8, ls=":")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(label("capacity_per_head", lang))
    ax.set_ylabel(label("case_value_wan", lang))
    ax.set_title(label("case2_sensitivity_title", lang))
    ax.legend()
    return ax


def plot_class_limits(by_class: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Each class's limit against what was allocated to its customers (:func:`analysis.finance.credit.limits_by_class`).

    Parameters
    ----------
    by_class : DataFrame
        From :func:`analysis.finance.credit.limits_by_class`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    pal = sns.color_palette()
    x = np.arange(len(by_class))
    ax.bar(
        x - 0.2,
        by_class["class_limit"] / WAN,
        width=0.4,
        color=pal[0],
        label=label("class_limit", lang),
    )
    ax.bar(
        x + 0.2,
        by_class["allocated"] / WAN,
        width=0.4,
        color=pal[2],
        label=label("allocated", lang),
    )
    ax2 = ax.twinx()
    ax2.plot(x, by_class["limit_share"], color=pal[3], marker="o", label=label("limit_share", lang))
    ax2.grid(False)
    ax2.set_ylim(0, max(1.0, float(by_class["limit_share"].max()) * 1.1))
    pct_axis(ax2)
    ax.set_xticks(x, plain_labels(by_class["credit_class"]))
    ax.set_xlabel(label("credit_class", lang))
    ax.set_ylabel(label("case_amount_wan", lang))
    money_axis(ax)
    ax.set_title(label("case3_limits_title", lang))
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right")
    return ax
