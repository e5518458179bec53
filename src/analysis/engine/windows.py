"""Per-customer counts over transaction windows, run by DuckDB on millions of lines.

The pandas functions that call these (e.g. :func:`analysis.classify.classes.months_active`)
stay the reference: they hand over to DuckDB from
:data:`analysis.engine.aggregate.AUTO_MIN_ROWS` lines when the engine is ``auto`` or
``duckdb``, and the tests hold both to the same result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.engine import aggregate
from analysis.engine.aggregate import default_engine, fetch_frame, on_lines, quote, ts_literal


def use_duckdb(tx: pd.DataFrame) -> bool:
    """Whether a pandas step over ``tx`` hands over to DuckDB: from
    :data:`~analysis.engine.aggregate.AUTO_MIN_ROWS` lines, when the engine is auto or duckdb.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    bool
    """
    return len(tx) >= aggregate.AUTO_MIN_ROWS and default_engine() in ("auto", "duckdb")


def months_active_duckdb(
    tx: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Distinct calendar months with a purchase (amount > 0) per customer in ``[start, end)``.

    The same result as :func:`analysis.classify.classes.months_active`, by one SQL
    aggregation.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    start, end : date-like
        The half-open window.
    id_col, date_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        customer_id (named ``id_col``) and ``months_active``, sorted by id; customers
        without a purchase have no row.
    """
    i, d, a = (quote(c, "duckdb") for c in (id_col, date_col, amount_col))
    sql = f"""
        SELECT {i} AS ccm_id,
               COUNT(DISTINCT year({d}) * 12 + month({d})) AS months_active
        FROM ccm_tx
        WHERE {d} >= {ts_literal(pd.Timestamp(start))}
          AND {d} < {ts_literal(pd.Timestamp(end))}
          AND {a} > 0 AND {i} IS NOT NULL
        GROUP BY {i}
        ORDER BY {i}
    """
    raw = on_lines(tx, [id_col, date_col, amount_col], lambda con: fetch_frame(con.sql(sql)))
    return pd.DataFrame(
        {
            id_col: np.asarray(raw["ccm_id"], dtype=object),
            "months_active": raw["months_active"].astype("int64").to_numpy(),
        }
    )


