"""Per-customer counts over transaction windows, as SQL on DuckDB or Spark for millions of lines.

The pandas functions that call these (e.g. :func:`analysis.classify.classes.months_active`)
stay the reference; :func:`engine_for` says where they hand over: to DuckDB from
:data:`analysis.engine.aggregate.AUTO_MIN_ROWS` lines when the engine is ``auto`` or
``duckdb``, to Spark whenever the engine is ``spark`` (``ccm report --engine spark``).
Each step is one SQL text rendered for both dialects (identifiers by
:func:`~analysis.engine.aggregate.quote`, times by :func:`~analysis.engine.aggregate.ts_literal`);
where Spark SQL needs other syntax, the difference is named beside it.  Money is summed as
``DECIMAL(38, 10)``, exact in any order, as in ``sql/customer_summary.sql``.  The tests hold
pandas, DuckDB and Spark to the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.engine import aggregate
from analysis.engine.aggregate import default_engine, fetch_frame, on_lines, quote, ts_literal

#: a (customer, day) pair as one value for COUNT(DISTINCT ...): DuckDB's row(), Spark's struct()
_PAIR = {"duckdb": "row({})", "spark": "struct({})"}


def engine_for(tx: pd.DataFrame) -> str:
    """Where a pandas step over ``tx`` runs: the one routing rule of this module's callers.

    ``"spark"`` whenever the engine (:func:`~analysis.engine.aggregate.default_engine`) is
    spark, whatever the size (the engine was asked for by name, as
    :func:`~analysis.engine.aggregate.customer_summary` takes it); ``"duckdb"`` from
    :data:`~analysis.engine.aggregate.AUTO_MIN_ROWS` lines when it is auto or duckdb;
    else ``"pandas"``.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    str
        ``"pandas"``, ``"duckdb"`` or ``"spark"``.
    """
    engine = default_engine()
    if engine == "spark":
        return "spark"
    if engine in ("auto", "duckdb") and len(tx) >= aggregate.AUTO_MIN_ROWS:
        return "duckdb"
    return "pandas"


@dataclass(frozen=True)
class SqlLines:
    """The lines as the relation ``source`` of one engine, and how to run SQL on them."""

    dialect: str
    source: str
    frame: Callable[[str], pd.DataFrame]  # a query's rows
    execute: Callable[[str], object]  # a statement
    nanos: bool = False  # the date column holds nanoseconds (DuckDB's TIMESTAMP_NS)

    def q(self, name: str) -> str:
        """A column name quoted for this engine's dialect.

        Parameters
        ----------
        name : str
            The column name.

        Returns
        -------
        str
            The quoted identifier.
        """
        return quote(name, self.dialect)

    def row(self, sql: str) -> tuple:
        """The first row of a query.

        Parameters
        ----------
        sql : str
            The query.

        Returns
        -------
        tuple
            Its values.
        """
        return tuple(self.frame(sql).iloc[0])

    def day_time(self, name: str) -> str:
        """The time column ``name`` to take days, months and years of.

        Both engines see a time floored to the microsecond, as pandas sees its day: Spark's
        lines are floored on the way in (:func:`analysis.engine.spark.spark_lines`); DuckDB's
        year(), month() and CAST(... AS DATE) of a TIMESTAMP_NS round it to the microsecond
        first (23:59:59.9999995 on 31 December is in January), so here it is floored in
        integers.  Comparisons with a time take the column as it is (exact in both).

        Parameters
        ----------
        name : str
            The date column.

        Returns
        -------
        str
            A SQL expression of the time.
        """
        if not (self.nanos and self.dialect == "duckdb"):
            return self.q(name)
        ns = f"epoch_ns({self.q(name)})"
        return f"make_timestamp(({ns} - (({ns} % 1000) + 1000) % 1000) // 1000)"


def _is_nanos(tx: pd.DataFrame, date_col: str) -> bool:
    dtype = tx[date_col].dtype
    if not pd.api.types.is_datetime64_any_dtype(dtype):
        return False
    return (getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]) == "ns"


def run_on(engine: str, tx: pd.DataFrame, columns: list[str], date_col: str, run):
    """``run(SqlLines)`` with ``tx[columns]`` on DuckDB (the memory ladder of
    :func:`~analysis.engine.aggregate.on_lines`) or Spark (:func:`analysis.engine.spark.on_spark_lines`).

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine (:func:`engine_for`).
    tx : DataFrame
        Transaction lines (not modified; the run's validated copy is read from its file).
    columns : list of str
        The columns the SQL needs.
    date_col : str
        The date column (Spark floors its nanoseconds to microseconds).
    run : callable
        ``run(SqlLines) -> result``: the step's queries.

    Returns
    -------
    object
        What ``run`` returns.
    """
    if engine == "spark":
        from analysis.engine import spark

        def spark_run(session, view):
            query = lambda sql: spark.sql_frame(session, sql)  # noqa: E731
            return run(SqlLines("spark", view, query, session.sql))

        return spark.on_spark_lines(tx, columns, date_col, spark_run)
    if engine != "duckdb":
        raise ValueError(f"unknown SQL engine {engine!r}; expected duckdb or spark")
    nanos = _is_nanos(tx, date_col)

    def duckdb_run(con):
        query = lambda sql: fetch_frame(con.sql(sql))  # noqa: E731
        return run(SqlLines("duckdb", "ccm_tx", query, con.execute, nanos))

    return on_lines(tx, columns, duckdb_run)


def exact_sum(expr: str) -> str:
    """SUM of money as DECIMAL(38, 10) (exact, the same in any order), back as DOUBLE.

    Parameters
    ----------
    expr : str
        The SQL expression summed.

    Returns
    -------
    str
        The SQL aggregate.
    """
    return f"CAST(SUM(CAST({expr} AS DECIMAL(38, 10))) AS DOUBLE)"


def _stamps(values: pd.Series, dtype) -> pd.Series:
    """Timestamps of a SQL result in ``dtype``: Spark's come in the session time zone (UTC
    instants of the naive times), DuckDB's and Spark's TIMESTAMP_NTZ without one."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype(dtype)


