"""Customer value scorecard (客户价值记分卡, 《如何做好客户分类管理》) and value groups (the CRM article 《客户管理抓住具有价值的“奶油层”客户》).

The scorecard has four indicator families, each scored 0-100 as a percentile
rank among the customers (equal values share their average rank):

- financial (财务指标, "the value the customer creates for us"): gross profit,
  or net sales when the data carry no cost;
- sales (销售指标, "sales achieved"): the mean of the scores of net sales and
  of purchase days (frequency);
- customer (客户指标, "the customer's growth potential"): sales growth, this
  period against the same length before, as the bounded rate
  (current - previous) / (|current| + |previous|) in [-1, 1] (0 when both are
  0; +1 for a customer new this period);
- service (服务指标, "how the customer sees us"): praise + suggestions -
  complaints, when an interactions table exists.

Current value (现实价值) = mean of financial and sales; potential value (潜在价值)
= mean of customer and (when known) service.  Where a value forecast is given
(:mod:`analysis.value.forecast`, backtested on the customer's transactions),
potential value is instead the percentile of the customer's expected gross
profit over the next year (expected sales without cost data); customers
without a forecast keep the proxy above (``potential_basis`` says which).

Value groups (the CRM article 《客户管理抓住具有价值的“奶油层”客户》): value customers (价值型, current value at or above
the split), over-served customers (过度服务型, not value customers and flagged
as costing more service than they earn), potential customers (潜力型,
potential at or above the split) and low value (一般价值, the rest; the article's 潜在客户群 are
prospects, people not yet customers, so existing customers are never called that): little value
so far and no sign of growth; market to them at low cost).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data.validation import require_columns

__all__ = [
    "VALUE_GROUPS",
    "percentile_score",
    "growth_rate",
    "service_balance",
    "value_scorecard",
    "value_groups",
    "cream_layer",
    "CREAM_COLUMNS",
    "value_card",
    "value_group_summary",
]

VALUE_GROUPS = ("value", "potential", "over_served", "low_value")


def percentile_score(values) -> pd.Series:
    """0-100 percentile rank (rank / n x 100, ties share the average rank); NaN stays NaN.

    Parameters
    ----------
    values : array-like
        Values.

    Returns
    -------
    Series
        0-100 scores.
    """
    s = pd.Series(values, dtype="float64")
    return s.rank(method="average", pct=True) * 100.0


def growth_rate(current, previous) -> pd.Series:
    """(current - previous) / (|current| + |previous|), 0 when both are 0.

    Parameters
    ----------
    current, previous : array-like
        Values now and before.

    Returns
    -------
    Series
        The symmetric growth rate in [-1, 1].
    """
    c = pd.Series(current, dtype="float64").fillna(0.0)
    p = pd.Series(previous, dtype="float64", index=c.index).fillna(0.0)
    den = c.abs() + p.abs()
    return ((c - p) / den.where(den > 0)).fillna(0.0)


def service_balance(
    interactions: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    kind_col: str = "kind",
) -> pd.DataFrame:
    """Per customer in ``[start, end)``: n_praise, n_suggestion, n_complaint and
    ``service_balance`` = praise + suggestions - complaints.

    Parameters
    ----------
    interactions : DataFrame
        The interactions table.
    start, end : date-like
        The half-open window.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    kind_col : str
        Kind column (praise, suggestion, complaint ...).

    Returns
    -------
    DataFrame
        customer_id, n_praise, n_suggestion, n_complaint and service_balance.
    """
    require_columns(interactions, [id_col, date_col, kind_col], "interactions")
    kinds = ["praise", "suggestion", "complaint"]
    d = interactions[date_col]
    rows = interactions[
        (d >= pd.Timestamp(start)) & (d < pd.Timestamp(end)) & interactions[kind_col].isin(kinds)
    ]
    counts = pd.crosstab(rows[id_col], rows[kind_col]).reindex(columns=kinds, fill_value=0)
    counts.columns = [f"n_{k}" for k in kinds]
    counts.columns.name = None
    bal = counts["n_praise"] + counts["n_suggestion"] - counts["n_complaint"]
    return counts.assign(service_balance=bal).rename_axis(id_col).reset_index()


def value_scorecard(
    current: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    service: pd.DataFrame | None = None,
    *,
    forecast: pd.DataFrame | None = None,
    id_col: str = "customer_id",
    sales_col: str = "monetary",
    profit_col: str = "gross_profit",
    frequency_col: str = "frequency",
    service_col: str = "service_balance",
    forecast_col: str = "expected_gross_profit",
    forecast_sales_col: str = "expected_sales",
) -> pd.DataFrame:
    """The four family scores, current and potential value per customer of ``current``.

    Parameters
    ----------
    current : DataFrame
        One row per customer for this period (e.g. the trailing 12 months of
        :func:`analysis.engine.aggregate.customer_summary`).
    previous : DataFrame, optional
        The same for the period before; customers missing there had 0 sales.
        Without it the customer family is not scored.
    service : DataFrame, optional
        ``id_col`` and ``service_col`` (see :func:`service_balance`); customers
        missing there have a balance of 0.  Without it the service family is
        not scored.
    forecast : DataFrame, optional
        ``id_col`` and ``forecast_col`` (expected gross profit, e.g.
        :attr:`analysis.value.forecast.ValueForecast.customers`).  Customers of
        ``current`` with a value get the percentile of it among them as potential
        value; the others keep the proxy.  When no customer has a
        ``forecast_col`` value (no cost), ``forecast_sales_col`` is ranked.

    Returns
    -------
    DataFrame
        id, ``growth``, ``financial_score``, ``sales_score``, ``customer_score``,
        ``service_score`` (NaN when not scored), ``current_value``,
        ``potential_value`` (NaN when neither potential family is scored nor
        forecast) and, with ``forecast``, ``potential_basis`` ("forecast" or "proxy").
    """
    require_columns(current, [id_col, sales_col, frequency_col], "the customer table")
    sales = current[sales_col].astype("float64").fillna(0.0)
    has_profit = profit_col in current.columns and current[profit_col].notna().any()
    fin_base = current[profit_col].astype("float64").fillna(0.0) if has_profit else sales
    financial = percentile_score(fin_base)
    sales_score = (percentile_score(sales) + percentile_score(current[frequency_col].fillna(0))) / 2
    out = pd.DataFrame({id_col: current[id_col].to_numpy()}, index=current.index)
    if previous is not None:
        require_columns(previous, [id_col, sales_col], "the previous period's table")
        prev = current[id_col].map(previous.set_index(id_col)[sales_col]).astype("float64")
        growth = growth_rate(sales, prev)
        customer = percentile_score(growth)
    else:
        growth = customer = pd.Series(np.nan, index=current.index)
    if service is not None:
        require_columns(service, [id_col, service_col], "the service table")
        bal = (
            current[id_col]
            .map(service.set_index(id_col)[service_col])
            .astype("float64")
            .fillna(0.0)
        )
        service_score = percentile_score(bal)
    else:
        service_score = pd.Series(np.nan, index=current.index)
    potential = pd.concat([customer, service_score], axis=1).mean(axis=1, skipna=True)
    basis = {}
    if forecast is not None:
        from_forecast = _forecast_percentile(
            current[id_col], forecast, id_col, forecast_col, forecast_sales_col
        )
        basis = {"potential_basis": np.where(from_forecast.notna(), "forecast", "proxy")}
        potential = from_forecast.fillna(potential)
    out = out.assign(
        growth=growth,
        financial_score=financial,
        sales_score=sales_score,
        customer_score=customer,
        service_score=service_score,
        current_value=(financial + sales_score) / 2,
        potential_value=potential,
        **basis,
    )
    return out.reset_index(drop=True)


def _forecast_percentile(
    ids: pd.Series, forecast: pd.DataFrame, id_col: str, profit_col: str, sales_col: str
) -> pd.Series:
    """Percentile (0-100) of expected gross profit among the customers of ``ids`` that have one."""
    require_columns(forecast, [id_col], "the value forecast")
    if forecast[id_col].duplicated().any():
        raise ValueError(f"the value forecast has more than one row for a customer ({id_col})")
    fc = forecast.set_index(id_col)
    cols = [c for c in (profit_col, sales_col) if c in fc.columns]
    if not cols:
        raise KeyError(
            f"Required column {profit_col} missing from the value forecast "
            f"(columns present: {', '.join(map(str, forecast.columns))})"
        )
    values = {c: ids.map(fc[c]).astype("float64") for c in cols}
    use = next((c for c in cols if values[c].notna().any()), cols[0])
    return percentile_score(values[use])


def value_groups(
    card: pd.DataFrame,
    *,
    split: float = 50.0,
    over_served: pd.DataFrame | None = None,
    id_col: str = "customer_id",
    group_col: str = "value_group",
) -> pd.DataFrame:
    """Value groups of the CRM article 《客户管理抓住具有价值的“奶油层”客户》, tested in this order: value, over-served, potential, low value.

    ``over_served`` holds ``id_col`` and a boolean ``over_served`` (e.g. from
    :func:`analysis.products.margin.over_served`); without it nobody is over-served.
    A missing potential value counts as below the split.

    Parameters
    ----------
    card : DataFrame
        From :func:`value_scorecard`.
    split : float
        Score splitting high from low.
    over_served : DataFrame, optional
        ``id_col`` and ``over_served``.
    id_col : str
        Customer id column.
    group_col : str
        The column written.

    Returns
    -------
    DataFrame
        ``card`` with the value group.
    """
    require_columns(card, [id_col, "current_value", "potential_value"], "the scorecard")
    flag = pd.Series(False, index=card.index)
    if over_served is not None:
        require_columns(over_served, [id_col, "over_served"], "the over-served table")
        flag = (
            card[id_col]
            .map(over_served.set_index(id_col)["over_served"])
            .fillna(False)
            .astype(bool)
        )
    cur = card["current_value"].astype("float64")
    pot = card["potential_value"].astype("float64")
    group = np.select(
        [cur.ge(split), flag, pot.ge(split)], ["value", "over_served", "potential"], "low_value"
    )
    return card.assign(**{group_col: group})


def cream_layer(card: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The cream layer (奶油层): the ``n`` customers with the highest current value.

    Parameters
    ----------
    card : DataFrame
        From :func:`value_scorecard`.
    n : int
        Customers kept.

    Returns
    -------
    DataFrame
        The ``n`` customers of highest current value.
    """
    require_columns(card, ["current_value"], "the scorecard")
    return (
        card.sort_values("current_value", ascending=False, kind="stable")
        .head(n)
        .reset_index(drop=True)
    )


