"""Page records (页面记录): the headline numbers each report page writes to summary.json.

A page's last cell calls ``ctx.record(...)`` with a dict built here (``<page>_summary``):
plain Python numbers (NaN and inf become None), rounded where the page's numbers are
estimates.  The JSON cleaners every record uses (:func:`rounded`, :func:`json_number`,
:func:`json_ready`, :func:`top_records`) live here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.churn.backtest import ChurnResult
from analysis.churn.models import METRICS
from analysis.classify.classes import (
    ABC_CLASSES,
    CREDIT_GRADES,
    CREDIT_SALES,
    MOVES,
    RFM_SEGMENTS,
    TIERS,
    class_summary,
)
from analysis.classify.scorecard import VALUE_GROUPS
from analysis.classify.screening import DECISIONS
from analysis.products.margin import overall_margin_rate, quadrant_counts
from analysis.value.forecast import ValueForecast

__all__ = [
    "abc_record",
    "churn_summary",
    "class_counts",
    "composition_summary",
    "credit_limits_summary",
    "efficiency_case_summary",
    "growth_case_summary",
    "json_number",
    "json_ready",
    "margin_summary",
    "migration_record",
    "product_mix_summary",
    "rounded",
    "section_counts",
    "top_records",
    "value_forecast_summary",
]


# ------------------------------------------------------------------ JSON-ready values
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


def json_number(v) -> float | None:
    """A float for summary.json: NaN and inf become None, numpy scalars plain Python.

    Parameters
    ----------
    v : number or None
        The value.

    Returns
    -------
    float or None
        ``float(v)``, or None when it is None or not finite.
    """
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def json_ready(v):
    """Plain Python for summary.json: numpy scalars unwrapped, NaN/inf -> None, containers recursed.

    Parameters
    ----------
    v : object
        A value, mapping, list or tuple (nested).

    Returns
    -------
    object
        The same structure with bools, ints and finite floats as Python scalars, NaN and inf as
        None, mapping keys as strings; other values unchanged.
    """
    if isinstance(v, Mapping):
        return {str(k): json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def top_records(df: pd.DataFrame, cols: Sequence[str], *, n: int = 5) -> list[dict]:
    """The first ``n`` rows as JSON-serialisable dicts (for ``ctx.record``).

    Parameters
    ----------
    df : DataFrame
        A ranked table.
    cols : sequence of str
        The columns kept.
    n : int
        Rows kept.

    Returns
    -------
    list of dict
        One dict per row: numbers as :func:`json_number`, bools as bool, text as str, missing
        as None.
    """

    def clean(v):
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, float, np.number)):
            return json_number(v)
        return None if pd.isna(v) else str(v)

    return [
        {k: clean(v) for k, v in row.items()} for row in df[list(cols)].head(n).to_dict("records")
    ]


def class_counts(values: pd.Series, codes: Sequence[str], *, missing: str | None = None) -> dict:
    """Customers per class code, every code listed.

    Parameters
    ----------
    values : Series
        A class code per customer.
    codes : sequence of str
        The codes, in the order recorded.
    missing : str, optional
        When given, the key under which customers without a code are counted.

    Returns
    -------
    dict
        {code: count} for every code (0 when absent), plus ``missing`` when named.
    """
    counts = values.value_counts()
    out = {str(c): int(counts.get(c, 0)) for c in codes}
    if missing is not None:
        out[missing] = int(values.isna().sum())
    return out


# ------------------------------------------------------------------ page 01
def abc_record(abc: pd.DataFrame, value_col: str, *, sales_col: str = "monetary") -> dict:
    """Customers and shares per ABC class, for summary.json.

    Parameters
    ----------
    abc : DataFrame
        From :func:`analysis.classify.classes.abc_classes`.
    value_col : str
        The column the classes were drawn on.
    sales_col : str
        The net sales column.

    Returns
    -------
    dict
        {"A": {customers, customer_share, sales_share, value_share}, ...} (shares of the net
        totals).
    """
    s = class_summary(abc, "abc_class", ABC_CLASSES, list(dict.fromkeys([sales_col, value_col])))
    return {
        r["abc_class"]: {
            "customers": int(r["count"]),
            "customer_share": r["count_share"],
            "sales_share": r[f"{sales_col}_share"],
            "value_share": r[f"{value_col}_share"],
        }
        for _, r in s.iterrows()
    }


def section_counts(
    *,
    rfm: pd.DataFrame,
    card: pd.DataFrame,
    screen: pd.DataFrame,
    credit: pd.DataFrame | None = None,
    abcd: pd.DataFrame | None = None,
    tagged: pd.DataFrame | None = None,
    unapproved: pd.DataFrame | None = None,
    roster: pd.DataFrame | None = None,
) -> dict:
    """Counts per class of the other sections of page 01.

    Parameters
    ----------
    rfm, card, screen : DataFrame
        RFM segments, the value scorecard and the annual screening.
    credit, abcd, tagged, unapproved, roster : DataFrame, optional
        Credit grades, ABCD credit classes, tag classes, unapproved tags and the roster; None
        for a section the data could not run.

    Returns
    -------
    dict
        Counts per code of each section (None for a section not run).
    """
    tag_counts = None
    if tagged is not None:
        keys = tagged["tag_classes"].fillna("").str.split(";").explode()
        tag_counts = {
            str(k): int(v) for k, v in keys[keys != ""].value_counts().sort_index().items()
        }
    return {
        "rfm_segments": class_counts(rfm["rfm_segment"], list(RFM_SEGMENTS.values())),
        "value_groups": class_counts(card["value_group"], VALUE_GROUPS),
        "screening": class_counts(screen["decision"], DECISIONS),
        "credit_grades": None
        if credit is None
        else class_counts(credit["credit_grade"], CREDIT_GRADES, missing="unrated"),
        "credit_sales": None
        if credit is None
        else class_counts(credit["credit_sales"], CREDIT_SALES),
        "abcd": None if abcd is None else class_counts(abcd["credit_class"], list("ABCD")),
        "tag_classes": tag_counts,
        "unapproved_tags": None if unapproved is None else int(len(unapproved)),
        "roster_rows": None if roster is None else int(len(roster)),
    }


def composition_summary(
    *,
    abc: pd.DataFrame,
    value_col: str,
    basis: str,
    cutoffs: Sequence[float],
    concentration: Mapping,
    tiers: pd.DataFrame,
    quadrants: pd.DataFrame,
    moves: pd.DataFrame,
    abc_quarter: pd.DataFrame,
    value_quarter: str,
    extra: Mapping | None = None,
) -> dict:
    """The summary.json entries of the customer-composition page (01), JSON-ready.

    Parameters
    ----------
    abc : DataFrame
        ABC classes of the customers active in the trailing 12 months.
    value_col, basis : str
        The column the classes were drawn on and its basis ("sales" or "gross_profit").
    cutoffs : sequence of float
        The ABC cut-offs.
    concentration : mapping
        ``gini``, ``top_share`` and ``top_n_share``
        (:func:`analysis.classify.concentration.concentration_summary`).
    tiers, quadrants, moves : DataFrame
        Pyramid tiers, quadrants and class migration.
    abc_quarter : DataFrame
        ABC classes of the report quarter alone; ``value_quarter`` their value column.
    value_quarter : str
        The column of ``abc_quarter`` the classes were drawn on.
    extra : mapping, optional
        More entries (e.g. :func:`section_counts`).

    Returns
    -------
    dict
        ``n_customers``, ``total_sales``, ``total_gross_profit``, the basis and cut-offs,
        ``A``/``B``/``C`` (:func:`abc_record`), ``gini``/``top20_share``/``top_n_share``,
        counts per tier, quadrant and move, the classes and Gini at the end of last quarter and
        the values of the customers who moved (:func:`migration_record`), ``quarter_abc``, then
        ``extra`` (NaN -> None).
    """
    out = {
        "n_customers": int(len(abc)),
        "total_sales": float(abc["monetary"].sum()),
        "total_gross_profit": float(abc["gross_profit"].sum(min_count=1))
        if "gross_profit" in abc
        else None,
        "abc_basis": basis,
        "abc_cutoffs": [float(c) for c in cutoffs],
        "window": "trailing_12m",
        **abc_record(abc, value_col),
        "gini": concentration["gini"],
        "top20_share": concentration["top_share"],
        "top_n_share": concentration["top_n_share"],
        "pyramid": class_counts(tiers["tier"], TIERS),
        "quadrants": class_counts(quadrants["quadrant"], "ABCD"),
        "migration": class_counts(moves["move"], MOVES),
        **migration_record(moves),
        "quarter_abc": {
            "n_customers": int(len(abc_quarter)),
            "total_sales": float(abc_quarter["monetary_quarter"].sum()),
            **abc_record(abc_quarter, value_quarter, sales_col="monetary_quarter"),
        },
        **dict(extra or {}),
    }
    return json_ready(out)


def migration_record(moves: pd.DataFrame) -> dict:
    """The quarter before, as the class migration holds it: classes, shares and Gini then, and
    the 12-month values of the customers per move (for the index's highlights).

    Parameters
    ----------
    moves : DataFrame
        :func:`analysis.classify.classes.class_migration` with ``value_col`` (columns
        ``class_before``, ``move``, ``value_before``, ``value_after``); without the value
        columns the record is empty.

    Returns
    -------
    dict
        ``previous_quarter``: ``{"A": {customers, value_share}, "B": ..., "C": ..., "gini"}`` of
        the customers classed at the end of last quarter (the value the classes were drawn on);
        ``migration_value``: ``{move: {customers, value_before, value_after}}``.

    Examples
    --------
    Two customers classed A and B before (values 30 and 10), one of them down to B (value now 8):
    ``previous_quarter["A"]["value_share"]`` is 30 / 40 = 0.75.
    """
    from analysis.classify.concentration import concentration_summary

    if not {"class_before", "move", "value_before", "value_after"} <= set(moves.columns):
        return {}
    before = moves[moves["class_before"].isin(ABC_CLASSES)]
    total = float(before["value_before"].sum())
    previous = {
        c: {
            "customers": int((before["class_before"] == c).sum()),
            "value_share": float(before.loc[before["class_before"] == c, "value_before"].sum())
            / total
            if total
            else None,
        }
        for c in ABC_CLASSES
    }
    previous["gini"] = (
        concentration_summary(before["value_before"])["gini"] if len(before) else None
    )
    values = {
        str(move): {
            "customers": int(len(g)),
            "value_before": float(g["value_before"].sum()),
            "value_after": float(g["value_after"].sum()),
        }
        for move, g in moves.groupby("move", sort=False)
    }
    return json_ready({"previous_quarter": previous, "migration_value": values})


# ------------------------------------------------------------------ page 02
def product_mix_summary(
    ranked: pd.DataFrame | None,
    tx: pd.DataFrame,
    *,
    top: int = 5,
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> dict:
    """The summary.json entries of the product-mix page (02).

    Parameters
    ----------
    ranked : DataFrame or None
        :func:`analysis.products.mix.product_abc`; None when the data have no product id.
    tx : DataFrame
        The transaction lines (those of ``[start, end)`` count).
    top : int
        Products listed in ``top_products_by_sales``.
    amount_col, cost_col : str
        Columns of ``tx``.
    start, end : date-like, optional
        The period (None: all the lines).
    date_col : str
        Date column of ``tx``.

    Returns
    -------
    dict
        ``gross_margin_rate`` (a fraction, None without cost), ``n_products`` with positive
        sales, ``product_abc_counts`` and ``top_products_by_sales`` (None / [] without
        ``ranked``).
    """
    window = dict(start=start, end=end, date_col=date_col)
    out = {
        "gross_margin_rate": json_number(
            overall_margin_rate(tx, amount_col=amount_col, cost_col=cost_col, **window)
        )
    }
    if ranked is None:
        return {**out, "n_products": None, "product_abc_counts": None, "top_products_by_sales": []}
    counts = ranked["abc_class"].value_counts().reindex(["A", "B", "C"], fill_value=0)
    return {
        **out,
        "n_products": int((ranked["sales"] > 0).sum()),
        "product_abc_counts": {k: int(v) for k, v in counts.items()},
        "top_products_by_sales": top_records(
            ranked, ["product_id", "product_name", "sales", "share"], n=top
        ),
    }


# ------------------------------------------------------------------ page 03
def margin_summary(
    tx: pd.DataFrame,
    *,
    by_class: pd.DataFrame | None = None,
    cross: pd.DataFrame | None = None,
    turnover: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    class_col: str = "abc_class",
    top: int = 5,
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> dict:
    """The summary.json entries of the margin page (03), None where the data lack what they need.

    Parameters
    ----------
    tx : DataFrame
        The transaction lines (those of ``[start, end)`` count).
    by_class : DataFrame, optional
        :func:`analysis.products.margin.margin_by` per class (``class_col``,
        ``gross_margin_rate``).
    cross : DataFrame, optional
        :func:`analysis.products.margin.margin_turnover_quadrant` output.
    turnover : DataFrame, optional
        :func:`analysis.products.margin.stock_turnover` output.
    products : DataFrame, optional
        A product margin table (``gross_profit``).
    class_col : str
        The class column of ``by_class``.
    top : int
        Products listed in ``top_products_by_contribution``.
    amount_col, cost_col : str
        Columns of ``tx``.
    start, end : date-like, optional
        The period (None: all the lines).
    date_col : str
        Date column of ``tx``.

    Returns
    -------
    dict
        ``gross_margin_rate``, ``margin_rate_by_class``, ``median_turnover`` with its basis and
        period, ``top_products_by_contribution``, ``quadrant_counts`` and
        ``n_loss_making_products``.
    """
    window = dict(start=start, end=end, date_col=date_col)
    out = {
        "gross_margin_rate": json_number(
            overall_margin_rate(tx, amount_col=amount_col, cost_col=cost_col, **window)
        )
    }
    out["margin_rate_by_class"] = (
        None
        if by_class is None
        else {
            str(k): json_number(v)
            for k, v in by_class.set_index(class_col)["gross_margin_rate"].items()
        }
    )
    out["median_turnover"] = (
        None if turnover is None else json_number(turnover["stock_turnover"].median())
    )
    out["turnover_basis"] = None if turnover is None else str(turnover["turnover_basis"].iloc[0])
    out["turnover_period"] = None if turnover is None else str(turnover["turnover_period"].iloc[0])
    if cross is None:
        out.update(top_products_by_contribution=[], quadrant_counts=None)
    else:
        cols = [
            c
            for c in ("product_id", "product_name", "cross_ratio", "contribution_ratio")
            if c in cross.columns
        ]
        counts = quadrant_counts(cross).set_index("product_quadrant")["products"]
        out.update(
            top_products_by_contribution=top_records(cross, cols, n=top),
            quadrant_counts={k.removeprefix("quadrant_"): int(v) for k, v in counts.items()},
        )
    if products is not None:
        out["n_loss_making_products"] = int((products["gross_profit"] < 0).sum())
    return out


# ------------------------------------------------------------------ page 04
def churn_summary(result: ChurnResult, risk: pd.DataFrame | None = None) -> dict:
    """The summary.json entries of the churn page (04).

    Parameters
    ----------
    result : ChurnResult
        From :func:`analysis.churn.backtest.backtest` or :func:`~analysis.churn.backtest.table_study`.
    risk : DataFrame, optional
        The risk list (:func:`analysis.churn.explain.risk_list`): adds the study's ``mode``,
        ``risk_list_rows`` and ``expected_lost_sales_top_n`` (its expected lost sales, summed and
        rounded to the fen).

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
    if risk is not None:
        lost = round(float(risk["expected_lost_sales"].sum()), 2)
        rec.update(mode=result.mode, risk_list_rows=len(risk), expected_lost_sales_top_n=lost)
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


# ------------------------------------------------------------------ page 08
def value_forecast_summary(fc: ValueForecast) -> dict:
    """The summary.json entries of the value-forecast page (08), headline numbers first.

    Parameters
    ----------
    fc : ValueForecast
        From :func:`analysis.value.forecast.forecast`.

    Returns
    -------
    dict
        Expected sales and gross profit, past sales, the chosen model, whether it beats the
        baseline, customers, its MAE and top-decile capture, horizon, backtest cutoff and every
        candidate's metrics (the index page shows the first scalars).
    """
    bt = fc.backtest
    chosen = bt.metrics.loc[fc.model]
    return {
        "expected_sales": rounded(fc.expected_sales),
        "expected_gross_profit": rounded(fc.expected_gross_profit),
        "past_sales": rounded(fc.customers["past_sales"].sum()),
        "model": fc.model,
        "beats_baseline": bool(fc.beats_baseline),
        "customers": int(len(fc.customers)),
        "mae": rounded(chosen["mae"]),
        "top_decile_capture": rounded(chosen["top_decile_capture"]),
        "horizon_days": fc.horizon_days,
        "backtest_cutoff": str(bt.cutoff.date()),
        "metrics": {k: {m: rounded(v) for m, v in row.items()} for k, row in bt.metrics.iterrows()},
    }


# ------------------------------------------------------------------ comparing two summaries
#: keys of summary.json that describe the run rather than the data: never compared
RUN_KEYS = frozenset(
    {"generated_at", "run_date", "fingerprint", "data_fingerprint", "params_fingerprint"}
)


def summary_leaves(obj, path: tuple[str, ...] = ()):
    """Every leaf of a JSON value as ``("page/key/…", value)``, the run's own keys left out.

    Parameters
    ----------
    obj : dict, list or scalar
        A JSON value (a report's summary.json).
    path : tuple of str
        The path above ``obj``.

    Yields
    ------
    tuple of (str, object)
    """
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key not in RUN_KEYS:
                yield from summary_leaves(value, (*path, str(key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from summary_leaves(value, (*path, str(i)))
    else:
        yield "/".join(path), obj


def summary_differences(got: dict, want: dict, *, rel: float = 1e-9) -> list[str]:
    """Where two reports' numbers differ: a number beyond ``rel`` (relative; 1e-12 absolute
    near zero), any other value at all, a key only one of them has.

    Used to hold the engines equal (pandas, DuckDB, Spark) on every page.

    Parameters
    ----------
    got, want : dict
        Two summary.json contents.
    rel : float
        Relative tolerance for numbers.

    Returns
    -------
    list of str
        One line per difference; empty when they agree.
    """
    g, w = dict(summary_leaves(got)), dict(summary_leaves(want))
    out = [f"only in one: {k}" for k in sorted(set(g) ^ set(w))]
    for k in sorted(set(g) & set(w)):
        a, b = g[k], w[k]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b)):
            same = (math.isnan(a) and math.isnan(b)) or math.isclose(
                a, b, rel_tol=rel, abs_tol=1e-12
            )
        else:
            same = a == b
        if not same:
            out.append(f"{k}: {b!r} -> {a!r}")
    return out
