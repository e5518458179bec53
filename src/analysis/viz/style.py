"""Chart style, the CJK font, number formats, and shared chart helpers.

The Chinese font is Noto Sans CJK SC (SIL Open Font License) from the PyPI package
``noto-cjk-sans-otc``, installed with the project (see :mod:`analysis.viz.fonts`), so Chinese
renders as glyphs on any machine.
Chart helpers take ``ax=None`` and return the Axes.  Data values (names, categories)
are shown as text: tables escape them as HTML, charts draw them without mathtext
(see :mod:`analysis.escaping`).
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns
from matplotlib import font_manager

from analysis.escaping import plain_labels
from analysis.viz.fonts import CJK_FAMILY, cjk_face_index, cjk_font_path  # Noto Sans CJK SC, OFL


@lru_cache(maxsize=1)
def cjk_font_name() -> str:
    """Register the bundled CJK font with matplotlib and return its family name.

    matplotlib registers every face of the collection; charts ask for the Simplified Chinese one.

    Returns
    -------
    str
        The family name.
    """
    font_manager.fontManager.addfont(str(cjk_font_path()))
    return CJK_FAMILY


def cjk_font_subset(text: str) -> bytes:
    """The bundled CJK font cut down to the characters of ``text`` (an OpenType file's bytes).

    Report pages embed it so that Chinese text renders as glyphs in any browser,
    including on machines without a Chinese system font.

    Parameters
    ----------
    text : str
        The characters needed.

    Returns
    -------
    bytes
    """
    import io as _io

    from fontTools import subset

    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.font_number = cjk_face_index()  # the SC face of the collection
    font = subset.load_font(str(cjk_font_path()), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    buf = _io.BytesIO()
    subset.save_font(font, buf, options)
    return buf.getvalue()


def use_style(lang: str = "zh") -> None:
    """Seaborn theme plus the CJK font (used for both languages so labels mix freely).

    Also makes every pandas Styler escape its values as HTML by default, so that a table a
    notebook styles by hand shows names as text too (:func:`analysis.viz.tables.show` escapes
    explicitly).

    Parameters
    ----------
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    """
    pd.set_option("styler.format.escape", "html")
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [cjk_font_name(), "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["figure.figsize"] = (9, 4.5)
    plt.rcParams["figure.dpi"] = 100
    plt.rcParams["axes.titleweight"] = "normal"  # the bundled CJK font has no bold face
    plt.rcParams["axes.titlesize"] = "large"


# ------------------------------------------------------------- number formats
def fmt_cny(x, *, decimals: int = 0) -> str:
    """12345.6 -> '¥12,346'; NaN -> '–'.

    Parameters
    ----------
    x : float
        An amount in CNY.
    decimals : int
        Decimal places shown.

    Returns
    -------
    str
    """
    if x is None or pd.isna(x):
        return "–"
    sign = "-" if x < 0 else ""
    return f"{sign}¥{abs(x):,.{decimals}f}"


def fmt_pct(x, *, decimals: int = 1) -> str:
    """0.1234 -> '12.3%'; NaN -> '–'.

    Parameters
    ----------
    x : float
        A fraction.
    decimals : int
        Decimal places shown.

    Returns
    -------
    str
    """
    if x is None or pd.isna(x):
        return "–"
    return f"{x * 100:.{decimals}f}%"


def fmt_int(x) -> str:
    """12345.6 -> '12,346'; NaN -> '–'.

    Parameters
    ----------
    x : float
        A count.

    Returns
    -------
    str
    """
    if x is None or pd.isna(x):
        return "–"
    return f"{x:,.0f}"


def money_axis(ax, axis: str = "y", *, unit: float = 1.0, suffix: str = ""):
    """Thousands separators on an axis; ``unit=1e4`` with suffix '万' shows 万元.

    Parameters
    ----------
    ax : matplotlib Axes
        The chart.
    axis : {"x", "y"}
        The axis.
    unit : float
        Amounts are divided by it.
    suffix : str
        Text after each number.

    Returns
    -------
    matplotlib Axes
        The axis' Axes.
    """
    f = mticker.FuncFormatter(lambda v, _: f"{v / unit:,.0f}{suffix}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(f)
    return ax


def pct_axis(ax, axis: str = "y"):
    """Percent ticks on an axis (fractions shown as 12%).

    Parameters
    ----------
    ax : matplotlib Axes
        The chart.
    axis : {"x", "y"}
        The axis.

    Returns
    -------
    matplotlib Axes
        The axis' Axes.
    """
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(mticker.PercentFormatter(1.0))
    return ax


def axes(ax=None, figsize=None):
    """The Axes to draw on: ``ax`` when given, else a new figure's.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        The caller's Axes.
    figsize : (float, float), optional
        Size in inches of the new figure (matplotlib's default when None).

    Returns
    -------
    matplotlib Axes
        ``ax`` or the Axes of a new figure.
    """
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def bar_line(
    x,
    bars,
    line=None,
    *,
    bar_label: str,
    line_label: str | None = None,
    title: str = "",
    ax=None,
    line_is_pct: bool = True,
):
    """Bars (amounts) with an optional line on a second axis (rate or cumulative share).

    Parameters
    ----------
    x : sequence
        Bar positions (names).
    bars : sequence of float
        Bar heights.
    line : sequence of float, optional
        Line values (second axis).
    bar_label, line_label : str
        Legend names.
    title : str
        The title.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.
    line_is_pct : bool
        The line is a rate (percent axis).

    Returns
    -------
    matplotlib Axes
        The bars' axes.
    """
    ax = axes(ax)
    ax.bar(range(len(x)), bars, color=sns.color_palette()[0], label=bar_label)
    step = max(1, len(x) // 16)  # at most ~16 tick labels stay readable
    ax.set_xticks(range(0, len(x), step), plain_labels(list(x)[::step]), rotation=45, ha="right")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(bar_label)
    money_axis(ax)
    if line is not None:
        ax2 = ax.twinx()
        ax2.plot(range(len(x)), line, color=sns.color_palette()[3], marker="o", label=line_label)
        ax2.set_ylabel(line_label or "")
        ax2.grid(False)
        if line_is_pct:
            pct_axis(ax2)
    ax.set_title(title)
    return ax