#: the columns of the cream-layer table (``name`` from :func:`analysis.classify.customer_base.with_names`)
CREAM_COLUMNS = [
    "customer_id",
    "name",
    "monetary",
    "financial_score",
    "sales_score",
    "customer_score",
    "service_score",
    "current_value",
    "potential_value",
    "value_group",
]


def value_card(
    base: pd.DataFrame,
    service: pd.DataFrame | None = None,
    *,
    forecast: pd.DataFrame | None = None,
    over_served: pd.DataFrame | None = None,
    split: float = 50.0,
    id_col: str = "customer_id",
    sales_col: str = "monetary",
    previous_col: str = "monetary_prev_12m",
) -> pd.DataFrame:
    """The value scorecard and value groups of the customers of a period, with their sales.

    Parameters
    ----------
    base : DataFrame
        One row per customer with this period's figures and ``previous_col``, the sales of the
        period before (e.g. :func:`analysis.classify.customer_base.customer_base`).
    service : DataFrame, optional
        See :func:`value_scorecard`.
    forecast : DataFrame, optional
        The value forecast's customers (see :func:`value_scorecard`): their expected gross
        profit becomes the potential value.
    over_served : DataFrame, optional
        See :func:`value_groups`.
    split : float
        Score at or above which a value counts as high.

    Returns
    -------
    DataFrame
        :func:`value_scorecard` with ``value_group`` (:func:`value_groups`) and ``sales_col``.
    """
    require_columns(base, [id_col, sales_col, previous_col], "the customer base")
    previous = base.assign(**{sales_col: base[previous_col]})
    card = value_scorecard(base, previous, service, forecast=forecast, id_col=id_col)
    grouped = value_groups(card, split=split, over_served=over_served, id_col=id_col)
    return grouped.merge(base[[id_col, sales_col]], on=id_col)


def value_group_summary(
    card: pd.DataFrame,
    *,
    months: int = 12,
    group_col: str = "value_group",
    sales_col: str = "monetary",
) -> pd.DataFrame:
    """Customers and sales per value group, with shares and ARPU (月均每客户收入).

    ARPU = the group's sales / its customers / ``months`` (the CRM article's telecoms compute
    it month by month); NaN for a group without customers.

    Parameters
    ----------
    card : DataFrame
        From :func:`value_card` (``group_col`` and ``sales_col``).
    months : int
        Months of the period the sales cover.

    Returns
    -------
    DataFrame
        ``value_group``, ``count``, ``count_share``, ``monetary``, ``monetary_share``, ``arpu``;
        one row per group of :data:`VALUE_GROUPS`.
    """
    from analysis.classify.classes import class_summary

    groups = class_summary(card, group_col, VALUE_GROUPS, [sales_col])
    customers = groups["count"].where(groups["count"] > 0)
    return groups.assign(arpu=groups[sales_col] / customers / months)
