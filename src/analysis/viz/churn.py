"""Churn page display (流失风险页的展示): study windows, metrics and notes tables, the verdict, charts.

Tables come out with their cells in the report language (labels ``churn_*``);
:func:`analysis.viz.tables.show` (``ctx.show``) formats them.  The computation is in :mod:`analysis.churn`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.churn.backtest import SCORES, ChurnResult
from analysis.churn.models import calibration_table, gains_table
from analysis.viz.labels import label, label_or
from analysis.viz.style import axes, pct_axis

__all__ = [
    "label_windows",
    "metrics_table",
    "model_choice_table",
    "notes_table",
    "plot_calibration",
    "plot_gains",
    "verdict",
]


def label_windows(result: ChurnResult, lang: str = "zh") -> pd.DataFrame:
    """The windows of the study: cutoff, label window, customers and observed churn rate.

    Parameters
    ----------
    result : ChurnResult
        From :func:`analysis.churn.backtest.backtest` or
        :func:`~analysis.churn.backtest.table_study`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        One row per window (training, test, scoring now): window name in ``lang``, cutoff and label
        window (transactions), customers and observed churn rate.
    """
    name = lambda key: label(f"churn_{key}_window", lang)  # noqa: E731
    if result.mode == "table":
        return pd.DataFrame(
            [
                {"window": name("train"), "customers": result.n_train, "churn_rate": np.nan},
                {
                    "window": name("test"),
                    "customers": result.n_test,
                    "churn_rate": result.churn_rate,
                },
            ]
        )
    c, h, day = result.cutoffs, pd.Timedelta(days=result.horizon_days), pd.Timedelta(days=1)
    rows = [
        {
            "window": name(key),
            "cutoff": f"{cut:%Y-%m-%d}",
            "label_window": f"{cut:%Y-%m-%d} – {cut + h - day:%Y-%m-%d}",
            "customers": n,
            "churn_rate": rate,
        }
        for key, cut, n, rate in (
            ("train", c["train"], result.n_train, result.train_churn_rate),
            ("test", c["test"], result.n_test, result.churn_rate),
            ("score_now", c["score"], np.nan, np.nan),
        )
    ]
    return pd.DataFrame(rows)


def metrics_table(result: ChurnResult, lang: str = "zh") -> pd.DataFrame:
    """Test metrics of the model and the baselines, one row per score (named in ``lang``).

    Parameters
    ----------
    result : ChurnResult
        From :func:`analysis.churn.backtest.backtest` or
        :func:`~analysis.churn.backtest.table_study`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        ``score`` (named in ``lang``) and the metrics of
        :func:`~analysis.churn.models.score_metrics`; scores without values left out.
    """
    m = result.metrics.dropna(how="all")
    return m.rename(index=lambda k: label(f"churn_{k}", lang)).rename_axis("score").reset_index()


def notes_table(notes: list[dict], lang: str = "zh") -> pd.DataFrame:
    """The cleaning notes of a customer table, actions in words.

    Parameters
    ----------
    notes : list of dict
        ``ChurnResult.notes``: column, action, count.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        column, action (in words) and count.
    """
    rows = [
        {
            "column": n["column"],
            "action": label(f"churn_action_{n['action']}", lang),
            "count": n["count"],
        }
        for n in notes
    ]
    return pd.DataFrame(rows, columns=["column", "action", "count"])


def model_choice_table(result: ChurnResult, lang: str = "zh") -> pd.DataFrame:
    """The candidates' cross-validated AUC on the training window, named in ``lang``, chosen one ticked.

    Parameters
    ----------
    result : ChurnResult
        From :func:`analysis.churn.backtest.backtest` or
        :func:`~analysis.churn.backtest.table_study`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        model (named in ``lang``), cv_auc, cv_auc_sd and chosen (✓).
    """
    cv = result.model.cv_scores
    return cv.assign(
        model=cv["model"].map(lambda m: label_or(f"churn_cand_{m}", m, lang)),
        chosen=np.where(cv["chosen"], "✓", ""),
    )


# ------------------------------------------------------------------ report text and record
def verdict(metrics: pd.DataFrame, lang: str = "zh", *, tol: float = 0.005) -> str:
    """One sentence per baseline: does the model's test AUC beat, match or fall short of it?

    Parameters
    ----------
    metrics : DataFrame
        ``ChurnResult.metrics`` (rows: scores, column ``auc``).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    tol : float
        AUC differences within this count as a match.

    Returns
    -------
    str
        The sentences in ``lang``.
    """
    m = metrics.loc["model", "auc"]
    parts = []
    for base in ("baseline_recency", "baseline_alive"):
        b = metrics.loc[base, "auc"] if base in metrics.index else math.nan
        if pd.isna(b) or pd.isna(m):
            continue
        key = (
            "churn_verdict_beats"
            if m > b + tol
            else ("churn_verdict_matches" if m >= b - tol else "churn_verdict_loses")
        )
        parts.append(
            label(
                key,
                lang,
                model=f"{m:.3f}",
                baseline=label(f"churn_short_{base}", lang),
                base=f"{b:.3f}",
            )
        )
    if not parts:
        return label("churn_verdict_no_baseline", lang, model="–" if pd.isna(m) else f"{m:.3f}")
    return " ".join(parts)


def _score_names(pred: pd.DataFrame) -> list[str]:
    return [k for k in SCORES if k in pred.columns and pred[k].notna().any()]


def plot_calibration(pred: pd.DataFrame, *, lang: str = "zh", n_bins: int = 10, ax=None):
    """Reliability diagram: observed churn rate against mean predicted probability.

    Parameters
    ----------
    pred : DataFrame
        ``ChurnResult.predictions``.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    n_bins : int
        Quantile bins.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for k in _score_names(pred):
        t = calibration_table(pred["churned"], pred[k], n_bins=n_bins)
        ax.plot(t["predicted"], t["observed"], marker="o", label=label(f"churn_{k}", lang))
    ax.set(
        xlabel=label("churn_predicted_probability", lang),
        ylabel=label("churn_observed_rate", lang),
        title=label("churn_calibration_title", lang),
    )
    pct_axis(ax, "x"), pct_axis(ax, "y")
    ax.legend()
    return ax


def plot_gains(pred: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Cumulative gains: share of churners found against share of customers contacted.

    Parameters
    ----------
    pred : DataFrame
        ``ChurnResult.predictions``.
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
    ax.plot(
        [0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label=label("churn_random", lang)
    )
    for k in _score_names(pred):
        g = gains_table(pred["churned"], pred[k])
        ax.plot(
            [0, *g["cum_share_customers"]],
            [0, *g["cum_share_churners"]],
            marker="o",
            label=label(f"churn_{k}", lang),
        )
    ax.set(
        xlabel=label("churn_share_contacted", lang),
        ylabel=label("churn_share_found", lang),
        title=label("churn_gains_title", lang),
    )
    pct_axis(ax, "x"), pct_axis(ax, "y")
    ax.legend()
    return ax
