"""Page 00's transaction-level steps as SQL on DuckDB or Spark: the monthly sums and the line
counts of the data-quality findings.

:func:`analysis.data.overview.monthly_sales` and :func:`analysis.data.overview.quality_findings`
stay the reference and hand over to this module where :func:`step_engine` says (the rule of
:func:`analysis.engine.windows.engine_for`, with the cases SQL cannot match cheaply left to
pandas).  The lines reach the engine through :func:`analysis.engine.windows.run_on`; each
query is one text for both dialects except where named.  Money is summed as
``DECIMAL(38, 10)``, exact in any order: by :func:`~analysis.engine.windows.exact_sum`, or,
where two exact sums are combined, as decimals finished in Python (Spark rounds a difference
of two DECIMAL(38, 10) to 9 places).

Missing amounts and costs arrive as NULL (Arrow turns a float NaN into a null), so SQL's
NULL rules are pandas' NaN rules here: sums skip them, comparisons are false.
"""

from __future__ import annotations

import decimal
import math

import numpy as np
import pandas as pd

from analysis.engine.aggregate import DAY_EXPR
from analysis.engine.windows import SqlLines, engine_for, exact_sum, run_on

#: the quantile of positive amounts the outlier limit multiplies (pandas' quantile(0.99))
OUTLIER_QUANTILE = 0.99
#: one hash of a whole line; equal lines (-0.0 and 0.0, NULLs) hash equal in both
_HASH = {"duckdb": "hash({})", "spark": "xxhash64({})"}
_DECIMAL = "DECIMAL(38, 10)"
_NS_INT_MIN = np.iinfo(np.int64).min  # NaT's integer


# ---------------------------------------------------------------- where the steps run
def step_engine(tx: pd.DataFrame, *, every_column: bool = False) -> str:
    """Where page 00's line steps run: :func:`~analysis.engine.windows.engine_for`'s engine,
    or ``"pandas"`` for lines SQL would read otherwise than pandas.

    Those are: a date column that is not naive datetime64 (months of a time zone), an amount
    or cost that is not float64 (pandas keeps integer sums integer); with ``every_column``
    (the duplicate lines compare whole lines) also a column Arrow or Spark would change on the
    way: an object, nullable, timedelta or non-text categorical column, repeated or non-text
    column names, and on Spark nanoseconds that are not whole microseconds (Spark holds
    microseconds, so two lines a nanosecond apart would be one) or a time column other than
    ``date`` (only that one is floored on the way in).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    every_column : bool
        The step reads every column (the quality findings).

    Returns
    -------
    str
        ``"pandas"``, ``"duckdb"`` or ``"spark"``.
    """
    engine = engine_for(tx)
    if engine == "pandas" or not _plain_numbers(tx):
        return "pandas"
    if every_column and not _comparable_columns(tx, engine):
        return "pandas"
    return engine


def _plain_numbers(tx: pd.DataFrame) -> bool:
    date = tx["date"].dtype
    if not (isinstance(date, np.dtype) and date.kind == "M"):
        return False
    money = [c for c in ("amount", "cost") if c in tx.columns]
    return all(tx[c].dtype == np.float64 for c in money)


def _comparable_columns(tx: pd.DataFrame, engine: str) -> bool:
    if not tx.columns.is_unique or not all(isinstance(c, str) for c in tx.columns):
        return False
    for name, dtype in tx.dtypes.items():
        if isinstance(dtype, np.dtype):
            if dtype.kind not in "biufM" or (dtype.kind == "f" and dtype.itemsize < 4):
                return False
            if dtype.kind == "M" and engine == "spark" and name != "date":
                return False
        elif isinstance(dtype, pd.CategoricalDtype):
            if pd.api.types.infer_dtype(dtype.categories, skipna=True) != "string":
                return False
        elif not isinstance(dtype, pd.StringDtype):
            return False
    if engine == "spark" and np.datetime_data(tx["date"].dtype)[0] == "ns":
        ns = tx["date"].to_numpy().view("int64")
        if ((ns % 1000 != 0) & (ns != _NS_INT_MIN)).any():
            return False
    return True


