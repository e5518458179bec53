"""The value forecast's customer-day totals as SQL on DuckDB or Spark.

:func:`analysis.value.forecast.customer_features`, ``backtest`` and ``forecast`` read the lines
once, into totals per customer and day (the private ``_Days`` of that module); everything after
that pass (features, models) is numpy on those totals.  :func:`customer_days` makes the same
totals by one ``GROUP BY customer, day`` query (:func:`~analysis.engine.windows.run_on`), with
the numpy pass's rules:

- days are whole days since 1970-01-01, times floored (:data:`analysis.engine.aggregate.DAY_EXPR`);
- ``net`` sums the amounts, ``gross`` the positive ones, ``buy`` is a day with a positive line
  (taken as a flag, not from the DECIMAL sum, so an amount too small for ten decimals still
  buys), ``gp`` sums amount - cost and ``costed`` the amount over the lines with a cost (a NaN or
  NULL cost is none); without a cost column, or with no known cost, both are zeros and
  ``has_cost`` is False;
- money is summed as DECIMAL(38, 10) (:func:`~analysis.engine.windows.exact_sum`): exact in any
  order, within 1e-9 (relative) of numpy's ``bincount`` sums; amounts are rounded to ten
  decimals on the way in, as every SQL step's;
- the customer ids are numbered as ``pd.factorize(ids, sort=True)`` numbers them (the same
  dtype), rows sorted by (code, day).

The caller checks the lines first (blank ids, dates or amounts are an error there, so none
reaches the query) and asks :func:`days_sql_ready` whether SQL sees them as numpy does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.engine.aggregate import DAY_EXPR
from analysis.engine.history_sql import sql_ready
from analysis.engine.windows import SqlLines, exact_sum, run_on

__all__ = ["DAY_FIELDS", "customer_days", "days_sql_ready"]

#: the fields of the totals, in the order of ``analysis.value.forecast._Days``
DAY_FIELDS = ("ids", "code", "day", "net", "gross", "gp", "costed", "buy", "has_cost")


def _plain_money(values: pd.Series) -> bool:
    """A numeric, non-boolean money column without an infinite value (DECIMAL has none)."""
    dtype = values.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return False
    if pd.api.types.is_integer_dtype(dtype):
        return True
    return not np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)).any()


def days_sql_ready(
    tx: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> bool:
    """Whether :func:`customer_days` gives these lines numpy's totals.

    Text or integer ids and dates without a zone
    (:func:`analysis.engine.history_sql.sql_ready`), numeric amounts and costs without an infinite value, and at least one line.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    id_col, date_col, amount_col, cost_col : str
        Column names; ``cost_col`` may be absent.

    Returns
    -------
    bool
    """
    if len(tx) == 0 or amount_col not in tx.columns:
        return False
    if not sql_ready(tx, id_col=id_col, date_col=date_col):
        return False
    money = [amount_col] + ([cost_col] if cost_col in tx.columns else [])
    return all(_plain_money(tx[c]) for c in money)


def _days_query(s: SqlLines, id_col, date_col, amount_col, cost_col) -> str:
    """The one pass: per (customer, day), the money and whether the day has a purchase."""
    i, a = s.q(id_col), s.q(amount_col)
    day = DAY_EXPR[s.dialect].format(date=s.q(date_col))  # floored, nanoseconds too
    if cost_col is None:
        cost = "CAST(NULL AS DOUBLE)"
    else:  # a NaN cost is no cost, as numpy's isnan (isnan(NULL) is NULL in DuckDB, false in Spark)
        c = f"CAST({s.q(cost_col)} AS DOUBLE)"
        cost = f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END"
    return f"""
        SELECT ccm_id, ccm_day,
               {exact_sum("ccm_a")} AS net,
               {exact_sum("CASE WHEN ccm_a > 0 THEN ccm_a END")} AS gross,
               {exact_sum("ccm_a - ccm_c")} AS gp,
               {exact_sum("CASE WHEN ccm_c IS NOT NULL THEN ccm_a END")} AS costed,
               MAX(CASE WHEN ccm_a > 0 THEN 1 ELSE 0 END) AS buy,
               COUNT(ccm_c) AS cost_lines
        FROM (
            SELECT {i} AS ccm_id, {day} AS ccm_day, CAST({a} AS DOUBLE) AS ccm_a, {cost} AS ccm_c
            FROM {s.source}
        ) AS ccm_lines
        GROUP BY ccm_id, ccm_day
    """


def customer_days(
    engine: str,
    tx: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> dict:
    """Totals per customer and day by one SQL query on DuckDB or Spark.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        Where the query runs (:func:`analysis.engine.windows.engine_for`).
    tx : DataFrame
        Transaction lines without a blank id, date or amount, for which :func:`days_sql_ready`
        holds.
    id_col, date_col, amount_col, cost_col : str
        Column names; ``cost_col`` may be absent.

    Returns
    -------
    dict
        The fields of the forecast's customer-day totals (:data:`DAY_FIELDS`): ``ids`` (Index of
        the sorted ids, as ``pd.factorize(tx[id_col], sort=True)`` gives them), ``code`` and
        ``day`` (int64), ``net``, ``gross``, ``gp``, ``costed`` (float64), ``buy`` (bool), one
        entry per (customer, day) sorted by code and day, and ``has_cost`` (bool).
    """
    has_column = cost_col in tx.columns
    columns = [id_col, date_col, amount_col] + ([cost_col] if has_column else [])
    raw = run_on(
        engine,
        tx,
        columns,
        date_col,
        lambda s: s.frame(
            _days_query(s, id_col, date_col, amount_col, cost_col if has_column else None)
        ),
    )
    found = raw["ccm_id"]
    if found.dtype != tx[id_col].dtype:
        found = found.astype(tx[id_col].dtype)
    code, uniques = pd.factorize(found, sort=True)  # the sorted ids, as the numpy pass numbers them
    code = code.astype(np.int64)
    day = raw["ccm_day"].to_numpy(dtype=np.int64)
    order = np.lexsort((day, code))
    money = {
        name: raw[name].to_numpy(dtype="float64", na_value=np.nan)[order]
        for name in ("net", "gross", "gp", "costed")
    }
    has_cost = bool(has_column and raw["cost_lines"].to_numpy(dtype=np.int64).sum() > 0)
    k = len(order)
    return {
        "ids": pd.Index(uniques),
        "code": code[order],
        "day": day[order],
        "net": money["net"],
        "gross": np.nan_to_num(money["gross"], nan=0.0),  # NULL: no positive line
        "gp": np.nan_to_num(money["gp"], nan=0.0) if has_cost else np.zeros(k),
        "costed": np.nan_to_num(money["costed"], nan=0.0) if has_cost else np.zeros(k),
        "buy": raw["buy"].to_numpy(dtype=np.int64)[order] > 0,
        "has_cost": has_cost,
    }
