"""Page records (页面记录): the headline numbers each report page writes to summary.json.

A page's last cell calls ``ctx.record(...)`` with a dict built here: plain Python
numbers (NaN becomes None), rounded where the page's numbers are estimates.
"""

from __future__ import annotations

import math

from analysis.churn.backtest import ChurnResult
from analysis.churn.models import METRICS

__all__ = ["churn_summary", "rounded"]


def rounded(v, digits: int = 4) -> float | None:
    """A number for summary.json, rounded; None and NaN become None.

    Parameters
    ----------
    v : number or None
        The value (numpy scalars included).
    digits : int
        Decimal places kept.

    Returns
    -------
    float or None
        ``round(float(v), digits)``, or None.
    """
    return (
        None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), digits)
    )


def churn_summary(result: ChurnResult) -> dict:
    """The summary.json entries of the churn page (04).

    Parameters
    ----------
    result : ChurnResult
        From :func:`analysis.churn.backtest.backtest` or :func:`~analysis.churn.backtest.table_study`.

    Returns
    -------
    dict
        The model's test metrics, the same per baseline, churn rate, customers in
        training and test, horizon, model name and scoring cutoff.
    """
    met = result.metrics
    rec = {k: rounded(met.loc["model", k]) for k in METRICS}
    for base in ("baseline_recency", "baseline_alive"):
        rec[base] = {k: rounded(met.loc[base, k]) for k in METRICS}
    rec.update(
        churn_rate=rounded(result.churn_rate),
        n_train=int(result.n_train),
        n_test=int(result.n_test),
        horizon_days=result.horizon_days,
        model=result.model.name,
        cutoff=str(result.cutoffs["score"].date()) if "score" in result.cutoffs else None,
    )
    return rec