# ---------------------------------------------------------------- monthly sums
def month_totals(tx: pd.DataFrame, *, engine: str) -> pd.DataFrame:
    """Sales and gross profit per calendar month with lines, by one SQL aggregation.

    :func:`analysis.data.overview.monthly_sales`' per-month sums: sales sum the amounts
    (0 when a month's amounts are all missing), gross profit ``amount - cost`` over the lines
    with both (NaN when none has, or without a cost column).  Lines without a date are left
    out (as pandas' groupby leaves out NaT).  SQL sums each day exactly (DECIMAL(38, 10)) under
    the integer day number of :data:`analysis.engine.aggregate.DAY_EXPR` (at 10M lines a third
    cheaper than taking each line's month); the few hundred days are added up into months
    here, still exactly.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (date, amount; cost when known).
    engine : {"duckdb", "spark"}
        The engine.

    Returns
    -------
    DataFrame
        ``sales`` and ``gross_profit`` on a Period[M] index named ``month``, one row per month
        with a dated line, in order (months without lines are not filled in).
    """
    with_cost = "cost" in tx.columns
    columns = ["date", "amount", *(["cost"] if with_cost else [])]

    def run(s: SqlLines) -> pd.DataFrame:
        a = f"CAST({s.q('amount')} AS {_DECIMAL})"
        gp = (
            f"CAST({s.q('amount')} - {s.q('cost')} AS {_DECIMAL})"
            if with_cost
            else f"CAST(NULL AS {_DECIMAL})"
        )
        return s.frame(f"""
            SELECT day, SUM(a) AS sales, SUM(gp) AS gross_profit
            FROM (
                SELECT {DAY_EXPR[s.dialect].format(date=s.q("date"))} AS day, {a} AS a,
                       {gp} AS gp
                FROM {s.source} WHERE {s.q("date")} IS NOT NULL
            ) AS lines
            GROUP BY day
        """)

    days = run_on(engine, tx, columns, "date", run)
    month = pd.to_datetime(days["day"].to_numpy(dtype="int64"), unit="D").to_period("M")
    by_month = days.groupby(np.asarray(month.asi8), sort=True)
    out = pd.DataFrame(
        {
            "sales": by_month["sales"].agg(_decimal_total).astype("float64"),
            "gross_profit": by_month["gross_profit"].agg(_decimal_total_or_nan).astype("float64"),
        }
    )
    out.index = pd.PeriodIndex.from_ordinals(out.index.to_numpy(), freq="M", name="month")
    return out


# ---------------------------------------------------------------- quality findings' lines
def line_findings(
    tx: pd.DataFrame,
    product_ids: pd.Series | None = None,
    *,
    outlier_factor: float = 10.0,
    engine: str,
) -> dict[str, tuple[int, float]]:
    """The line counts and amounts of :func:`analysis.data.overview.quality_findings`, by SQL.

    - ``duplicate_lines``: lines equal in every column to an earlier line (all but the first
      of each set; :func:`analysis.data.overview.duplicated_lines`), their amount summed;
    - ``return_lines`` (amount < 0), ``zero_amount_lines`` (amount 0, amount 0.0);
    - ``outlier_lines``: amount above ``outlier_factor`` times the 99th percentile of the
      positive amounts, the percentile interpolated as pandas' ``quantile(0.99)``
      (:func:`linear_quantile` on the two amounts around it, which SQL finds);
    - ``unknown_products`` (only when ``product_ids`` is given and the lines have a
      product_id): lines whose product id is not missing and not among ``product_ids``.  SQL
      groups the lines by product id; the ids are looked up in pandas
      (:func:`analysis.data.lookup.is_in`), so the lookup follows pandas' rules for any dtype.

    Queries in turn on one connection (DuckDB) or view (Spark): the count of positive
    amounts, the two amounts around the percentile, returns, zeros and outliers in one pass,
    the lines per product id, and the duplicates (lines grouped by a hash of the whole line,
    then only the lines of a repeated hash grouped by every column).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (every column is compared for duplicates).
    product_ids : Series, optional
        The ids of the products table.
    outlier_factor : float
        Multiple of the 99th percentile beyond which a line is an outlier.
    engine : {"duckdb", "spark"}
        The engine.

    Returns
    -------
    dict of str to (int, float)
        Finding -> (count, amount), in the order above.
    """
    columns = list(tx.columns)
    with_products = product_ids is not None and "product_id" in columns

    def run(s: SqlLines) -> dict[str, tuple[int, float]]:
        a = s.q("amount")
        (n_pos,) = s.row(f"SELECT COUNT(CASE WHEN {a} > 0 THEN 1 END) FROM {s.source}")
        limit = _quantile_of_positive(s, int(n_pos), OUTLIER_QUANTILE) * outlier_factor
        lim = _sql_double(limit)
        n_ret, s_ret, n_zero, n_out, s_out = s.row(f"""
            SELECT COUNT(CASE WHEN {a} < 0 THEN 1 END),
                   COALESCE({exact_sum(f"CASE WHEN {a} < 0 THEN {a} END")}, 0),
                   COUNT(CASE WHEN {a} = 0 THEN 1 END),
                   COUNT(CASE WHEN {a} > {lim} THEN 1 END),
                   COALESCE({exact_sum(f"CASE WHEN {a} > {lim} THEN {a} END")}, 0)
            FROM {s.source}
        """)
        out = {
            "duplicate_lines": _duplicates(s, columns),
            "return_lines": (int(n_ret), float(s_ret)),
            "zero_amount_lines": (int(n_zero), 0.0),
            "outlier_lines": (int(n_out), float(s_out)),
        }
        if with_products:
            out["unknown_products"] = _unknown_products(s, product_ids)
        return out

    return run_on(engine, tx, columns, "date", run)


