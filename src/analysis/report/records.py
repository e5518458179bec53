"""Page records (页面记录): the headline numbers each report page writes to summary.json.

A page's last cell calls ``ctx.record(...)`` with a dict built here: plain Python
numbers (NaN becomes None), rounded where the page's numbers are estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from analysis.churn.backtest import ChurnResult
from analysis.churn.models import METRICS

__all__ = [
    "churn_summary",
    "credit_limits_summary",
    "efficiency_case_summary",
    "growth_case_summary",
    "rounded",
]


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


#: the figures of :func:`analysis.finance.roi.growth_value` a growth case records
GROWTH_FIGURES = (
    "added_margin",
    "investment",
    "value",
    "break_even_upgrades",
    "break_even_clients",
    "achieved_rate",
    "target_met",
)


def growth_case_summary(
    value: Mapping, second_year: pd.DataFrame, firm_class: Mapping | None = None
) -> dict:
    """The summary.json entries of the growth case (page 05).

    Parameters
    ----------
    value : mapping
        From :func:`analysis.finance.roi.growth_value`.
    second_year : DataFrame
        From :func:`analysis.finance.roi.second_year` (rows ``year_1``, ``year_2``).
    firm_class : mapping, optional
        The firm's own class (:func:`analysis.finance.roi.tag_class_profile`); None when the
        data have no tags or fees.

    Returns
    -------
    dict
        :data:`GROWTH_FIGURES` of ``value``, ``value_year_2`` (year two's V) and ``firm_class``.
    """
    year_2 = second_year.set_index("projection_year").loc["year_2", "class_value"]
    return {
        **{k: value[k] for k in GROWTH_FIGURES},
        "value_year_2": float(year_2),
        "firm_class": firm_class,
    }


def efficiency_case_summary(staffing: Mapping, new_business: pd.DataFrame) -> dict:
    """The summary.json entries of the efficiency case (page 06).

    Parameters
    ----------
    staffing : mapping
        From :func:`analysis.finance.roi.staffing_summary`.
    new_business : DataFrame
        From :func:`analysis.finance.roi.new_business_revenue` (its last row, ``all_sources``,
        is the total).

    Returns
    -------
    dict
        ``value`` (V), ``staff_before``, ``staff_after``, ``staff_saved``, ``clients`` and
        ``new_business_revenue`` (all sources).
    """
    total = new_business.set_index("new_business_source").loc["all_sources", "new_revenue"]
    figures = ("value", "staff_before", "staff_after", "staff_saved", "clients")
    return {**{k: staffing[k] for k in figures}, "new_business_revenue": float(total)}


def credit_limits_summary(
    ledger_check: Mapping,
    concentration: Mapping,
    by_grade: pd.DataFrame | None,
    case: Mapping,
) -> dict:
    """The summary.json entries of the credit-limits page (07).

    Parameters
    ----------
    ledger_check : mapping
        From :func:`analysis.finance.credit.check_ledger`.
    concentration : mapping
        From :func:`analysis.finance.credit.receivables_concentration`; empty without receivables.
    by_grade : DataFrame or None
        From :func:`analysis.finance.credit.limits_by_grade`; None without receivables.
    case : mapping
        Case 3's published figures (:data:`analysis.finance.credit.CASE_3_CONCENTRATION`).

    Returns
    -------
    dict
        ``ledger_balanced``, ``ledger_net``, ``ledger_approved``, ``ledger_problems``,
        ``ledger_adjustments``, the concentration figures, ``limits_by_grade`` (grade ->
        next year's limits, or None) and the case's ``case_overlap``, ``case_overlap_owed``,
        ``case_top_debtors_owed``.
    """
    grades = (
        None
        if by_grade is None
        else {
            str(g): float(v) for g, v in zip(by_grade["credit_grade"], by_grade["new_credit_limit"])
        }
    )
    return {
        **{
            f"ledger_{k}": ledger_check[k]
            for k in ("balanced", "net", "approved", "problems", "adjustments")
        },
        **concentration,
        "limits_by_grade": grades,
        "case_overlap": case["overlap"],
        "case_overlap_owed": case["overlap_owed"],
        "case_top_debtors_owed": case["top_debtors_owed"],
    }