def quarter_totals_duckdb(
    tx: pd.DataFrame,
    first_key: int,
    last_key: int,
    start,
    end,
    *,
    value: str = "monetary",
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> pd.DataFrame:
    """Each customer's net sales or gross profit per calendar quarter, by one SQL aggregation.

    The same rows as :func:`analysis.classify.concentration.quarter_totals`' pandas pass:
    quarter key ``year * 4 + quarter - 1`` in ``[first_key, last_key]``, lines in
    ``[start, end)``; gross profit sums ``amount - cost`` over the lines with a cost (NULL,
    i.e. NaN, when none has one).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    first_key, last_key : int
        The quarter keys kept.
    start, end : date-like
        The lines read.
    value : {"monetary", "gross_profit"}
        What to total.
    id_col, date_col, amount_col, cost_col : str
        Column names.

    Returns
    -------
    DataFrame
        ``k`` (quarter key), ``id_col`` and ``value``, sorted by key and id.
    """
    i, d, a = (quote(c, "duckdb") for c in (id_col, date_col, amount_col))
    columns = [id_col, date_col, amount_col]
    if value == "gross_profit" and cost_col in tx.columns:
        v = f"{a} - {quote(cost_col, 'duckdb')}"
        columns.append(cost_col)
    elif value == "gross_profit":
        v = "CAST(NULL AS DOUBLE)"
    else:
        v = f"CAST({a} AS DOUBLE)"
    sql = f"""
        SELECT k, ccm_id, SUM(v) AS v FROM (
            SELECT year({d}) * 4 + (month({d}) - 1) // 3 AS k, {i} AS ccm_id, {v} AS v
            FROM ccm_tx
            WHERE {d} >= {ts_literal(pd.Timestamp(start))}
              AND {d} < {ts_literal(pd.Timestamp(end))} AND {i} IS NOT NULL
        ) AS lines
        WHERE k BETWEEN {int(first_key)} AND {int(last_key)}
        GROUP BY k, ccm_id
        ORDER BY k, ccm_id
    """
    raw = on_lines(tx, columns, lambda con: fetch_frame(con.sql(sql)))
    return pd.DataFrame(
        {
            "k": raw["k"].astype("int64").to_numpy(),
            id_col: raw["ccm_id"].astype(tx[id_col].dtype).to_numpy(),
            value: raw["v"].astype("float64").to_numpy(),
        }
    )


def lost_customers_duckdb(
    tx: pd.DataFrame,
    active_start,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Customers with a purchase in ``[active_start, start)`` and none in ``[start, end)``, by
    one SQL aggregation (:func:`analysis.accounts.retention.lost_customers`' rule).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    active_start, start, end : date-like
        The window that made a customer active, and the quarter.
    id_col, date_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        ``id_col`` and ``last_purchase`` (the last purchase before ``start``), sorted by id.
    """
    i, d, a = (quote(c, "duckdb") for c in (id_col, date_col, amount_col))
    lo, mid, hi = (ts_literal(pd.Timestamp(x)) for x in (active_start, start, end))
    sql = f"""
        SELECT {i} AS ccm_id, MAX(CASE WHEN {d} < {mid} THEN {d} END) AS last_purchase
        FROM ccm_tx
        WHERE {a} > 0 AND {d} >= {lo} AND {d} < {hi} AND {i} IS NOT NULL
        GROUP BY {i}
        HAVING COUNT(CASE WHEN {d} >= {mid} THEN 1 END) = 0
           AND MAX(CASE WHEN {d} < {mid} THEN {d} END) IS NOT NULL
        ORDER BY {i}
    """
    raw = on_lines(tx, [id_col, date_col, amount_col], lambda con: fetch_frame(con.sql(sql)))
    return pd.DataFrame(
        {
            id_col: raw["ccm_id"].astype(tx[id_col].dtype).rename(id_col),
            "last_purchase": raw["last_purchase"].astype(tx[date_col].dtype),
        }
    )


def _order_expr(columns: list[str]) -> str:
    """SQL for the number of orders (:func:`analysis.data.overview.order_count`'s rule): distinct
    order ids when every line has one, else distinct (customer, day) pairs."""
    pairs = 'COUNT(DISTINCT row(customer_id, CAST("date" AS DATE)))'
    if "order_id" not in columns:
        return pairs
    return f"CASE WHEN COUNT(order_id) = COUNT(*) THEN COUNT(DISTINCT order_id) ELSE {pairs} END"


def entity_counts_duckdb(tx: pd.DataFrame) -> dict[str, int]:
    """Customers, products and orders in the lines, by one SQL pass
    (:func:`analysis.data.overview.entity_counts`' rules).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (customer_id, date; product_id and order_id when present).

    Returns
    -------
    dict of str to int
        ``customers``, ``products`` (0 without product ids) and ``orders``.
    """
    columns = [c for c in ("customer_id", "date", "product_id", "order_id") if c in tx.columns]
    products = "COUNT(DISTINCT product_id)" if "product_id" in columns else "0"
    sql = f"""
        SELECT COUNT(DISTINCT customer_id), {products}, {_order_expr(columns)} FROM ccm_tx
    """
    row = on_lines(tx, columns, lambda con: con.execute(sql).fetchone())
    customers, n_products, orders = row
    return {"customers": int(customers), "products": int(n_products), "orders": int(orders or 0)}


def period_totals_duckdb(
    tx: pd.DataFrame, periods: dict[str, tuple]
) -> dict[str, dict[str, float]]:
    """The totals behind the headline KPIs of several windows, by SQL
    (:func:`analysis.data.overview.period_kpis`' rules; :func:`analysis.data.overview.kpi_values`
    turns them into the KPIs).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines without missing customer ids.
    periods : dict of str to (start, end)
        Named half-open windows.

    Returns
    -------
    dict of str to dict
        Per window: sales, gross_profit, active_customers, new_customers, orders and returns.
    """
    columns = [c for c in ("customer_id", "date", "amount", "cost", "order_id") if c in tx.columns]
    gp = "COALESCE(SUM(amount - cost), 0)" if "cost" in columns else "CAST('NaN' AS DOUBLE)"

    def totals(con) -> dict[str, dict[str, float]]:
        out = {}
        con.execute(
            "CREATE TEMP TABLE ccm_first AS "
            'SELECT customer_id, MIN("date") AS first_seen FROM ccm_tx GROUP BY customer_id'
        )
        for name, (start, end) in periods.items():
            lo, hi = ts_literal(pd.Timestamp(start)), ts_literal(pd.Timestamp(end))
            window = f'"date" >= {lo} AND "date" < {hi}'
            sales, profit, orders, returns = con.execute(
                f"""SELECT COALESCE(SUM(amount), 0), {gp}, {_order_expr(columns)},
                           -COALESCE(SUM(CASE WHEN amount < 0 THEN amount END), 0)
                    FROM ccm_tx WHERE {window}"""
            ).fetchone()
            active, new = con.execute(
                f"""SELECT COUNT(*), COUNT(CASE WHEN f.first_seen >= {lo} THEN 1 END)
                    FROM (SELECT DISTINCT customer_id FROM ccm_tx WHERE {window} AND amount > 0) a
                    JOIN ccm_first f USING (customer_id)"""
            ).fetchone()
            out[name] = {
                "sales": float(sales),
                "gross_profit": float(profit),
                "active_customers": int(active),
                "new_customers": int(new),
                "orders": int(orders or 0),
                "returns": float(returns),
            }
        return out

    return on_lines(tx, columns, totals)