# ---------------------------------------------------------------- months with a purchase
def _months_active(engine, tx, start, end, id_col, date_col, amount_col) -> pd.DataFrame:
    def run(s: SqlLines) -> pd.DataFrame:
        i, d, a, t = s.q(id_col), s.q(date_col), s.q(amount_col), s.day_time(date_col)
        return s.frame(f"""
            SELECT {i} AS ccm_id,
                   COUNT(DISTINCT year({t}) * 12 + month({t})) AS months_active
            FROM {s.source}
            WHERE {d} >= {ts_literal(pd.Timestamp(start))}
              AND {d} < {ts_literal(pd.Timestamp(end))}
              AND {a} > 0 AND {i} IS NOT NULL
            GROUP BY {i}
            ORDER BY {i}
        """)

    raw = run_on(engine, tx, [id_col, date_col, amount_col], date_col, run)
    return pd.DataFrame(
        {
            id_col: np.asarray(raw["ccm_id"], dtype=object),
            "months_active": raw["months_active"].astype("int64").to_numpy(),
        }
    )


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
    return _months_active("duckdb", tx, start, end, id_col, date_col, amount_col)


def months_active_spark(
    tx: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """:func:`months_active_duckdb`'s SQL on Spark (the session of
    :func:`analysis.engine.spark.default_session`).

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
        As :func:`months_active_duckdb`.
    """
    return _months_active("spark", tx, start, end, id_col, date_col, amount_col)


# ---------------------------------------------------------------- quarter totals
def _quarter_totals(engine, tx, first_key, last_key, start, end, value, cols) -> pd.DataFrame:
    id_col, date_col, amount_col, cost_col = cols
    columns = [id_col, date_col, amount_col]
    with_cost = value == "gross_profit" and cost_col in tx.columns
    if with_cost:
        columns.append(cost_col)

    def run(s: SqlLines) -> pd.DataFrame:
        i, d, a, t = s.q(id_col), s.q(date_col), s.q(amount_col), s.day_time(date_col)
        if with_cost:  # as customer_summary.sql's gross profit
            v = f"CAST({a} AS DOUBLE) - CAST({s.q(cost_col)} AS DOUBLE)"
        elif value == "gross_profit":
            v = "CAST(NULL AS DOUBLE)"
        else:
            v = f"CAST({a} AS DOUBLE)"
        return s.frame(f"""
            SELECT k, ccm_id, {exact_sum("v")} AS v FROM (
                SELECT year({t}) * 4 + quarter({t}) - 1 AS k, {i} AS ccm_id, {v} AS v
                FROM {s.source}
                WHERE {d} >= {ts_literal(pd.Timestamp(start))}
                  AND {d} < {ts_literal(pd.Timestamp(end))} AND {i} IS NOT NULL
            ) AS lines
            WHERE k BETWEEN {int(first_key)} AND {int(last_key)}
            GROUP BY k, ccm_id
            ORDER BY k, ccm_id
        """)

    raw = run_on(engine, tx, columns, date_col, run)
    return pd.DataFrame(
        {
            "k": raw["k"].astype("int64").to_numpy(),
            id_col: raw["ccm_id"].astype(tx[id_col].dtype).to_numpy(),
            value: raw["v"].astype("float64").to_numpy(),
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
    i.e. NaN, when none has one).  Sums are exact (DECIMAL(38, 10)).

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
    cols = (id_col, date_col, amount_col, cost_col)
    return _quarter_totals("duckdb", tx, first_key, last_key, start, end, value, cols)


def quarter_totals_spark(
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
    """:func:`quarter_totals_duckdb`'s SQL on Spark.

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
        As :func:`quarter_totals_duckdb`.
    """
    cols = (id_col, date_col, amount_col, cost_col)
    return _quarter_totals("spark", tx, first_key, last_key, start, end, value, cols)


# ---------------------------------------------------------------- lost customers
def _lost_customers(engine, tx, active_start, start, end, id_col, date_col, amount_col):
    lo, mid, hi = (ts_literal(pd.Timestamp(x)) for x in (active_start, start, end))

    def run(s: SqlLines) -> pd.DataFrame:
        i, d, a = s.q(id_col), s.q(date_col), s.q(amount_col)
        return s.frame(f"""
            SELECT {i} AS ccm_id, MAX(CASE WHEN {d} < {mid} THEN {d} END) AS last_purchase
            FROM {s.source}
            WHERE {a} > 0 AND {d} >= {lo} AND {d} < {hi} AND {i} IS NOT NULL
            GROUP BY {i}
            HAVING COUNT(CASE WHEN {d} >= {mid} THEN 1 END) = 0
               AND MAX(CASE WHEN {d} < {mid} THEN {d} END) IS NOT NULL
            ORDER BY {i}
        """)

    raw = run_on(engine, tx, [id_col, date_col, amount_col], date_col, run)
    return pd.DataFrame(
        {
            id_col: raw["ccm_id"].astype(tx[id_col].dtype).rename(id_col),
            "last_purchase": _stamps(raw["last_purchase"], tx[date_col].dtype),
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
    window = (active_start, start, end)
    return _lost_customers("duckdb", tx, *window, id_col, date_col, amount_col)


def lost_customers_spark(
    tx: pd.DataFrame,
    active_start,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """:func:`lost_customers_duckdb`'s SQL on Spark.  Spark holds times in microseconds: a
    ``last_purchase`` with nanoseconds comes back floored to the microsecond (which lines
    fall in the windows does not change: their bounds are whole microseconds).

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
        As :func:`lost_customers_duckdb`.
    """
    window = (active_start, start, end)
    return _lost_customers("spark", tx, *window, id_col, date_col, amount_col)


# ---------------------------------------------------------------- page 00's counts and KPIs
def _order_expr(s: SqlLines, columns: list[str]) -> str:
    """SQL for the number of orders (:func:`analysis.data.overview.order_count`'s rule): distinct
    order ids when every line has one, else distinct (customer, day) pairs."""
    pair = _PAIR[s.dialect].format(f"{s.q('customer_id')}, CAST({s.day_time('date')} AS DATE)")
    pairs = f"COUNT(DISTINCT {pair})"
    if "order_id" not in columns:
        return pairs
    o = s.q("order_id")
    return f"CASE WHEN COUNT({o}) = COUNT(*) THEN COUNT(DISTINCT {o}) ELSE {pairs} END"


def _entity_counts(engine: str, tx: pd.DataFrame) -> dict[str, int]:
    columns = [c for c in ("customer_id", "date", "product_id", "order_id") if c in tx.columns]

    def run(s: SqlLines) -> tuple:
        products = f"COUNT(DISTINCT {s.q('product_id')})" if "product_id" in columns else "0"
        return s.row(f"""
            SELECT COUNT(DISTINCT {s.q("customer_id")}) AS customers, {products} AS products,
                   {_order_expr(s, columns)} AS orders
            FROM {s.source}
        """)

    customers, n_products, orders = run_on(engine, tx, columns, "date", run)
    return {"customers": int(customers), "products": int(n_products), "orders": int(orders or 0)}


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
    return _entity_counts("duckdb", tx)


def entity_counts_spark(tx: pd.DataFrame) -> dict[str, int]:
    """:func:`entity_counts_duckdb`'s SQL on Spark.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (customer_id, date; product_id and order_id when present).

    Returns
    -------
    dict of str to int
        As :func:`entity_counts_duckdb`.
    """
    return _entity_counts("spark", tx)


def _period_totals(
    engine: str, tx: pd.DataFrame, periods: dict[str, tuple]
) -> dict[str, dict[str, float]]:
    columns = [c for c in ("customer_id", "date", "amount", "cost", "order_id") if c in tx.columns]

    def run(s: SqlLines) -> dict[str, dict[str, float]]:
        i, d, a = s.q("customer_id"), s.q("date"), s.q("amount")
        if "cost" in columns:  # as customer_summary.sql's gross profit
            c = s.q("cost")
            gp = f"COALESCE({exact_sum(f'CAST({a} AS DOUBLE) - CAST({c} AS DOUBLE)')}, 0)"
        else:
            gp = "CAST('NaN' AS DOUBLE)"
        # each customer's first line, kept for the windows: a temp table in DuckDB; Spark SQL has
        # none, its counterpart is a cached temp view (CACHE TABLE ... AS), dropped at the end
        first = f"{s.source}_first"
        first_sql = (
            f"SELECT {i} AS customer_id, MIN({d}) AS first_seen FROM {s.source} GROUP BY {i}"
        )
        keep = "CREATE TEMP TABLE" if s.dialect == "duckdb" else "CACHE TABLE"
        s.execute(f"{keep} {first} AS {first_sql}")
        out = {}
        try:
            for name, (start, end) in periods.items():
                lo, hi = ts_literal(pd.Timestamp(start)), ts_literal(pd.Timestamp(end))
                window = f"{d} >= {lo} AND {d} < {hi}"
                sales, profit, orders, returns = s.row(f"""
                    SELECT COALESCE({exact_sum(f"CAST({a} AS DOUBLE)")}, 0) AS sales,
                           {gp} AS gross_profit, {_order_expr(s, columns)} AS orders,
                           -COALESCE({exact_sum(f"CASE WHEN {a} < 0 THEN {a} END")}, 0)
                               AS returns_amount
                    FROM {s.source} WHERE {window}
                """)
                active, new = s.row(f"""
                    SELECT COUNT(*) AS active_customers,
                           COUNT(CASE WHEN f.first_seen >= {lo} THEN 1 END) AS new_customers
                    FROM (SELECT DISTINCT {i} AS customer_id FROM {s.source}
                          WHERE {window} AND {a} > 0) AS b
                    JOIN {first} AS f ON f.customer_id = b.customer_id
                """)
                out[name] = {
                    "sales": float(sales),
                    "gross_profit": float(profit),
                    "active_customers": int(active),
                    "new_customers": int(new),
                    "orders": int(orders or 0),
                    "returns": float(returns),
                }
        finally:
            if s.dialect == "spark":
                s.execute(f"DROP VIEW IF EXISTS {first}")  # uncaches it too
        return out

    return run_on(engine, tx, columns, "date", run)


def period_totals_duckdb(
    tx: pd.DataFrame, periods: dict[str, tuple]
) -> dict[str, dict[str, float]]:
    """The totals behind the headline KPIs of several windows, by SQL
    (:func:`analysis.data.overview.period_kpis`' rules; :func:`analysis.data.overview.kpi_values`
    turns them into the KPIs).  Money is summed exactly (DECIMAL(38, 10)).

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
    return _period_totals("duckdb", tx, periods)


def period_totals_spark(tx: pd.DataFrame, periods: dict[str, tuple]) -> dict[str, dict[str, float]]:
    """:func:`period_totals_duckdb`'s SQL on Spark.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines without missing customer ids.
    periods : dict of str to (start, end)
        Named half-open windows.

    Returns
    -------
    dict of str to dict
        As :func:`period_totals_duckdb`.
    """
    return _period_totals("spark", tx, periods)