def linear_quantile(lower: float, upper: float, n: int, q: float) -> float:
    """The ``q`` quantile of ``n`` values by linear interpolation, from the two values around it,
    bit for bit as numpy (and so pandas' ``Series.quantile``) computes it.

    The position is ``(n - 1) * q``; ``lower`` and ``upper`` are the sorted values at its floor
    and the next place.  numpy interpolates from the nearer end (``upper - (upper - lower) *
    (1 - t)`` when the fraction ``t >= 0.5``, else ``lower + (upper - lower) * t``); DuckDB's
    ``quantile_cont`` weighs the two (``lower * (1 - t) + upper * t``), as Spark's
    ``percentile`` does: their results differ from pandas' in the last bit for about one set
    of values in ten, which can move a line across the outlier limit (see the tests).

    Parameters
    ----------
    lower, upper : float
        The values at positions ``floor((n - 1) * q)`` and the next (the same value when there
        is no next).
    n : int
        How many values.
    q : float
        The quantile, in [0, 1].

    Returns
    -------
    float
    """
    h = (n - 1) * q
    t = h - math.floor(h)
    lower, upper = np.float64(lower), np.float64(upper)
    d = upper - lower
    return float(upper - d * (1 - t) if t >= 0.5 else lower + d * t)


def _quantile_of_positive(s: SqlLines, n: int, q: float) -> float:
    """pandas' ``quantile(q)`` of the positive amounts (inf when there are none: no outliers)."""
    if n == 0:
        return math.inf
    j = math.floor((n - 1) * q)
    m = n - j  # the value at position j is the m-th largest, the next one the (m-1)-th
    a = s.q("amount")
    if s.dialect == "duckdb":
        # DuckDB's max(x, m) keeps the m largest values in one pass (5x faster at 10M lines than
        # its top-N sort); Spark SQL has no such aggregate: ORDER BY ... LIMIT m below
        lower, upper = s.row(f"""
            SELECT top[{m}], top[{max(m - 1, 1)}]
            FROM (SELECT max({a}, {m}) AS top FROM {s.source} WHERE {a} > 0) AS t
        """)
    else:
        values = s.frame(f"""
            SELECT v FROM (
                SELECT {a} AS v FROM {s.source} WHERE {a} > 0 ORDER BY {a} DESC LIMIT {m}
            ) AS t
            ORDER BY v LIMIT 2
        """)["v"].tolist()
        lower, upper = values[0], values[-1]
    return linear_quantile(lower, upper, n, q)


def _duplicates(s: SqlLines, columns: list[str]) -> tuple[int, float]:
    cols = ", ".join(s.q(c) for c in columns)
    line_hash = _HASH[s.dialect].format(cols)
    dec = f"CAST({s.q('amount')} AS {_DECIMAL})"
    # a repeated set's amount is the same on every line (it is a key), so the lines after the
    # first sum to the set's sum less one amount
    n, total, first = s.row(f"""
        SELECT COALESCE(SUM(n - 1), 0), SUM(s_all), SUM(s_one) FROM (
            SELECT COUNT(*) AS n, SUM({dec}) AS s_all, MIN({dec}) AS s_one
            FROM {s.source}
            WHERE {line_hash} IN (
                SELECT h FROM (
                    SELECT {line_hash} AS h FROM {s.source}
                    GROUP BY {line_hash} HAVING COUNT(*) > 1
                ) AS twice
            )
            GROUP BY {cols}
            HAVING COUNT(*) > 1
        ) AS repeated
    """)
    return int(n), _decimal_total([total], minus=[first])


def _unknown_products(s: SqlLines, product_ids: pd.Series) -> tuple[int, float]:
    from analysis.data.lookup import is_in

    p = s.q("product_id")
    per_id = s.frame(f"""
        SELECT {p} AS product_id, COUNT(*) AS n, SUM(CAST({s.q("amount")} AS {_DECIMAL})) AS a
        FROM {s.source} WHERE {p} IS NOT NULL
        GROUP BY {p}
        ORDER BY {p}
    """)
    unknown = ~np.asarray(is_in(per_id["product_id"], product_ids), dtype=bool)
    return int(per_id["n"].to_numpy()[unknown].sum()), _decimal_total(
        per_id["a"].to_numpy()[unknown]
    )


def _decimal_total(values, *, minus=()) -> float:
    """The exact sum of DECIMAL values (a missing sum, None, skipped), less ``minus``, as the
    nearest float."""
    with decimal.localcontext() as ctx:
        ctx.prec = 80  # 38 digits per value: no rounding before the last step
        total = sum((decimal.Decimal(v) for v in values if not pd.isna(v)), decimal.Decimal(0))
        total -= sum((decimal.Decimal(v) for v in minus if not pd.isna(v)), decimal.Decimal(0))
    return float(total)


def _decimal_total_or_nan(values) -> float:
    """:func:`_decimal_total`, or NaN when every value is missing (``sum(min_count=1)``)."""
    return _decimal_total(values) if pd.notna(values).any() else np.nan


def _sql_double(x: float) -> str:
    """A float as an exact DOUBLE literal in both dialects (inf and nan included)."""
    if math.isnan(x):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(x):
        return f"CAST('{'-' if x < 0 else ''}Infinity' AS DOUBLE)"
    return f"CAST('{x!r}' AS DOUBLE)"
